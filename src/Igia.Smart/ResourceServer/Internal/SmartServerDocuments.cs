using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Igia.Fhir.Capabilities;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Igia.Smart.ResourceServer.Internal;

/// <summary>
/// The documents that tell SMART clients how to get a token for this FHIR server: <c>.well-known/smart-configuration</c>
/// (SMART App Launch 2.2 §Conformance) and the CapabilityStatement's <c>rest.security</c> with the <c>oauth-uris</c> extension.
/// Endpoints not configured explicitly are taken from the authorization server's own discovery document.
/// </summary>
internal sealed partial class SmartServerDocuments(
    IOptions<SmartResourceServerOptions> options,
    IOptionsMonitor<JwtBearerOptions> jwtOptions,
    ILogger<SmartServerDocuments> logger)
{
    private const string OAuthUris = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

    /// <summary>The endpoints, explicit ones first, the rest from discovery (null when discovery is unreachable).</summary>
    public async Task<Endpoints> EndpointsAsync(CancellationToken cancellationToken)
    {
        var m = options.Value.Metadata;
        OpenIdConnectConfiguration? discovered = null;
        if (m.AuthorizationEndpoint is null || m.TokenEndpoint is null || m.JwksUri is null)
        {
            try
            {
                var manager = jwtOptions.Get(SmartResourceServerDefaults.JwtScheme).ConfigurationManager;
                if (manager is not null)
                {
                    discovered = await manager.GetConfigurationAsync(cancellationToken);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException)
            {
                LogDiscoveryFailed(logger, e.GetType().Name);
            }
        }

        static Uri? U(string? s) => Uri.TryCreate(s, UriKind.Absolute, out var u) ? u : null;
        return new Endpoints(
            m.AuthorizationEndpoint ?? U(discovered?.AuthorizationEndpoint),
            m.TokenEndpoint ?? U(discovered?.TokenEndpoint),
            m.JwksUri ?? U(discovered?.JwksUri),
            m.RegistrationEndpoint,
            m.ManagementEndpoint,
            m.IntrospectionEndpoint ?? U(discovered?.IntrospectionEndpoint),
            m.RevocationEndpoint);
    }

    /// <summary>The <c>.well-known/smart-configuration</c> JSON.</summary>
    public async Task<JsonObject> SmartConfigurationAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var m = o.Metadata;
        var e = await EndpointsAsync(cancellationToken);
        // The issuer exactly as configured (a trailing slash kept or left out): apps compare it with the RFC 9207 'iss' of
        // the authorization response character for character, and OpenIddict's issuer, for one, ends with '/'.
        var json = new JsonObject { ["issuer"] = o.Authority!.OriginalString };
        void Add(string name, Uri? value)
        {
            if (value is not null)
            {
                json[name] = value.AbsoluteUri;
            }
        }

        void AddList(string name, IEnumerable<string> values)
        {
            var array = new JsonArray(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
            if (array.Count > 0)
            {
                json[name] = array;
            }
        }

        Add("jwks_uri", e.Jwks);
        Add("authorization_endpoint", e.Authorize);
        AddList("grant_types_supported", m.GrantTypesSupported);
        Add("token_endpoint", e.Token);
        AddList("token_endpoint_auth_methods_supported", m.TokenEndpointAuthMethodsSupported);
        AddList("token_endpoint_auth_signing_alg_values_supported", m.TokenEndpointAuthSigningAlgValuesSupported);
        Add("registration_endpoint", e.Register);
        AddList("scopes_supported", m.ScopesSupported);
        AddList("response_types_supported", m.ResponseTypesSupported);
        Add("management_endpoint", e.Manage);
        Add("introspection_endpoint", e.Introspect);
        Add("revocation_endpoint", e.Revoke);
        json["capabilities"] = new JsonArray(m.Capabilities.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
        json["code_challenge_methods_supported"] = new JsonArray(m.CodeChallengeMethodsSupported.Where(c => c != "plain").Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
        return json;
    }

    /// <summary>Adds <c>rest.security</c>: CORS, the SMART-on-FHIR service code and the <c>oauth-uris</c> extension.</summary>
    public void Contribute(CapabilityStatement statement, Endpoints e)
    {
        foreach (var rest in statement.Rest)
        {
            var security = rest.Security ??= new CapabilityStatement.SecurityComponent();
            security.Cors = true;
            security.Service =
            [
                new CodeableConcept("http://terminology.hl7.org/CodeSystem/restful-security-service", "SMART-on-FHIR", "SMART-on-FHIR"),
            ];
            security.Description = "OAuth 2.0 bearer tokens per SMART App Launch; scopes are enforced on every interaction.";
            var uris = new Extension { Url = OAuthUris };
            void Add(string name, Uri? value)
            {
                if (value is not null)
                {
                    uris.Extension.Add(new Extension(name, new FhirUri(value.AbsoluteUri)));
                }
            }

            Add("authorize", e.Authorize);
            Add("token", e.Token);
            Add("register", e.Register);
            Add("manage", e.Manage);
            Add("introspect", e.Introspect);
            Add("revoke", e.Revoke);
            security.Extension.RemoveAll(x => x.Url == OAuthUris);
            security.Extension.Add(uris);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The authorization server's discovery document could not be read ({Reason}); SMART metadata lists only the configured endpoints")]
    private static partial void LogDiscoveryFailed(ILogger logger, string reason);

    /// <summary>The authorization server's endpoints.</summary>
    internal sealed record Endpoints(Uri? Authorize, Uri? Token, Uri? Jwks, Uri? Register, Uri? Manage, Uri? Introspect, Uri? Revoke);
}

/// <summary>Adds SMART's security section to the generated CapabilityStatement.</summary>
internal sealed class SmartCapabilityContributor(SmartServerDocuments documents) : ICapabilityStatementContributor
{
    public void Contribute(CapabilityStatement statement)
    {
        // The statement is built once and cached by the FHIR server; discovery is read (and cached) by the key manager.
        var endpoints = documents.EndpointsAsync(CancellationToken.None).GetAwaiter().GetResult();
        documents.Contribute(statement, endpoints);
    }
}
