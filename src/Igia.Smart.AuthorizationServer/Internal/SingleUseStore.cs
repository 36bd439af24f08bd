using System.Collections.Concurrent;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>
/// Short-lived, single-use values kept in process memory (hand-written: a dictionary with expiry; <c>TryRemove</c> makes
/// "take" atomic so a value is used at most once even under concurrent requests).
/// </summary>
internal sealed class SingleUseStore<T>(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (T Value, DateTimeOffset Expires)> _items = new(StringComparer.Ordinal);

    public void Add(string key, T value, TimeSpan lifetime)
    {
        var now = time.GetUtcNow();
        if (_items.Count > 1024)
        {
            foreach (var item in _items)
            {
                if (item.Value.Expires <= now)
                {
                    _items.TryRemove(item.Key, out _);
                }
            }
        }

        _items[key] = (value, now + lifetime);
    }

    /// <summary>Adds <paramref name="key"/> unless present and unexpired; false when it is (a replay).</summary>
    public bool TryAddNew(string key, T value, DateTimeOffset expires)
    {
        var now = time.GetUtcNow();
        while (true)
        {
            if (_items.TryAdd(key, (value, expires)))
            {
                return true;
            }

            if (_items.TryGetValue(key, out var existing) && existing.Expires > now)
            {
                return false;
            }

            _items.TryRemove(key, out _);
        }
    }

    public bool TryTake(string key, out T value)
    {
        if (_items.TryRemove(key, out var item) && item.Expires > time.GetUtcNow())
        {
            value = item.Value;
            return true;
        }

        value = default!;
        return false;
    }
}

/// <summary>Default <see cref="ISmartLaunchContexts"/>: in process memory (one instance; plug a shared one for a farm).</summary>
internal sealed class InMemoryLaunchContexts(TimeProvider time, Microsoft.Extensions.Options.IOptions<SmartAuthorizationServerOptions> options) : ISmartLaunchContexts
{
    private readonly SingleUseStore<SmartLaunchContext> _store = new(time);

    public ValueTask<string> CreateAsync(SmartLaunchContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var handle = SmartAuthzDefaults.NewHandle();
        _store.Add(handle, context, options.Value.LaunchLifetime);
        return ValueTask.FromResult(handle);
    }

    public ValueTask<SmartLaunchContext?> TakeAsync(string launch, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_store.TryTake(launch, out var context) ? context : null);
}

/// <summary>Default <see cref="ISmartPatientSelections"/>: in process memory, 10 minutes, single use.</summary>
internal sealed class InMemoryPatientSelections(TimeProvider time) : ISmartPatientSelections
{
    private readonly SingleUseStore<(string User, string Patient)> _store = new(time);

    public ValueTask<string> CreateAsync(string username, string patientId, CancellationToken cancellationToken)
    {
        var handle = SmartAuthzDefaults.NewHandle();
        _store.Add(handle, (username, patientId), TimeSpan.FromMinutes(10));
        return ValueTask.FromResult(handle);
    }

    public ValueTask<string?> TakeAsync(string selection, string username, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_store.TryTake(selection, out var item) && string.Equals(item.User, username, StringComparison.Ordinal) ? item.Patient : null);
}

/// <summary>Backend Services <c>jti</c> replay cache: each (client, jti) accepted once until the assertion expires.</summary>
internal sealed class JtiReplayCache(TimeProvider time)
{
    private readonly SingleUseStore<bool> _store = new(time);

    public bool TryUse(string clientId, string jti, DateTimeOffset expires) => _store.TryAddNew(clientId + "\n" + jti, true, expires);
}
