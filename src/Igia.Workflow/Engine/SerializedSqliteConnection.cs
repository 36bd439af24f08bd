using Microsoft.Data.Sqlite;

namespace Igia.Workflow.Engine;

/// <summary>
/// A pooled SQLite connection whose open and close never overlap another one's in this process. Microsoft.Data.Sqlite's pool
/// can lend one native connection to two owners when opens and closes race (dotnet/efcore#39008, open in 10.0.x: a connection
/// being activated or handed back looks "leaked" for an instant, and a concurrent open reclaims and lends it again). Turning
/// pooling off avoids that but made every workflow database call open the file and set its pragmas again, which multiplied
/// notification latency (264 ms → 1.6 s p50 in the workflow benchmark); serialising the pool's hand-out and take-back, which
/// take microseconds, keeps pooling and removes the race. Hand-written because no released Microsoft.Data.Sqlite fixes it.
/// </summary>
internal class SerializedSqliteConnection(string? connectionString) : SqliteConnection(connectionString)
{
    private static readonly Lock PoolGate = new();

    /// <summary>
    /// The per-connection settings every workflow SQLite connection (the engine's and Quartz's) runs after opening: SQLite's
    /// own busy handler (not Microsoft.Data.Sqlite's 150 ms sleep-and-retry) and <c>synchronous=NORMAL</c> (safe in WAL).
    /// </summary>
    internal const string ConnectionPragmas = "PRAGMA busy_timeout=30000; PRAGMA synchronous=NORMAL;";

    /// <summary>
    /// <see cref="SqliteConnection.ClearAllPools"/> under the same gate: clearing reclaims "leaked" connections too, so it
    /// races with opens and closes the same way (for hosts, such as tests, that clear pools while others run).
    /// </summary>
    public static void ClearAllPoolsSerialized()
    {
        lock (PoolGate)
        {
            SqliteConnection.ClearAllPools();
        }
    }

    /// <summary>Opens the connection (taking it from the pool) while no other connection of this kind is opened or closed.</summary>
    public override void Open()
    {
        lock (PoolGate)
        {
            base.Open();
        }
    }

    /// <summary>Opens the connection; SQLite opens synchronously, so this is <see cref="Open"/>.</summary>
    public override Task OpenAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Open();
        return Task.CompletedTask;
    }

    /// <summary>Closes the connection (giving it back to the pool) while no other connection of this kind is opened or closed.</summary>
    public override void Close()
    {
        lock (PoolGate)
        {
            base.Close();
        }
    }
}
