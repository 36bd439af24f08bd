using System.Collections.Concurrent;

namespace Igia.Smart.App;

/// <summary>
/// Keeps SMART sessions in the memory of this process (the default store). Sessions are lost on restart and not shared
/// between instances; use <see cref="DistributedCacheSmartTokenStore"/> for a web farm.
/// </summary>
public sealed class InMemorySmartTokenStore : ISmartTokenStore
{
    private readonly ConcurrentDictionary<string, (byte[] Value, DateTimeOffset ExpiresAt)> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private int _writes;

    /// <summary>Creates the store.</summary>
    /// <param name="timeProvider">The clock (the system clock when null).</param>
    public InMemorySmartTokenStore(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <summary>How many entries are held (including expired ones not yet swept).</summary>
    public int Count => _entries.Count;

    /// <inheritdoc />
    public ValueTask<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_entries.TryGetValue(key, out var entry))
        {
            if (entry.ExpiresAt > _time.GetUtcNow())
            {
                return new(entry.Value);
            }

            _entries.TryRemove(new KeyValuePair<string, (byte[], DateTimeOffset)>(key, entry));
        }

        return new((byte[]?)null);
    }

    /// <inheritdoc />
    public ValueTask SetAsync(string key, byte[] value, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        _entries[key] = (value, expiresAt);
        if (Interlocked.Increment(ref _writes) % 256 == 0)
        {
            Sweep();
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask RemoveAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        _entries.TryRemove(key, out _);
        return ValueTask.CompletedTask;
    }

    private void Sweep()
    {
        var now = _time.GetUtcNow();
        foreach (var entry in _entries)
        {
            if (entry.Value.ExpiresAt <= now)
            {
                _entries.TryRemove(entry);
            }
        }
    }
}
