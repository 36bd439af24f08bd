using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Igia.Smart.ResourceServer.Internal;

/// <summary>
/// The access of recently authenticated tokens, keyed by the SHA-256 of the token (never the token itself), so that an app's
/// next requests with the same token skip authentication altogether. An entry lives no longer than the token (<c>exp</c>) and
/// than the cache that vouched for it: <see cref="SmartResourceServerOptions.ValidatedTokenCacheDuration"/> for JWTs, the
/// introspection <see cref="SmartIntrospectionOptions.CacheDuration"/> for opaque tokens. Bounded in size.
/// </summary>
internal sealed class SmartAccessCache(IOptions<SmartResourceServerOptions> options, TimeProvider time) : IDisposable
{
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 20_000 });

    public SmartAccess? Find(string token)
    {
        return _cache.TryGetValue(Key(token), out Entry? entry) && entry is not null && entry.Expires > time.GetUtcNow() ? entry.Access : null;
    }

    public void Remember(string token, SmartAccess access)
    {
        var o = options.Value;
        var duration = SmartTokenShape.LooksLikeJwt(token) ? o.ValidatedTokenCacheDuration : o.Introspection?.CacheDuration ?? TimeSpan.Zero;
        if (duration <= TimeSpan.Zero || !long.TryParse(access.Principal.FindFirst("exp")?.Value, out var exp))
        {
            return;
        }

        var now = time.GetUtcNow();
        var expires = DateTimeOffset.FromUnixTimeSeconds(exp);
        var until = now + duration < expires ? now + duration : expires;
        if (until > now)
        {
            _cache.Set(Key(token), new Entry(access, until), new MemoryCacheEntryOptions { AbsoluteExpiration = until, Size = 1 });
        }
    }

    public void Dispose() => _cache.Dispose();

    private static string Key(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private sealed record Entry(SmartAccess Access, DateTimeOffset Expires);
}
