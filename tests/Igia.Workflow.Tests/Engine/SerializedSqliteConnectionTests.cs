using System.Collections.Concurrent;
using Igia.Workflow.Engine;
using Microsoft.Data.Sqlite;

namespace Igia.Workflow.Tests.Engine;

/// <summary>The workflow's pooled SQLite connections: concurrent opens and closes never give one native connection to two owners.</summary>
public sealed class SerializedSqliteConnectionTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "igia-tests", "serialized-" + Guid.NewGuid().ToString("N"));

    public SerializedSqliteConnectionTests() => Directory.CreateDirectory(_folder);

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

    [Fact]
    public async Task ConcurrentOpensAndCloses_NeverShareANativeConnection_AndTransactionsStayIndependent()
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = Path.Combine(_folder, "w.db"), Pooling = true, DefaultTimeout = 30 }.ToString();
        await using (var setup = new SerializedSqliteConnection(connectionString))
        {
            await setup.OpenAsync();
            await using var cmd = setup.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE t(n INTEGER);";
            await cmd.ExecuteNonQueryAsync();
        }

        var owners = new ConcurrentDictionary<SQLitePCL.sqlite3, int>();
        var shared = 0;
        var failures = new ConcurrentQueue<string>();
        var workers = Enumerable.Range(0, 12).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
            {
                await using var connection = new SerializedSqliteConnection(connectionString);
                await connection.OpenAsync();
                var handle = connection.Handle!;
                if (!owners.TryAdd(handle, worker))
                {
                    Interlocked.Increment(ref shared);
                }

                try
                {
                    // A read transaction of its own: would fail ("within a transaction") on a connection another owner holds.
                    await using var tx = connection.BeginTransaction(deferred: true);
                    await using var read = connection.CreateCommand();
                    read.Transaction = tx;
                    read.CommandText = "SELECT COUNT(*) FROM t";
                    await read.ExecuteScalarAsync();
                    await tx.CommitAsync();
                }
                catch (SqliteException e)
                {
                    failures.Enqueue(e.Message);
                }
                finally
                {
                    owners.TryRemove(handle, out _);
                }
            }
        }));
        await Task.WhenAll(workers);

        Assert.Equal(0, shared);
        Assert.Empty(failures);
        SqliteConnection.ClearPool(new SqliteConnection(connectionString));
    }
}
