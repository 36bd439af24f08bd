using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Igia.Fhir.Storage.Sqlite;

/// <summary>
/// The prepared statements of one (pooled) SQLite connection, keyed by SQL text and reused by every request that runs the
/// same SQL on that connection with new parameter values. Microsoft.Data.Sqlite prepares a statement again for every new
/// <see cref="SqliteCommand"/> (and a pooled connection closes the commands of its previous user), and preparing cost about
/// as much as running a point read or an indexed search. Keyed weakly by the native handle, so a cache goes when its
/// connection goes; <see cref="Release"/> finalizes the statements before the store closes a connection, so closing it
/// closes it for real. SQLite re-prepares a cached statement by itself when the schema changes (sqlite3_prepare_v3).
/// </summary>
internal sealed class SqliteStatementCache : IDisposable
{
    /// <summary>Most statements kept per connection; the least recently used one is finalized beyond it.</summary>
    internal const int Capacity = 64;

    private static readonly ConditionalWeakTable<sqlite3, SqliteStatementCache> Caches = new();

    private readonly sqlite3 _db;
    private readonly Dictionary<string, SqliteCachedStatement> _statements = new(StringComparer.Ordinal);
    private long _clock;
    private bool _disposed;

    private SqliteStatementCache(sqlite3 db)
    {
        _db = db;
    }

    /// <summary>How many statements are cached (for tests).</summary>
    internal int Count => _statements.Count;

    /// <summary>The cache of an open connection (a connection is used by one request at a time, so it needs no lock).</summary>
    public static SqliteStatementCache For(SqliteConnection connection)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        if (!Caches.TryGetValue(db, out var cache))
        {
            cache = new SqliteStatementCache(db);
            Caches.AddOrUpdate(db, cache);
        }

        return cache;
    }

    /// <summary>Runs <paramref name="sql"/> (one statement without parameters, e.g. BEGIN or SAVEPOINT) on the connection's cached statement.</summary>
    public static void Execute(SqliteConnection connection, string sql)
    {
        using var statement = For(connection).Rent(sql);
        statement.Execute();
    }

    /// <summary>
    /// A prepared statement for <paramref name="sql"/> (one SQL statement), with no bindings; dispose it to give it back
    /// (reset, bindings cleared). A statement already in use (a nested call with the same SQL) is served by a fresh one.
    /// </summary>
    public SqliteCachedStatement Rent(string sql)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_statements.TryGetValue(sql, out var cached))
        {
            if (!cached.InUse && !cached.Handle.IsInvalid)
            {
                cached.InUse = true;
                cached.LastUsed = ++_clock;
                return cached;
            }

            if (cached.InUse)
            {
                return new SqliteCachedStatement(this, _db, Prepare(sql, persistent: false), cached: false) { InUse = true };
            }

            _statements.Remove(sql);
            cached.Handle.Dispose();
        }

        if (_statements.Count >= Capacity)
        {
            Evict();
        }

        var statement = new SqliteCachedStatement(this, _db, Prepare(sql, persistent: true), cached: true) { InUse = true, LastUsed = ++_clock };
        _statements[sql] = statement;
        return statement;
    }

    private void Evict()
    {
        string? oldest = null;
        var oldestUse = long.MaxValue;
        foreach (var (sql, statement) in _statements)
        {
            if (!statement.InUse && statement.LastUsed < oldestUse)
            {
                oldest = sql;
                oldestUse = statement.LastUsed;
            }
        }

        if (oldest is not null && _statements.Remove(oldest, out var evicted))
        {
            evicted.Handle.Dispose();
        }
    }

    private sqlite3_stmt Prepare(string sql, bool persistent)
    {
        var flags = persistent ? raw.SQLITE_PREPARE_PERSISTENT : 0u;
        var rc = raw.sqlite3_prepare_v3(_db, sql, flags, out var statement, out var tail);
        if (SqliteCachedStatement.IsBusy(rc))
        {
            // Like SqliteCommand, preparing (which may read the schema) is retried while SQLite answers BUSY or LOCKED.
            rc = SqliteCachedStatement.RetryWhileBusy(() =>
            {
                statement?.Dispose();
                return raw.sqlite3_prepare_v3(_db, sql, flags, out statement, out tail);
            });
        }

        if (rc != raw.SQLITE_OK)
        {
            statement?.Dispose();
            SqliteException.ThrowExceptionForRC(rc, _db);
        }

        if (statement is null)
        {
            throw new ArgumentException("The SQL holds no statement.", nameof(sql));
        }

        if (!string.IsNullOrWhiteSpace(tail))
        {
            statement.Dispose();
            throw new ArgumentException("The statement cache takes one SQL statement at a time.", nameof(sql));
        }

        return statement;
    }

    /// <summary>Finalizes the cached statements of a connection that is about to close (nothing runs on it any more).</summary>
    public static void Release(sqlite3 db)
    {
        if (Caches.TryGetValue(db, out var cache))
        {
            Caches.Remove(db);
            cache.Dispose();
        }
    }

    /// <summary>Finalizes the cached statements.</summary>
    public void Dispose()
    {
        _disposed = true;
        foreach (var statement in _statements.Values)
        {
            statement.Handle.Dispose();
        }

        _statements.Clear();
    }

    /// <summary>Called by a statement when its user is done with it.</summary>
    internal void Return(SqliteCachedStatement statement)
    {
        statement.Reset();
        statement.InUse = false;
        if (!statement.IsCached || _disposed)
        {
            statement.Handle.Dispose();
        }
    }
}

/// <summary>A statement rented from a <see cref="SqliteStatementCache"/>: bind, step, read columns, dispose.</summary>
internal sealed class SqliteCachedStatement : IDisposable
{
    private readonly SqliteStatementCache _cache;
    private readonly sqlite3 _db;

    internal SqliteCachedStatement(SqliteStatementCache cache, sqlite3 db, sqlite3_stmt handle, bool cached)
    {
        _cache = cache;
        _db = db;
        Handle = handle;
        IsCached = cached;
    }

    internal sqlite3_stmt Handle { get; }

    internal bool IsCached { get; }

    internal bool InUse { get; set; }

    internal long LastUsed { get; set; }

    /// <summary>Binds a named parameter (<c>$name</c>): null, string, long, int, double or byte[].</summary>
    public SqliteCachedStatement Bind(string name, object? value)
    {
        var index = raw.sqlite3_bind_parameter_index(Handle, name);
        if (index == 0)
        {
            throw new InvalidOperationException($"The statement has no parameter {name}.");
        }

        Bind(index, name, value);
        return this;
    }

    /// <summary>
    /// Binds every parameter of a command (used as a parameter bag by the SQL builder) that the statement uses; as with
    /// <see cref="SqliteCommand"/>, a parameter the SQL does not name is ignored (the builder may make one for a branch it then drops).
    /// </summary>
    public SqliteCachedStatement Bind(SqliteParameterCollection parameters)
    {
        foreach (SqliteParameter parameter in parameters)
        {
            var index = raw.sqlite3_bind_parameter_index(Handle, parameter.ParameterName);
            if (index != 0)
            {
                Bind(index, parameter.ParameterName, parameter.Value);
            }
        }

        return this;
    }

    /// <summary>Binds positional parameter <paramref name="index"/> (1-based): null, string, long, int, double or byte[].</summary>
    public SqliteCachedStatement Bind(int index, object? value)
    {
        Bind(index, null, value);
        return this;
    }

    /// <summary>Binds positional parameter <paramref name="index"/> (1-based) to an integer.</summary>
    public SqliteCachedStatement Bind(int index, long value)
    {
        var rc = raw.sqlite3_bind_int64(Handle, index, value);
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }

        return this;
    }

    private void Bind(int index, string? name, object? value)
    {
        var rc = value switch
        {
            null or DBNull => raw.sqlite3_bind_null(Handle, index),
            string s => raw.sqlite3_bind_text(Handle, index, s),
            long l => raw.sqlite3_bind_int64(Handle, index, l),
            int i => raw.sqlite3_bind_int64(Handle, index, i),
            double d => raw.sqlite3_bind_double(Handle, index, d),
            byte[] b => raw.sqlite3_bind_blob(Handle, index, b),
            _ => throw new NotSupportedException($"Parameter {name ?? "?" + index}: values of type {value.GetType().Name} are not bound by the statement cache."),
        };
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }

    /// <summary>How long BUSY/LOCKED answers are retried (as SqliteCommand's default command timeout).</summary>
    internal static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Whether SQLite answered BUSY or LOCKED.</summary>
    internal static bool IsBusy(int rc) => rc is raw.SQLITE_BUSY or raw.SQLITE_LOCKED;

    /// <summary>
    /// After a BUSY or LOCKED answer: waits a little (growing up to 150 ms, as SqliteCommand does) and calls
    /// <paramref name="again"/> until it answers otherwise or <see cref="BusyTimeout"/> has passed; returns its last answer.
    /// </summary>
    internal static int RetryWhileBusy(Func<int> again)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        int rc;
        do
        {
            Thread.Sleep(Math.Min(150, 1 + (int)waited.ElapsedMilliseconds));
            rc = again();
        }
        while (IsBusy(rc) && waited.Elapsed < BusyTimeout);
        return rc;
    }

    /// <summary>True once the statement returned a row since it was last reset.</summary>
    private bool _started;

    /// <summary>Steps to the next row; false when there is none.</summary>
    /// <remarks>
    /// Like <see cref="SqliteCommand"/>, the first step is retried while SQLite answers BUSY or LOCKED in the cases its busy
    /// handler does not cover (e.g. a WAL reader meeting a checkpoint's restart), up to <see cref="BusyTimeout"/>.
    /// </remarks>
    public bool Step()
    {
        var rc = raw.sqlite3_step(Handle);
        if (!_started && IsBusy(rc))
        {
            rc = RetryWhileBusy(() =>
            {
                raw.sqlite3_reset(Handle);
                return raw.sqlite3_step(Handle);
            });
        }

        if (rc == raw.SQLITE_ROW)
        {
            _started = true;
            return true;
        }

        if (rc == raw.SQLITE_DONE)
        {
            return false;
        }

        SqliteException.ThrowExceptionForRC(rc, _db);
        return false;
    }

    /// <summary>Resets the statement and clears its bindings, to run it again with new values.</summary>
    public void Reset()
    {
        raw.sqlite3_reset(Handle);
        raw.sqlite3_clear_bindings(Handle);
        _started = false;
    }

    /// <summary>Runs a statement that returns no rows (or whose rows are ignored).</summary>
    public void Execute()
    {
        while (Step())
        {
        }
    }

    /// <summary>True when column <paramref name="i"/> of the current row is NULL.</summary>
    public bool IsNull(int i) => raw.sqlite3_column_type(Handle, i) == raw.SQLITE_NULL;

    /// <summary>Column <paramref name="i"/> as an integer.</summary>
    public long GetInt64(int i) => raw.sqlite3_column_int64(Handle, i);

    /// <summary>Column <paramref name="i"/> as an integer.</summary>
    public int GetInt32(int i) => raw.sqlite3_column_int(Handle, i);

    /// <summary>Column <paramref name="i"/> as text (null for NULL).</summary>
    public string? GetString(int i)
    {
        if (IsNull(i))
        {
            return null;
        }

        var bytes = raw.sqlite3_column_blob(Handle, i);
        return bytes.IsEmpty ? string.Empty : Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Resets the statement and gives it back to its cache.</summary>
    public void Dispose() => _cache.Return(this);
}
