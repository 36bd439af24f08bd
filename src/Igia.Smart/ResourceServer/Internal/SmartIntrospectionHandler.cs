using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Duende.IdentityModel.Client;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Smart.ResourceServer.Internal;

/// <summary>
/// Authenticates opaque access tokens with RFC 7662 introspection (the request and its parsing by Duende.IdentityModel), and
/// keeps each answer briefly in memory under a hash of the token (never the token itself), never beyond the token's <c>exp</c>.
/// An active token must come from the configured issuer and, by default, carry the FHIR base as audience.
/// Hand-written because no maintained introspection authentication handler is available from this repository's package feed.
/// </summary>
internal sealed partial class SmartIntrospectionHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IOptions<SmartResourceServerOptions> smartOptions,
    IHttpClientFactory httpClientFactory,
    IMemoryCache cache,
    TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    private readonly ILogger _log = loggerFactory.CreateLogger<SmartIntrospectionHandler>();

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = SmartTokenShape.BearerToken(Request);
        if (token is null)
        {
            return AuthenticateResult.NoResult();
        }

        var options = smartOptions.Value;
        if (options.Introspection is not { Endpoint: { } endpoint } introspection)
        {
            return AuthenticateResult.Fail("Opaque access tokens are not accepted (no introspection endpoint is configured).");
        }

        var key = "igia-smart-introspection:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        if (!cache.TryGetValue(key, out CachedIntrospection? cached) || cached is null)
        {
            cached = await IntrospectAsync(token, endpoint, introspection, options);
            if (cached is null)
            {
                return AuthenticateResult.Fail("The introspection endpoint could not be reached.");
            }

            var now = time.GetUtcNow();
            var until = now + introspection.CacheDuration;
            if (cached.Expires is { } exp && exp < until)
            {
                until = exp;
            }

            if (until > now)
            {
                cache.Set(key, cached, until);
            }
        }

        if (cached.Principal is null || (cached.Expires is { } expires && expires <= time.GetUtcNow()))
        {
            return AuthenticateResult.Fail("The access token is not active.");
        }

        return AuthenticateResult.Success(new AuthenticationTicket(cached.Principal, SmartResourceServerDefaults.AuthenticationScheme));
    }

    private async Task<CachedIntrospection?> IntrospectAsync(string token, Uri endpoint, SmartIntrospectionOptions introspection, SmartResourceServerOptions options)
    {
        TokenIntrospectionResponse response;
        try
        {
            var client = httpClientFactory.CreateClient(SmartResourceServerDefaults.HttpClientName);
            response = await client.IntrospectTokenAsync(new TokenIntrospectionRequest
            {
                Address = endpoint.AbsoluteUri,
                ClientId = introspection.ClientId!,
                ClientSecret = introspection.ClientSecret,
                Token = token,
                TokenTypeHint = "access_token",
            }, Context.RequestAborted);
        }
        catch (HttpRequestException e)
        {
            LogUnreachable(_log, e.GetType().Name);
            return null;
        }

        if (response.IsError)
        {
            LogUnreachable(_log, response.ErrorType.ToString());
            return null;
        }

        DateTimeOffset? expires = long.TryParse(response.TryGet("exp"), out var exp) ? DateTimeOffset.FromUnixTimeSeconds(exp) : null;
        if (!response.IsActive)
        {
            return new CachedIntrospection(null, expires);
        }

        var claims = response.Claims.ToList();
        var issuer = claims.FirstOrDefault(c => c.Type == "iss")?.Value;
        if (issuer is not null && !SameUrl(issuer, options.Authority!.AbsoluteUri))
        {
            LogRejected(_log, "issuer");
            return new CachedIntrospection(null, expires);
        }

        var audiences = claims.Where(c => c.Type == "aud").Select(c => c.Value).ToList();
        if ((audiences.Count > 0 || introspection.RequireAudience) && !audiences.Any(a => SameUrl(a, options.Audience!)))
        {
            LogRejected(_log, "audience");
            return new CachedIntrospection(null, expires);
        }

        if (long.TryParse(response.TryGet("nbf"), out var nbf) && DateTimeOffset.FromUnixTimeSeconds(nbf) > time.GetUtcNow() + options.ClockSkew)
        {
            LogRejected(_log, "not-before");
            return new CachedIntrospection(null, expires);
        }

        var identity = new ClaimsIdentity(claims.Where(c => c.Type != "active"), SmartResourceServerDefaults.AuthenticationScheme, "sub", null);
        return new CachedIntrospection(new ClaimsPrincipal(identity), expires);
    }

    private static bool SameUrl(string a, string b) => string.Equals(a.TrimEnd('/'), b.TrimEnd('/'), StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Token introspection failed ({Reason}); the request is treated as unauthenticated")]
    private static partial void LogUnreachable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "An introspected access token was refused: wrong {What}")]
    private static partial void LogRejected(ILogger logger, string what);

    private sealed record CachedIntrospection(ClaimsPrincipal? Principal, DateTimeOffset? Expires);
}

/// <summary>Reads the bearer token and tells JWTs from opaque tokens.</summary>
internal static class SmartTokenShape
{
    public static string? BearerToken(Microsoft.AspNetCore.Http.HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7 ? header[7..].Trim() : null;
    }

    /// <summary>A JWS compact serialisation has exactly two dots (a JWE has four; not accepted as access tokens here).</summary>
    public static bool LooksLikeJwt(string token) => token.AsSpan().Count('.') == 2;
}
