namespace Igia.Smart.App;

/// <summary>
/// Where the SMART app keeps its sessions (tokens and launch context) and pending launches. Values arrive already protected
/// with ASP.NET Core Data Protection (encrypted and authenticated), and keys are hashes — a store never sees a token, code,
/// verifier or state in clear. Implementations must be safe to call from many tasks at once.
/// Built in: <see cref="InMemorySmartTokenStore"/> (the default) and <see cref="DistributedCacheSmartTokenStore"/>.
/// </summary>
public interface ISmartTokenStore
{
    /// <summary>Returns the value stored under <paramref name="key"/>, or null when there is none or it has expired.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    ValueTask<byte[]?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/> until <paramref name="expiresAt"/>, replacing any previous value.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The protected value.</param>
    /// <param name="expiresAt">When the entry may be dropped.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    ValueTask SetAsync(string key, byte[] value, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Removes the entry under <paramref name="key"/>, if any.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the removal.</param>
    ValueTask RemoveAsync(string key, CancellationToken cancellationToken);
}
