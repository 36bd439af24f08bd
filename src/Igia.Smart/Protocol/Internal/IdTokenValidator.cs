using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Smart.Protocol.Internal;

/// <summary>The checked content of an id_token.</summary>
internal sealed record IdTokenResult(string Subject, string? FhirUser, IReadOnlyList<Claim> Claims);

/// <summary>
/// Validates OpenID Connect id_tokens: signed (never <c>alg: none</c> or HMAC) by a key of the issuer's JWKS, <c>iss</c> equal to
/// the authorization server's issuer, <c>aud</c> containing the client id, not expired, and the <c>nonce</c> sent. Each failure
/// is a <see cref="SmartException"/> naming the check.
/// </summary>
internal sealed partial class IdTokenValidator(
    IHttpClientFactory httpClientFactory,
    IOptions<SmartProtocolOptions> options,
    TimeProvider timeProvider,
    ILogger<IdTokenValidator> logger)
{
    private static readonly TimeSpan MinimumRefetchInterval = TimeSpan.FromSeconds(30);
    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    private readonly ConcurrentDictionary<string, JwksEntry> _jwks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Uri> _jwksUris = new(StringComparer.Ordinal);

    public async Task<IdTokenResult> ValidateAsync(string idToken, SmartConfiguration configuration, string clientId, string? expectedNonce, CancellationToken cancellationToken)
    {
        var o = options.Value;
        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(idToken);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenMalformedException or JsonException or FormatException)
        {
            throw new SmartException(SmartErrorCode.IdTokenMalformed, "The id_token is not a well-formed JWT.", e);
        }

        if (jwt.IsEncrypted)
        {
            throw new SmartException(SmartErrorCode.IdTokenMalformed, "The id_token is encrypted (JWE); only signed id_tokens are supported.");
        }

        var alg = jwt.Alg;
        if (string.IsNullOrEmpty(alg) || string.Equals(alg, "none", StringComparison.OrdinalIgnoreCase) || !idToken.TrimEnd().Contains('.', StringComparison.Ordinal) || idToken.EndsWith('.'))
        {
            throw new SmartException(SmartErrorCode.IdTokenUnsigned, "The id_token is unsigned (alg 'none' or no signature); id_tokens must be signed by the issuer.");
        }

        if (alg.StartsWith("HS", StringComparison.OrdinalIgnoreCase) || !o.IdTokenAlgorithms.Contains(alg))
        {
            throw new SmartException(SmartErrorCode.IdTokenAlgorithmNotAllowed, $"The id_token is signed with '{SmartTokenResponse.Sanitize(alg)}', which is not an accepted id_token algorithm.");
        }

        var issuer = configuration.Issuer;
        if (string.IsNullOrEmpty(issuer))
        {
            throw new SmartException(SmartErrorCode.DiscoveryFailed, "The SMART configuration has no 'issuer', so the id_token cannot be checked; a server supporting sso-openid-connect must publish it.");
        }

        var jwksUri = await GetJwksUriAsync(configuration, issuer, o, cancellationToken).ConfigureAwait(false);
        var keys = await GetKeysAsync(jwksUri, force: false, o, cancellationToken).ConfigureAwait(false);
        var kid = jwt.Kid;
        if (!string.IsNullOrEmpty(kid) && !keys.Any(k => string.Equals(k.KeyId, kid, StringComparison.Ordinal)))
        {
            keys = await GetKeysAsync(jwksUri, force: true, o, cancellationToken).ConfigureAwait(false);
            if (!keys.Any(k => string.Equals(k.KeyId, kid, StringComparison.Ordinal)))
            {
                throw new SmartException(SmartErrorCode.IdTokenUnknownKey, "The id_token is signed by a key ('kid') that is not in the issuer's JWKS.");
            }
        }

        var parameters = new TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidAudience = clientId,
            IssuerSigningKeys = keys,
            ValidAlgorithms = o.IdTokenAlgorithms.Where(a => !a.StartsWith("HS", StringComparison.OrdinalIgnoreCase)).ToArray(),
            RequireSignedTokens = true,
            // Lifetime is checked below against the injected TimeProvider.
            RequireExpirationTime = false,
            ValidateLifetime = false,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateIssuerSigningKey = true,
            ClockSkew = o.ClockSkew,
            TryAllIssuerSigningKeys = string.IsNullOrEmpty(kid),
        };

        var result = await Handler.ValidateTokenAsync(jwt, parameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            throw Map(result.Exception);
        }

        CheckLifetime(jwt, o.ClockSkew);
        if (expectedNonce is not null && jwt.TryGetPayloadValue<string>("nonce", out var nonce) && !string.Equals(nonce, expectedNonce, StringComparison.Ordinal))
        {
            throw new SmartException(SmartErrorCode.IdTokenNonceMismatch, "The id_token's 'nonce' is not the one sent with the authorize request.");
        }

        var subject = jwt.Subject;
        if (string.IsNullOrEmpty(subject))
        {
            throw new SmartException(SmartErrorCode.IdTokenMalformed, "The id_token has no 'sub'.");
        }

        string? fhirUser = jwt.TryGetPayloadValue<string>("fhirUser", out var user) ? user
            : jwt.TryGetPayloadValue<string>("profile", out var profile) ? profile
            : null;
        var claims = jwt.Claims.Where(c => c.Type is not ("nonce" or "at_hash" or "c_hash")).Select(c => new Claim(c.Type, c.Value, c.ValueType)).ToList();
        return new IdTokenResult(subject, fhirUser, claims);
    }

    private void CheckLifetime(JsonWebToken jwt, TimeSpan skew)
    {
        var now = timeProvider.GetUtcNow().UtcDateTime;
        if (!jwt.TryGetPayloadValue<object>("exp", out _))
        {
            throw new SmartException(SmartErrorCode.IdTokenExpired, "The id_token has no 'exp'.");
        }

        if (jwt.ValidTo + skew < now)
        {
            throw new SmartException(SmartErrorCode.IdTokenExpired, "The id_token has expired.");
        }

        if (jwt.TryGetPayloadValue<object>("nbf", out _) && jwt.ValidFrom - skew > now)
        {
            throw new SmartException(SmartErrorCode.IdTokenNotYetValid, "The id_token is not valid yet ('nbf' is in the future).");
        }

        if (jwt.TryGetPayloadValue<object>("iat", out _) && jwt.IssuedAt - skew > now)
        {
            throw new SmartException(SmartErrorCode.IdTokenNotYetValid, "The id_token was issued in the future ('iat').");
        }
    }

    private static SmartException Map(Exception? e) => e switch
    {
        SecurityTokenExpiredException => new SmartException(SmartErrorCode.IdTokenExpired, "The id_token has expired.", e),
        SecurityTokenNoExpirationException => new SmartException(SmartErrorCode.IdTokenExpired, "The id_token has no 'exp'.", e),
        SecurityTokenNotYetValidException => new SmartException(SmartErrorCode.IdTokenNotYetValid, "The id_token is not valid yet.", e),
        SecurityTokenInvalidLifetimeException => new SmartException(SmartErrorCode.IdTokenExpired, "The id_token's lifetime is invalid.", e),
        SecurityTokenInvalidAudienceException => new SmartException(SmartErrorCode.IdTokenAudienceMismatch, "The id_token's 'aud' does not contain this app's client_id; it was issued to another client.", e),
        SecurityTokenInvalidIssuerException => new SmartException(SmartErrorCode.IdTokenIssuerMismatch, "The id_token's 'iss' is not the authorization server's issuer.", e),
        SecurityTokenInvalidAlgorithmException => new SmartException(SmartErrorCode.IdTokenAlgorithmNotAllowed, "The id_token's signing algorithm is not accepted.", e),
        SecurityTokenSignatureKeyNotFoundException => new SmartException(SmartErrorCode.IdTokenUnknownKey, "The id_token is signed by a key that is not in the issuer's JWKS.", e),
        SecurityTokenInvalidSignatureException => new SmartException(SmartErrorCode.IdTokenSignatureInvalid, "The id_token's signature does not verify against the issuer's JWKS.", e),
        SecurityTokenMalformedException or ArgumentException => new SmartException(SmartErrorCode.IdTokenMalformed, "The id_token is not a well-formed JWT.", e),
        _ => new SmartException(SmartErrorCode.IdTokenSignatureInvalid, "The id_token failed validation.", e),
    };

    private async Task<Uri> GetJwksUriAsync(SmartConfiguration configuration, string issuer, SmartProtocolOptions o, CancellationToken cancellationToken)
    {
        if (configuration.JwksUri is { } declared)
        {
            return declared;
        }

        if (_jwksUris.TryGetValue(issuer, out var known))
        {
            return known;
        }

        if (!Uri.TryCreate(issuer.TrimEnd('/') + "/.well-known/openid-configuration", UriKind.Absolute, out var discovery))
        {
            throw new SmartException(SmartErrorCode.JwksUnavailable, "The issuer is not an absolute URL, so its OpenID configuration cannot be found.");
        }

        SmartHttp.RequireSecure(discovery, o.RequireHttps, "OpenID configuration URL");
        var body = await FetchAsync(discovery, o, cancellationToken).ConfigureAwait(false);
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("jwks_uri", out var value) && Uri.TryCreate(value.GetString(), UriKind.Absolute, out var uri))
            {
                SmartHttp.RequireSecure(uri, o.RequireHttps, "JWKS URL");
                _jwksUris[issuer] = uri;
                return uri;
            }
        }
        catch (JsonException e)
        {
            throw new SmartException(SmartErrorCode.JwksUnavailable, "The issuer's OpenID configuration is not valid JSON.", e);
        }

        throw new SmartException(SmartErrorCode.JwksUnavailable, "Neither the SMART configuration nor the issuer's OpenID configuration names a 'jwks_uri'.");
    }

    private async Task<IList<SecurityKey>> GetKeysAsync(Uri jwksUri, bool force, SmartProtocolOptions o, CancellationToken cancellationToken)
    {
        var key = jwksUri.AbsoluteUri;
        var now = timeProvider.GetUtcNow();
        if (_jwks.TryGetValue(key, out var entry))
        {
            var fresh = now - entry.FetchedAt < o.DiscoveryCacheDuration;
            var recent = now - entry.FetchedAt < MinimumRefetchInterval;
            if ((fresh && !force) || recent)
            {
                return entry.Keys;
            }
        }

        SmartHttp.RequireSecure(jwksUri, o.RequireHttps, "JWKS URL");
        var body = await FetchAsync(jwksUri, o, cancellationToken).ConfigureAwait(false);
        IList<SecurityKey> keys;
        try
        {
            keys = new JsonWebKeySet(body).GetSigningKeys();
        }
        catch (Exception e) when (e is ArgumentException or JsonException or InvalidOperationException)
        {
            throw new SmartException(SmartErrorCode.JwksUnavailable, "The issuer's JWKS is not a valid JSON Web Key Set.", e);
        }

        _jwks[key] = new JwksEntry(keys, now);
        LogJwksFetched(logger, keys.Count);
        return keys;
    }

    private async Task<string> FetchAsync(Uri url, SmartProtocolOptions o, CancellationToken cancellationToken)
    {
        var http = httpClientFactory.CreateClient(SmartHttp.ClientName);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(o.HttpTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        try
        {
            using var response = await http.SendAsync(request, cts.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new SmartException(SmartErrorCode.JwksUnavailable, $"Fetching the issuer's keys answered HTTP {(int)response.StatusCode}.");
            }

            return await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new SmartException(SmartErrorCode.JwksUnavailable, "The issuer's keys could not be fetched.", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SmartException(SmartErrorCode.JwksUnavailable, "The issuer's keys did not arrive in time.", e);
        }
    }

    private sealed record JwksEntry(IList<SecurityKey> Keys, DateTimeOffset FetchedAt);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Fetched the issuer's JWKS ({Count} signing keys)")]
    private static partial void LogJwksFetched(ILogger logger, int count);
}
