namespace Igia.Smart.Protocol;

/// <summary>Which SMART or OAuth check failed; carried by every <see cref="SmartException"/>.</summary>
public enum SmartErrorCode
{
    /// <summary>An EHR launch named an <c>iss</c> that is not one of the app's registered FHIR servers; nothing was sent to it.</summary>
    IssuerNotAllowed,

    /// <summary>The launch request did not say which FHIR server to use (no <c>iss</c>, no known <c>server</c> name).</summary>
    ServerNotSpecified,

    /// <summary>The launch request was malformed (e.g. a <c>launch</c> without <c>iss</c>, or a return URL that is not local).</summary>
    InvalidLaunchRequest,

    /// <summary>Neither <c>.well-known/smart-configuration</c> nor the CapabilityStatement gave usable SMART endpoints.</summary>
    DiscoveryFailed,

    /// <summary>The server does not declare a capability the app needs (e.g. <c>launch-ehr</c>, <c>client-confidential-asymmetric</c>, PKCE S256).</summary>
    CapabilityMissing,

    /// <summary>An endpoint or URL uses plain HTTP outside the loopback interface.</summary>
    InsecureEndpoint,

    /// <summary>The callback carried no <c>state</c>.</summary>
    StateMissing,

    /// <summary>The callback's <c>state</c> was never issued here, or has expired.</summary>
    StateUnknown,

    /// <summary>The callback's <c>state</c> was already used.</summary>
    StateReused,

    /// <summary>The callback's <c>state</c> was issued to another browser session.</summary>
    StateForeign,

    /// <summary>The authorization server answered the authorize request with an error (e.g. <c>access_denied</c>); see <see cref="SmartException.OAuthError"/>.</summary>
    AuthorizationError,

    /// <summary>The authorization response named an issuer (<c>iss</c>, RFC 9207) other than the expected authorization server.</summary>
    AuthorizationResponseIssuerMismatch,

    /// <summary>The callback carried neither a <c>code</c> nor an <c>error</c>.</summary>
    CodeMissing,

    /// <summary>The token endpoint answered with an OAuth error or a non-success status; see <see cref="SmartException.OAuthError"/>.</summary>
    TokenRequestFailed,

    /// <summary>The token endpoint could not be reached or did not answer in time.</summary>
    TokenEndpointUnreachable,

    /// <summary>The token response had no <c>access_token</c>.</summary>
    AccessTokenMissing,

    /// <summary>The token response's <c>token_type</c> was not <c>Bearer</c>.</summary>
    TokenTypeNotBearer,

    /// <summary>The token response was not a JSON object of the expected shape.</summary>
    TokenResponseMalformed,

    /// <summary>The <c>openid</c> scope was granted but the token response had no <c>id_token</c>.</summary>
    IdTokenMissing,

    /// <summary>The <c>id_token</c> is not a well-formed JWS compact token.</summary>
    IdTokenMalformed,

    /// <summary>The <c>id_token</c> is unsigned (<c>alg: none</c>).</summary>
    IdTokenUnsigned,

    /// <summary>The <c>id_token</c> is signed with an algorithm the app does not accept.</summary>
    IdTokenAlgorithmNotAllowed,

    /// <summary>The <c>id_token</c> is signed by a key that is not in the issuer's JWKS.</summary>
    IdTokenUnknownKey,

    /// <summary>The <c>id_token</c>'s signature does not verify.</summary>
    IdTokenSignatureInvalid,

    /// <summary>The <c>id_token</c> has expired (or has no <c>exp</c>).</summary>
    IdTokenExpired,

    /// <summary>The <c>id_token</c> is not valid yet (<c>nbf</c>/<c>iat</c> in the future).</summary>
    IdTokenNotYetValid,

    /// <summary>The <c>id_token</c>'s <c>iss</c> is not the authorization server's issuer.</summary>
    IdTokenIssuerMismatch,

    /// <summary>The <c>id_token</c>'s <c>aud</c> does not contain the app's <c>client_id</c>.</summary>
    IdTokenAudienceMismatch,

    /// <summary>The <c>id_token</c>'s <c>nonce</c> differs from the one sent.</summary>
    IdTokenNonceMismatch,

    /// <summary>The issuer's JWKS could not be fetched or parsed.</summary>
    JwksUnavailable,

    /// <summary>The request needs a SMART session and there is none (the user has not launched the app in this browser, or it ended).</summary>
    NoSession,

    /// <summary>The session's access token has expired and cannot be refreshed (no refresh token, or the server refused it); launch again.</summary>
    SessionExpired,

    /// <summary>A refresh of the session's access token failed; see the inner exception or <see cref="SmartException.OAuthError"/>.</summary>
    RefreshFailed,

    /// <summary>The current SMART session belongs to another FHIR server than the client asked for.</summary>
    SessionServerMismatch,

    /// <summary>A signing key is unusable (wrong type, too short, no private part, unsupported curve or algorithm).</summary>
    InvalidSigningKey,
}

/// <summary>
/// A SMART App Launch, Backend Services or token failure. <see cref="Code"/> says which check failed; the message names it in
/// words. Messages never contain tokens, codes, verifiers, states or secrets.
/// </summary>
public sealed class SmartException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">Which check failed.</param>
    /// <param name="message">What went wrong, without secrets.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public SmartException(SmartErrorCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>Which check failed.</summary>
    public SmartErrorCode Code { get; }

    /// <summary>The OAuth <c>error</c> code the server returned (e.g. <c>invalid_grant</c>), when there was one.</summary>
    public string? OAuthError { get; init; }

    /// <summary>The server's <c>error_description</c>, when there was one (text from the server; do not render it as HTML).</summary>
    public string? OAuthErrorDescription { get; init; }

    /// <summary>The check as a short snake_case identifier, e.g. <c>state_reused</c> (used in problem details and logs).</summary>
    public string CheckName => ToCheckName(Code);

    /// <summary>Converts a code to its snake_case name.</summary>
    /// <param name="code">The code.</param>
    public static string ToCheckName(SmartErrorCode code)
    {
        var name = code.ToString();
        var builder = new System.Text.StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0)
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
