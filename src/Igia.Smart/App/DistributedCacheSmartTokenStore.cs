using Microsoft.Extensions.Caching.Distributed;

namespace Igia.Smart.App;

/// <summary>
/// Keeps SMART sessions in the application's <see cref="IDistributedCache"/> (Redis, SQL Server, …), so that every instance
/// of a web farm sees them. Register a cache (e.g. <c>AddStackExchangeRedisCache</c>) and call
/// <c>AddIgiaSmartApp(...).UseDistributedCacheTokenStore()</c>. Entries are protected with Data Protection, so the
/// key ring must be shared between the instances too (e.g. <c>PersistKeysToStackExchangeRedis</c>).
/// </summary>
public sealed class DistributedCacheSmartTokenStore : ISmartTokenStore
{
    private const string Prefix = "igia-smart:";
    private readonly IDistributedCache _cache;

    /// <summary>Creates the store.</summary>
    /// <param name="cache">The distributed cache.</param>
    public DistributedCacheSmartTokenStore(IDistributedCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        _cache = cache;
    }

    /// <inheritdoc />
    public async ValueTask<byte[]?> GetAsync(string key, CancellationToken cancellationToken) =>
        await _cache.GetAsync(Prefix + key, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask SetAsync(string key, byte[] value, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        await _cache.SetAsync(Prefix + key, value, new DistributedCacheEntryOptions { AbsoluteExpiration = expiresAt }, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask RemoveAsync(string key, CancellationToken cancellationToken) =>
        await _cache.RemoveAsync(Prefix + key, cancellationToken).ConfigureAwait(false);
}
