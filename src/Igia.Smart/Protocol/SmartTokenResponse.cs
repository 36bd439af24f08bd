using System.Text.Json;

namespace Igia.Smart.Protocol;

/// <summary>
/// A successful SMART token response, checked: it has an <c>access_token</c> and <c>token_type</c> <c>Bearer</c>. The launch
/// context and granted scopes are parsed. <see cref="ToString"/> never shows the tokens.
/// </summary>
public sealed class SmartTokenResponse
{
    private SmartTokenResponse(string accessToken, string tokenType)
    {
        AccessToken = accessToken;
        TokenType = tokenType;
    }

    /// <summary>The access token.</summary>
    public string AccessToken { get; }

    /// <summary>The token type as sent (<c>Bearer</c>, in any letter case).</summary>
    public string TokenType { get; }

    /// <summary>The access token's lifetime (<c>expires_in</c>), when given.</summary>
    public TimeSpan? ExpiresIn { get; private init; }

    /// <summary>The refresh token, when one was issued.</summary>
    public string? RefreshToken { get; private init; }

    /// <summary>The OpenID Connect id_token, when one was issued (not yet validated here).</summary>
    public string? IdToken { get; private init; }

    /// <summary>The <c>scope</c> parameter as sent, or null when the server omitted it.</summary>
    public string? Scope { get; private init; }

    /// <summary>The granted scopes (empty when the server omitted <c>scope</c>).</summary>
    public IReadOnlyList<SmartScope> GrantedScopes { get; private init; } = [];

    /// <summary>The launch context (patient, encounter, fhirContext, …).</summary>
    public SmartLaunchContext LaunchContext { get; private init; } = SmartLaunchContext.Empty;

    /// <summary>Parses and checks a token response.</summary>
    /// <param name="json">The JSON object the token endpoint returned with 200.</param>
    /// <exception cref="SmartException">It is not an object (<see cref="SmartErrorCode.TokenResponseMalformed"/>), has no access token
    /// (<see cref="SmartErrorCode.AccessTokenMissing"/>), or its token type is not Bearer (<see cref="SmartErrorCode.TokenTypeNotBearer"/>).</exception>
    public static SmartTokenResponse Parse(JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            throw new SmartException(SmartErrorCode.TokenResponseMalformed, "The token response is not a JSON object.");
        }

        var accessToken = String(json, "access_token");
        if (string.IsNullOrEmpty(accessToken))
        {
            throw new SmartException(SmartErrorCode.AccessTokenMissing, "The token response has no 'access_token'.");
        }

        var tokenType = String(json, "token_type");
        if (!string.Equals(tokenType, "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            throw new SmartException(
                SmartErrorCode.TokenTypeNotBearer,
                tokenType is null
                    ? "The token response has no 'token_type'; SMART requires 'Bearer'."
                    : $"The token response's 'token_type' is '{Sanitize(tokenType)}'; SMART requires 'Bearer'.");
        }

        TimeSpan? expiresIn = null;
        if (json.TryGetProperty("expires_in", out var e))
        {
            if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var seconds) && seconds > 0)
            {
                expiresIn = TimeSpan.FromSeconds(seconds);
            }
            else if (e.ValueKind == JsonValueKind.String && double.TryParse(e.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var parsed) && parsed > 0)
            {
                expiresIn = TimeSpan.FromSeconds(parsed);
            }
        }

        var scope = json.TryGetProperty("scope", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        return new SmartTokenResponse(accessToken, tokenType!)
        {
            ExpiresIn = expiresIn,
            RefreshToken = String(json, "refresh_token"),
            IdToken = String(json, "id_token"),
            Scope = scope,
            GrantedScopes = SmartScope.ParseGranted(scope),
            LaunchContext = SmartLaunchContext.FromTokenResponse(json),
        };
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"SmartTokenResponse (tokens hidden; expires in {ExpiresIn?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} s, refresh token: {RefreshToken is not null}, id_token: {IdToken is not null}, scope: {Scope})";

    internal static string Sanitize(string text)
    {
        var chars = text.Take(64).Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ' ' ? c : '?').ToArray();
        return new string(chars);
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
