using System.Collections.Concurrent;
using Hl7.Fhir.Model;
using Igia.Fhir.Storage.Sqlite;
using Igia.Fhir.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Igia.Fhir.Tests.Storage;

/// <summary>
/// The store's own set of open SQLite connections (used instead of Microsoft.Data.Sqlite's pooling, which can lend one
/// connection to two owners under concurrent opens): one owner at a time, nothing kept inside a transaction, bounded, and
/// closed with the store without disturbing any other store in the process.
/// </summary>
public sealed class SqliteConnectionSetTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "igia-tests", "set-" + Guid.NewGuid().ToString("N"));
    private int _configured;

    public SqliteConnectionSetTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private SqliteConnectionSet NewSet(int maxIdle = 32) => new(
        new SqliteConnectionStringBuilder { DataSource = Path.Combine(_folder, "t.db") }.ToString(),
        async (connection, ct) =>
        {
            Interlocked.Increment(ref _configured);
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS t(n INTEGER);";
            await cmd.ExecuteNonQueryAsync(ct);
        },
        maxIdle);

    [Fact]
    public async System.Threading.Tasks.Task ConcurrentRenters_NeverShareAConnection()
    {
        using var set = NewSet(maxIdle: 4);
        var owned = new ConcurrentDictionary<SQLitePCL.sqlite3, int>();
        var shared = 0;
        var tasks = Enumerable.Range(0, 16).Select(worker => System.Threading.Tasks.Task.Run(async () =>
        {
            for (var i = 0; i < 300; i++)
            {
                var connection = await set.RentAsync(CancellationToken.None);
                var handle = connection.Handle!;
                if (!owned.TryAdd(handle, worker))
                {
                    Interlocked.Increment(ref shared);
                }

                await System.Threading.Tasks.Task.Yield();
                owned.TryRemove(handle, out _);
                set.Return(connection);
            }
        }));
        await System.Threading.Tasks.Task.WhenAll(tasks);

        Assert.Equal(0, shared);
        Assert.InRange(set.IdleCount, 1, 4);
    }

    [Fact]
    public async System.Threading.Tasks.Task AReturnedConnection_IsReused_AndConfiguredOnlyOnce()
    {
        using var set = NewSet();
        var first = await set.RentAsync(CancellationToken.None);
        set.Return(first);
        var second = await set.RentAsync(CancellationToken.None);

        Assert.Same(first, second);
        Assert.Equal(1, _configured);
        set.Return(second);
    }

    [Fact]
    public async System.Threading.Tasks.Task AConnectionInsideATransaction_IsClosedNotKept()
    {
        using var set = NewSet();
        var connection = await set.RentAsync(CancellationToken.None);
        using (var begin = connection.CreateCommand())
        {
            begin.CommandText = "BEGIN; INSERT INTO t VALUES (1);";
            begin.ExecuteNonQuery();
        }

        set.Return(connection);

        Assert.Equal(System.Data.ConnectionState.Closed, connection.State);
        Assert.Equal(0, set.IdleCount);
        var next = await set.RentAsync(CancellationToken.None);
        Assert.NotSame(connection, next);
        using var count = next.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM t";
        Assert.Equal(0L, (long)count.ExecuteScalar()!);
        set.Return(next);
    }

    [Fact]
    public async System.Threading.Tasks.Task AfterDispose_IdleAndLaterReturnedConnectionsAreClosed_AndRentingIsRefused()
    {
        var set = NewSet();
        var idle = await set.RentAsync(CancellationToken.None);
        var busy = await set.RentAsync(CancellationToken.None);
        set.Return(idle);

        set.Dispose();
        Assert.Equal(System.Data.ConnectionState.Closed, idle.State);
        set.Return(busy);
        Assert.Equal(System.Data.ConnectionState.Closed, busy.State);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await set.RentAsync(CancellationToken.None));
    }

    [Fact]
    public async System.Threading.Tasks.Task DisposingOneStore_WhileAnotherServesRequests_CausesNoErrors()
    {
        await using var busy = await FhirTestHost.StartAsync();
        var patient = await busy.CreateAsync(new Patient { Active = true });
        using var stop = new CancellationTokenSource();
        var failures = new ConcurrentQueue<string>();
        var readers = Enumerable.Range(0, 4).Select(_ => System.Threading.Tasks.Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var read = await busy.Client.GetAsync($"Patient/{patient.Id}");
                using var history = await busy.Client.GetAsync("_history");
                if (!read.IsSuccessStatusCode || !history.IsSuccessStatusCode)
                {
                    failures.Enqueue($"{(int)read.StatusCode}/{(int)history.StatusCode}");
                }
            }
        })).ToList();

        for (var i = 0; i < 6; i++)
        {
            await using var other = await FhirTestHost.StartAsync();
            await other.CreateAsync(new Patient { Active = false });
        }

        await stop.CancelAsync();
        await System.Threading.Tasks.Task.WhenAll(readers);
        Assert.Empty(failures);
    }
}
