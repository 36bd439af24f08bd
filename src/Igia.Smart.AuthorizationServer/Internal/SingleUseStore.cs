using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>
/// Short-lived, single-use values in the authorization server's database, so that several instances on one database honour
/// single use. Taking is a <c>DELETE</c> whose affected-row count decides (only one request can delete the row); adding a
/// never-seen value is an <c>INSERT … ON CONFLICT DO UPDATE … WHERE expired</c> whose count decides likewise. Expired rows are
/// purged at most once a minute per instance.
/// </summary>
internal sealed class SingleUseStore(IServiceScopeFactory scopes, TimeProvider time)
{
    private static readonly TimeSpan PurgeInterval = TimeSpan.FromMinutes(1);
    private long _nextPurge;

    /// <summary>Stores <paramref name="value"/> under <paramref name="kind"/>/<paramref name="handle"/> until <paramref name="expires"/>.</summary>
    public async ValueTask AddAsync(string kind, string handle, string value, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SmartAuthorizationDbContext>();
        await PurgeAsync(db, cancellationToken).ConfigureAwait(false);
        db.Set<SingleUseEntry>().Add(new SingleUseEntry { Key = Key(kind, handle), Value = value, ExpiresAt = expires.ToUnixTimeMilliseconds() });
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds the value unless it is present and unexpired; false when it is (a replay).</summary>
    public async ValueTask<bool> TryAddNewAsync(string kind, string handle, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SmartAuthorizationDbContext>();
        await PurgeAsync(db, cancellationToken).ConfigureAwait(false);
        var key = Key(kind, handle);
        var until = expires.ToUnixTimeMilliseconds();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var affected = await db.Database.ExecuteSqlAsync(
            $"INSERT INTO \"IgiaSmartSingleUse\" (\"Key\", \"Value\", \"ExpiresAt\") VALUES ({key}, NULL, {until}) ON CONFLICT(\"Key\") DO UPDATE SET \"ExpiresAt\" = excluded.\"ExpiresAt\" WHERE \"IgiaSmartSingleUse\".\"ExpiresAt\" <= {now}",
            cancellationToken).ConfigureAwait(false);
        return affected == 1;
    }

    /// <summary>Resolves and burns a value; null when unknown, expired or already taken (by this or another instance).</summary>
    public async ValueTask<string?> TakeAsync(string kind, string handle, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SmartAuthorizationDbContext>();
        var key = Key(kind, handle);
        var row = await db.Set<SingleUseEntry>().AsNoTracking().FirstOrDefaultAsync(e => e.Key == key, cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var deleted = await db.Set<SingleUseEntry>().Where(e => e.Key == key && e.ExpiresAt > now).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        return deleted == 1 ? row.Value : null;
    }

    private async ValueTask PurgeAsync(SmartAuthorizationDbContext db, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var next = Interlocked.Read(ref _nextPurge);
        if (now.UtcTicks < next || Interlocked.CompareExchange(ref _nextPurge, (now + PurgeInterval).UtcTicks, next) != next)
        {
            return;
        }

        var cutoff = now.ToUnixTimeMilliseconds();
        await db.Set<SingleUseEntry>().Where(e => e.ExpiresAt <= cutoff).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string Key(string kind, string handle) => kind + ":" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(handle)));
}

/// <summary>Default <see cref="ISmartLaunchContexts"/>: in the authorization server's database (shared by every instance on it).</summary>
internal sealed class DatabaseLaunchContexts(SingleUseStore store, TimeProvider time, Microsoft.Extensions.Options.IOptions<SmartAuthorizationServerOptions> options) : ISmartLaunchContexts
{
    public async ValueTask<string> CreateAsync(SmartLaunchContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var handle = SmartAuthzDefaults.NewHandle();
        await store.AddAsync("launch", handle, JsonSerializer.Serialize(context), time.GetUtcNow() + options.Value.LaunchLifetime, cancellationToken).ConfigureAwait(false);
        return handle;
    }

    public async ValueTask<SmartLaunchContext?> TakeAsync(string launch, CancellationToken cancellationToken) =>
        await store.TakeAsync("launch", launch, cancellationToken).ConfigureAwait(false) is { } json ? JsonSerializer.Deserialize<SmartLaunchContext>(json) : null;
}

/// <summary>Default <see cref="ISmartPatientSelections"/>: in the authorization server's database, 10 minutes, single use.</summary>
internal sealed class DatabasePatientSelections(SingleUseStore store, TimeProvider time) : ISmartPatientSelections
{
    public async ValueTask<string> CreateAsync(string username, string patientId, CancellationToken cancellationToken)
    {
        var handle = SmartAuthzDefaults.NewHandle();
        await store.AddAsync("pick", handle, JsonSerializer.Serialize(new[] { username, patientId }), time.GetUtcNow().AddMinutes(10), cancellationToken).ConfigureAwait(false);
        return handle;
    }

    public async ValueTask<string?> TakeAsync(string selection, string username, CancellationToken cancellationToken) =>
        await store.TakeAsync("pick", selection, cancellationToken).ConfigureAwait(false) is { } json
            && JsonSerializer.Deserialize<string[]>(json) is [var user, var patient] && string.Equals(user, username, StringComparison.Ordinal)
            ? patient
            : null;
}

/// <summary>Backend Services <c>jti</c> replay cache: each (client, jti) accepted once until the assertion expires, across instances.</summary>
internal sealed class JtiReplayCache(SingleUseStore store)
{
    public ValueTask<bool> TryUseAsync(string clientId, string jti, DateTimeOffset expires, CancellationToken cancellationToken) =>
        store.TryAddNewAsync("jti", clientId + "\n" + jti, expires, cancellationToken);
}
