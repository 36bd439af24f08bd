using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Caching.Memory;

namespace Igia.Smart.ResourceServer.Internal;

/// <summary>
/// Remembers JWTs that passed validation, keyed by the SHA-256 of the token (the token itself is never kept), for at most
/// <see cref="SmartResourceServerOptions.ValidatedTokenCacheDuration"/> and never past the token's <c>exp</c>. A SMART app sends
/// the same access token on every request, so this spares the signature check on all but the first. Bounded in size.
/// </summary>
internal sealed class SmartValidatedTokenCache(TimeSpan duration, TimeProvider time) : IDisposable
{
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 20_000 });

    /// <summary>JwtBearer's <c>OnMessageReceived</c>: answers from the cache when the token was validated recently.</summary>
    public Task OnMessageReceivedAsync(MessageReceivedContext context)
    {
        if (duration > TimeSpan.Zero && SmartTokenShape.BearerToken(context.Request) is { } token
            && _cache.TryGetValue(Key(token), out Entry? entry) && entry is not null && entry.Expires > time.GetUtcNow())
        {
            context.Principal = entry.Principal;
            context.Success();
        }

        return Task.CompletedTask;
    }

    /// <summary>JwtBearer's <c>OnTokenValidated</c>: remembers the principal of a token that passed every check.</summary>
    public Task OnTokenValidatedAsync(TokenValidatedContext context)
    {
        if (duration > TimeSpan.Zero && context.Principal is { } principal && SmartTokenShape.BearerToken(context.Request) is { } token
            && long.TryParse(principal.FindFirst("exp")?.Value, out var exp))
        {
            var now = time.GetUtcNow();
            var expires = DateTimeOffset.FromUnixTimeSeconds(exp);
            var until = now + duration < expires ? now + duration : expires;
            if (until > now)
            {
                _cache.Set(Key(token), new Entry(principal, until), new MemoryCacheEntryOptions { AbsoluteExpiration = until, Size = 1 });
            }
        }

        return Task.CompletedTask;
    }

    public void Dispose() => _cache.Dispose();

    private static string Key(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private sealed record Entry(ClaimsPrincipal Principal, DateTimeOffset Expires);
}
