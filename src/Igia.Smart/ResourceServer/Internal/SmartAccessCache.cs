using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Igia.Smart.ResourceServer.Internal;

/// <summary>
/// The access of recently authenticated tokens, keyed by the full <c>Authorization</c> header that carried the token (ordinal
/// comparison: a token that differs in any character, e.g. a forged signature, is a different key and goes through
/// validation), so that an app's next requests
/// with the same token skip authentication altogether. Only tokens that passed every check are remembered; failures never are.
/// An entry lives no longer than the token (<c>exp</c>) and than the cache that vouched for it:
/// <see cref="SmartResourceServerOptions.ValidatedTokenCacheDuration"/> for JWTs (so a withdrawn signing key stops working
/// within it), the introspection <see cref="SmartIntrospectionOptions.CacheDuration"/> for opaque tokens (so a revocation takes
/// effect within it). Bounded in size: expired entries are dropped when it fills, and it is emptied if they were not enough.
/// </summary>
internal sealed class SmartAccessCache(IOptions<SmartResourceServerOptions> options, TimeProvider time)
{
    internal const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(HeaderComparer.Instance);

    /// <summary>The remembered access for <paramref name="key"/> (the Authorization header), or null.</summary>
    public SmartAccess? Find(string key)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (entry.Expires > time.GetUtcNow())
            {
                return entry.Access;
            }

            _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
        }

        return null;
    }

    /// <summary>Remembers the access of a token that passed every check; <paramref name="jwt"/> picks the cache duration.</summary>
    public void Remember(string key, bool jwt, SmartAccess access)
    {
        var o = options.Value;
        var duration = jwt ? o.ValidatedTokenCacheDuration : o.Introspection?.CacheDuration ?? TimeSpan.Zero;
        if (duration <= TimeSpan.Zero || !long.TryParse(access.Principal.FindFirst("exp")?.Value, out var exp))
        {
            return;
        }

        var now = time.GetUtcNow();
        var expires = DateTimeOffset.FromUnixTimeSeconds(exp);
        var until = now + duration < expires ? now + duration : expires;
        if (until <= now)
        {
            return;
        }

        if (_entries.Count >= MaxEntries)
        {
            foreach (var item in _entries)
            {
                if (item.Value.Expires <= now)
                {
                    _entries.TryRemove(item);
                }
            }

            if (_entries.Count >= MaxEntries)
            {
                _entries.Clear();
            }
        }

        _entries[key] = new Entry(access, until);
    }

    private sealed record Entry(SmartAccess Access, DateTimeOffset Expires);

    /// <summary>
    /// Equal = ordinal equality of the whole header; the hash covers only its last 64 characters (a JWT's signature, an
    /// opaque token's random tail), so that a lookup does not hash a ~1 KB header on every request. Colliding headers
    /// cannot be planted: only tokens that passed validation are stored.
    /// </summary>
    private sealed class HeaderComparer : IEqualityComparer<string>
    {
        public static readonly HeaderComparer Instance = new();

        public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

        public int GetHashCode(string obj) => string.GetHashCode(obj.AsSpan(Math.Max(0, obj.Length - 64)), StringComparison.Ordinal);
    }
}
