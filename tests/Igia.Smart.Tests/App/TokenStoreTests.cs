using System.Text;
using System.Text.Json;
using Igia.Smart.App;
using Igia.Smart.App.Internal;
using Igia.Smart.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Igia.Smart.Tests.App;

public sealed class TokenStoreTests
{
    public static TheoryData<string> Stores => ["memory", "distributed"];

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task SetGetRemove_AnyStore_RoundTripsUntilRemoved(string kind)
    {
        var store = Store(kind, new ManualTimeProvider());

        await store.SetAsync("k", [1, 2, 3], DateTimeOffset.UtcNow.AddMinutes(5), CancellationToken.None);
        Assert.Equal([1, 2, 3], await store.GetAsync("k", CancellationToken.None));
        await store.RemoveAsync("k", CancellationToken.None);

        Assert.Null(await store.GetAsync("k", CancellationToken.None));
    }

    [Fact]
    public async Task Get_InMemoryEntryPastExpiry_Gone()
    {
        var clock = new ManualTimeProvider();
        var store = new InMemorySmartTokenStore(clock);
        await store.SetAsync("k", [1], clock.GetUtcNow().AddMinutes(1), CancellationToken.None);

        clock.Advance(TimeSpan.FromMinutes(2));

        Assert.Null(await store.GetAsync("k", CancellationToken.None));
        Assert.Equal(0, store.Count);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task SetSession_AnyStore_StoredProtectedUnderAHashedKey(string kind)
    {
        var recording = new RecordingStore(Store(kind, new ManualTimeProvider()));
        var protectedStore = new SmartProtectedStore(recording, new EphemeralDataProtectionProvider(), NullLogger<SmartProtectedStore>.Instance);
        const string AccessToken = "access-token-that-must-not-be-readable";
        var key = SmartProtectedStore.SessionKey("browser-id-value", "session-id-value");
        var state = new SmartSessionState
        {
            Id = "session-id-value",
            Server = "ehr",
            FhirBaseUrl = "https://ehr/fhir",
            AccessToken = AccessToken,
            RefreshToken = "refresh-token-that-must-not-be-readable",
            Context = JsonDocument.Parse("""{"patient":"p-1"}""").RootElement,
            StartedAt = DateTimeOffset.UtcNow,
            StoreUntil = DateTimeOffset.UtcNow.AddHours(1),
        };

        await protectedStore.SetSessionAsync(key, state, CancellationToken.None);
        var loaded = await protectedStore.GetSessionAsync(key, CancellationToken.None);

        Assert.Equal(AccessToken, loaded!.AccessToken);
        Assert.Equal("p-1", loaded.ToPublic().Context.Patient);
        var (storedKey, bytes) = Assert.Single(recording.Writes);
        Assert.DoesNotContain("session-id-value", storedKey, StringComparison.Ordinal);
        Assert.DoesNotContain("browser-id-value", storedKey, StringComparison.Ordinal);
        var raw = Encoding.UTF8.GetString(bytes);
        Assert.DoesNotContain("must-not-be-readable", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("p-1", raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetSession_ProtectedWithAnotherKeyRing_TreatedAsAbsent()
    {
        var store = new InMemorySmartTokenStore();
        var writer = new SmartProtectedStore(store, new EphemeralDataProtectionProvider(), NullLogger<SmartProtectedStore>.Instance);
        var reader = new SmartProtectedStore(store, new EphemeralDataProtectionProvider(), NullLogger<SmartProtectedStore>.Instance);
        var state = new SmartSessionState { Id = "s", Server = "ehr", FhirBaseUrl = "https://ehr/fhir", AccessToken = "t", StoreUntil = DateTimeOffset.UtcNow.AddHours(1) };
        await writer.SetSessionAsync("k", state, CancellationToken.None);

        Assert.Null(await reader.GetSessionAsync("k", CancellationToken.None));
    }

    [Theory]
    [InlineData("openid patient/*.rs offline_access", "openid patient/*.rs", true, "openid patient/*.rs offline_access")]
    [InlineData("openid patient/*.rs online_access", "openid patient/*.rs", true, "openid patient/*.rs online_access")]
    [InlineData("openid patient/*.rs offline_access", "openid patient/*.rs", false, "openid patient/*.rs")]
    [InlineData("openid patient/*.rs offline_access", null, true, "openid patient/*.rs offline_access")]
    [InlineData("openid patient/*.rs offline_access", "openid", true, "openid offline_access")]
    public void MergeScopes_RefreshedScope_KeepsOfflineAccessWhileARefreshTokenIsHeld(string previous, string? refreshed, bool holdsRefreshToken, string expected) =>
        Assert.Equal(expected, SmartSessionManager.MergeScopes(previous, refreshed, holdsRefreshToken));

    private static ISmartTokenStore Store(string kind, TimeProvider clock) => kind == "memory"
        ? new InMemorySmartTokenStore(clock)
        : new DistributedCacheSmartTokenStore(new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions())));

    private sealed class RecordingStore(ISmartTokenStore inner) : ISmartTokenStore
    {
        public List<(string Key, byte[] Value)> Writes { get; } = [];

        public ValueTask<byte[]?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public ValueTask SetAsync(string key, byte[] value, DateTimeOffset expiresAt, CancellationToken cancellationToken)
        {
            Writes.Add((key, value));
            return inner.SetAsync(key, value, expiresAt, cancellationToken);
        }

        public ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => inner.RemoveAsync(key, cancellationToken);
    }
}
