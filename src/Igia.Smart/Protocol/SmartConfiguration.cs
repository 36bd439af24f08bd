using System.Text.Json;

namespace Igia.Smart.Protocol;

/// <summary>Where a <see cref="SmartConfiguration"/> came from.</summary>
public enum SmartConfigurationSource
{
    /// <summary><c>[base]/.well-known/smart-configuration</c>.</summary>
    WellKnown,

    /// <summary>The <c>oauth-uris</c> extension of the CapabilityStatement at <c>[base]/metadata</c> (SMART v1 servers); no capabilities are known.</summary>
    CapabilityStatement,
}

/// <summary>
/// A FHIR server's SMART configuration: its authorization and token endpoints and what it supports, from
/// <c>.well-known/smart-configuration</c> (or, failing that, the CapabilityStatement's <c>oauth-uris</c> extension).
/// </summary>
public sealed class SmartConfiguration
{
    /// <summary>Creates a configuration.</summary>
    /// <param name="authorizationEndpoint">The authorization endpoint (may be null for a server that only does Backend Services).</param>
    /// <param name="tokenEndpoint">The token endpoint.</param>
    public SmartConfiguration(Uri? authorizationEndpoint, Uri tokenEndpoint)
    {
        ArgumentNullException.ThrowIfNull(tokenEndpoint);
        AuthorizationEndpoint = authorizationEndpoint;
        TokenEndpoint = tokenEndpoint;
    }

    /// <summary>Where this configuration came from.</summary>
    public SmartConfigurationSource Source { get; init; }

    /// <summary>The authorization server's issuer identifier (<c>issuer</c>), required for OpenID Connect.</summary>
    public string? Issuer { get; init; }

    /// <summary>The issuer's JSON Web Key Set URL (<c>jwks_uri</c>), which signs id_tokens.</summary>
    public Uri? JwksUri { get; init; }

    /// <summary>The authorization endpoint (<c>authorization_endpoint</c>).</summary>
    public Uri? AuthorizationEndpoint { get; }

    /// <summary>The token endpoint (<c>token_endpoint</c>).</summary>
    public Uri TokenEndpoint { get; }

    /// <summary>The dynamic registration endpoint, if any.</summary>
    public Uri? RegistrationEndpoint { get; init; }

    /// <summary>The user-facing app management page, if any.</summary>
    public Uri? ManagementEndpoint { get; init; }

    /// <summary>The token introspection endpoint, if any.</summary>
    public Uri? IntrospectionEndpoint { get; init; }

    /// <summary>The token revocation endpoint, if any.</summary>
    public Uri? RevocationEndpoint { get; init; }

    /// <summary>The client authentication methods of the token endpoint (empty when not declared).</summary>
    public IReadOnlyList<string> TokenEndpointAuthMethodsSupported { get; init; } = [];

    /// <summary>The JWS algorithms accepted for client assertions (empty when not declared).</summary>
    public IReadOnlyList<string> TokenEndpointAuthSigningAlgValuesSupported { get; init; } = [];

    /// <summary>The grant types supported (empty when not declared).</summary>
    public IReadOnlyList<string> GrantTypesSupported { get; init; } = [];

    /// <summary>The scopes supported (empty when not declared).</summary>
    public IReadOnlyList<string> ScopesSupported { get; init; } = [];

    /// <summary>The response types supported (empty when not declared).</summary>
    public IReadOnlyList<string> ResponseTypesSupported { get; init; } = [];

    /// <summary>The PKCE code challenge methods supported (empty when not declared).</summary>
    public IReadOnlyList<string> CodeChallengeMethodsSupported { get; init; } = [];

    /// <summary>The SMART capabilities (see <see cref="SmartCapabilities"/>); empty when not declared.</summary>
    public IReadOnlyList<string> Capabilities { get; init; } = [];

    /// <summary>True when capabilities were declared at all (a CapabilityStatement fallback declares none).</summary>
    public bool DeclaresCapabilities => Source == SmartConfigurationSource.WellKnown && Capabilities.Count > 0;

    /// <summary>Whether the server declares <paramref name="capability"/>.</summary>
    /// <param name="capability">A capability, e.g. <see cref="SmartCapabilities.LaunchEhr"/>.</param>
    public bool HasCapability(string capability) => Capabilities.Contains(capability, StringComparer.Ordinal);

    /// <summary>Parses a <c>.well-known/smart-configuration</c> document.</summary>
    /// <param name="json">The JSON document.</param>
    /// <exception cref="SmartException">The document is not JSON, or lacks a valid <c>token_endpoint</c>.</exception>
    public static SmartConfiguration Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new SmartException(SmartErrorCode.DiscoveryFailed, "The SMART configuration is not valid JSON.", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new SmartException(SmartErrorCode.DiscoveryFailed, "The SMART configuration is not a JSON object.");
            }

            var token = Url(root, "token_endpoint")
                ?? throw new SmartException(SmartErrorCode.DiscoveryFailed, "The SMART configuration has no valid absolute 'token_endpoint'.");
            return new SmartConfiguration(Url(root, "authorization_endpoint"), token)
            {
                Source = SmartConfigurationSource.WellKnown,
                Issuer = String(root, "issuer"),
                JwksUri = Url(root, "jwks_uri"),
                RegistrationEndpoint = Url(root, "registration_endpoint"),
                ManagementEndpoint = Url(root, "management_endpoint"),
                IntrospectionEndpoint = Url(root, "introspection_endpoint"),
                RevocationEndpoint = Url(root, "revocation_endpoint"),
                TokenEndpointAuthMethodsSupported = Strings(root, "token_endpoint_auth_methods_supported"),
                TokenEndpointAuthSigningAlgValuesSupported = Strings(root, "token_endpoint_auth_signing_alg_values_supported"),
                GrantTypesSupported = Strings(root, "grant_types_supported"),
                ScopesSupported = Strings(root, "scopes_supported"),
                ResponseTypesSupported = Strings(root, "response_types_supported"),
                CodeChallengeMethodsSupported = Strings(root, "code_challenge_methods_supported"),
                Capabilities = Strings(root, "capabilities"),
            };
        }
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static Uri? Url(JsonElement root, string name) =>
        String(root, name) is { Length: > 0 } text && Uri.TryCreate(text, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri
            : null;

    private static IReadOnlyList<string> Strings(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var list = new List<string>(value.GetArrayLength());
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String && item.GetString() is { Length: > 0 } s)
            {
                list.Add(s);
            }
        }

        return list;
    }
}
