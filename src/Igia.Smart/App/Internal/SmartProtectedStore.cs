using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Logging;

namespace Igia.Smart.App.Internal;

/// <summary>Serialises, protects (Data Protection) and stores sessions and pending launches in the <see cref="ISmartTokenStore"/>.</summary>
internal sealed partial class SmartProtectedStore(ISmartTokenStore store, IDataProtectionProvider dataProtection, ILogger<SmartProtectedStore> logger)
{
    private readonly IDataProtector _sessions = dataProtection.CreateProtector("Igia.Smart.App", "session", "v1");
    private readonly IDataProtector _pending = dataProtection.CreateProtector("Igia.Smart.App", "pending", "v1");

    public static string SessionKey(string browserId, string sessionId) => "session:" + Protocol.Internal.Pkce.Hash(browserId + "\n" + sessionId);

    public static string StateKey(string state) => "state:" + Protocol.Internal.Pkce.Hash(state);

    public ValueTask<SmartSessionState?> GetSessionAsync(string key, CancellationToken cancellationToken) =>
        GetAsync(key, _sessions, SmartStateJsonContext.Default.SmartSessionState, cancellationToken);

    public ValueTask SetSessionAsync(string key, SmartSessionState state, CancellationToken cancellationToken) =>
        SetAsync(key, state, state.StoreUntil, _sessions, SmartStateJsonContext.Default.SmartSessionState, cancellationToken);

    public ValueTask<PendingAuthorization?> GetPendingAsync(string key, CancellationToken cancellationToken) =>
        GetAsync(key, _pending, SmartStateJsonContext.Default.PendingAuthorization, cancellationToken);

    public ValueTask SetPendingAsync(string key, PendingAuthorization pending, CancellationToken cancellationToken) =>
        SetAsync(key, pending, pending.ExpiresAt, _pending, SmartStateJsonContext.Default.PendingAuthorization, cancellationToken);

    public ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => store.RemoveAsync(key, cancellationToken);

    private async ValueTask<T?> GetAsync<T>(string key, IDataProtector protector, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class
    {
        var bytes = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(protector.Unprotect(bytes), type);
        }
        catch (Exception e) when (e is CryptographicException or JsonException)
        {
            // A value protected with a key this instance does not have (key ring not shared), or tampered with: treat as absent.
            LogUnreadable(logger, e.GetType().Name);
            return null;
        }
    }

    private ValueTask SetAsync<T>(string key, T value, DateTimeOffset until, IDataProtector protector, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        store.SetAsync(key, protector.Protect(JsonSerializer.SerializeToUtf8Bytes(value, type)), until, cancellationToken);

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "A stored SMART entry could not be unprotected or read ({Reason}); it is ignored. Is the Data Protection key ring shared between instances?")]
    private static partial void LogUnreadable(ILogger logger, string reason);
}
