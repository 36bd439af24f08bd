using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Igia.Fhir.Storage.Sqlite;

/// <summary>
/// The open connections to one SQLite file, reused by one session after another. Hand-written instead of Microsoft.Data.Sqlite's
/// connection pooling: under concurrent opens that pool can lend one native connection to two owners at once (dotnet/efcore#39008,
/// open in 10.0.x: a connection being activated looks "leaked" to a concurrent open, which reclaims and lends it again), which
/// showed here as rare 500s ("cannot start a transaction within a transaction") on a loaded machine. Connections are opened with
/// <c>Pooling=False</c>, configured once, and kept open here; one is taken back only when it is open and outside a transaction.
/// </summary>
internal sealed class SqliteConnectionSet : IDisposable
{
    private readonly string _connectionString;
    private readonly Func<SqliteConnection, CancellationToken, Task> _configure;
    private readonly int _maxIdle;
    private readonly ConcurrentStack<SqliteConnection> _idle = new();
    private int _idleCount;
    private volatile bool _disposed;

    /// <param name="connectionString">The file's connection string (its Pooling setting is replaced by <c>False</c>).</param>
    /// <param name="configure">Runs once on each newly opened connection (pragmas, side tables).</param>
    /// <param name="maxIdle">Most connections kept open while idle; more are closed when given back.</param>
    public SqliteConnectionSet(string connectionString, Func<SqliteConnection, CancellationToken, Task> configure, int maxIdle = 32)
    {
        _connectionString = new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString();
        _configure = configure;
        _maxIdle = maxIdle;
    }

    /// <summary>How many connections are open and idle (for tests).</summary>
    internal int IdleCount => Volatile.Read(ref _idleCount);

    /// <summary>An open, configured connection for the caller alone; give it back with <see cref="Return"/>.</summary>
    public async ValueTask<SqliteConnection> RentAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryPop(out var idle))
        {
            Interlocked.Decrement(ref _idleCount);
            return idle;
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await _configure(connection, cancellationToken);
            return connection;
        }
        catch
        {
            Close(connection);
            throw;
        }
    }

    /// <summary>A rented connection as an <see cref="IAsyncDisposable"/> that gives it back.</summary>
    public async ValueTask<Lease> LeaseAsync(CancellationToken cancellationToken) => new(this, await RentAsync(cancellationToken));

    /// <summary>Takes a rented connection back: kept for the next caller when it is open and outside a transaction, else closed.</summary>
    public void Return(SqliteConnection connection)
    {
        if (!_disposed
            && connection.State == System.Data.ConnectionState.Open
            && connection.Handle is { } db
            && SQLitePCL.raw.sqlite3_get_autocommit(db) != 0)
        {
            if (Interlocked.Increment(ref _idleCount) <= _maxIdle)
            {
                _idle.Push(connection);
                if (_disposed)
                {
                    // Disposed meanwhile: make sure nothing stays open.
                    CloseIdle();
                }

                return;
            }

            Interlocked.Decrement(ref _idleCount);
        }

        Close(connection);
    }

    /// <summary>Closes every idle connection; rented ones are closed when given back.</summary>
    public void Dispose()
    {
        _disposed = true;
        CloseIdle();
    }

    private void CloseIdle()
    {
        while (_idle.TryPop(out var connection))
        {
            Interlocked.Decrement(ref _idleCount);
            Close(connection);
        }
    }

    /// <summary>Closes a rented connection instead of giving it back (e.g. after a failure left it in doubt).</summary>
    public static void Discard(SqliteConnection connection) => Close(connection);

    /// <summary>Finalizes the statements this store prepared on the connection, then closes it for real.</summary>
    private static void Close(SqliteConnection connection)
    {
        if (connection.Handle is { } db)
        {
            SqliteStatementCache.Release(db);
        }

        connection.Dispose();
    }

    /// <summary>A rented connection; disposing it gives the connection back to its set.</summary>
    public readonly struct Lease(SqliteConnectionSet set, SqliteConnection connection) : IAsyncDisposable
    {
        /// <summary>The rented connection.</summary>
        public SqliteConnection Connection { get; } = connection;

        /// <summary>Gives the connection back.</summary>
        public ValueTask DisposeAsync()
        {
            set.Return(Connection);
            return ValueTask.CompletedTask;
        }
    }
}
