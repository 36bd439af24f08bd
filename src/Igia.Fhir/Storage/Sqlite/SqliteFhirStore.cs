using System.Runtime.CompilerServices;
using Igia.Fhir.Search;
using Microsoft.Data.Sqlite;

namespace Igia.Fhir.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode. Readers run concurrently on pooled connections;
/// writers are serialised in-process (SQLite allows one writer) on one connection, each session a savepoint of a
/// <c>BEGIN IMMEDIATE</c> transaction shared by the writers that queue up meanwhile (group commit).
/// </summary>
internal sealed class SqliteFhirStore : IFhirStore, IFhirChangeFeed, IDisposable
{
    private readonly SqliteConnectionSet _connections;
    private readonly SemaphoreSlim _writerGate = new(1, 1);

    public SqliteFhirStore(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        _connections = new SqliteConnectionSet(
            new SqliteConnectionStringBuilder
            {
                DataSource = full,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Cache = SqliteCacheMode.Private,
                DefaultTimeout = 30,
            }.ToString(),
            ConfigureAsync);
        DatabasePath = full;
    }

    /// <summary>The database file.</summary>
    public string DatabasePath { get; }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var lease = await _connections.LeaseAsync(cancellationToken);
        var connection = lease.Connection;
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await SqliteSchema.MigrateAsync(connection, tx, cancellationToken);
        await using (var feed = connection.CreateCommand())
        {
            // The change feed (IFhirChangeFeed): a trigger appends every version to change_log in the writing transaction.
            feed.Transaction = tx;
            feed.CommandText = """
                CREATE TABLE IF NOT EXISTS change_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, rid INTEGER NOT NULL, version INTEGER NOT NULL);
                CREATE TRIGGER IF NOT EXISTS trg_change_log AFTER INSERT ON resource_version
                BEGIN INSERT INTO change_log(rid, version) VALUES (NEW.rid, NEW.version); END;
                """;
            await feed.ExecuteNonQueryAsync(cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<FhirChange>> ReadChangesAsync(long afterSequence, int max, CancellationToken cancellationToken)
    {
        await using var lease = await _connections.LeaseAsync(cancellationToken);
        await using var cmd = lease.Connection.CreateCommand();
        cmd.CommandText = """
            SELECT c.seq, v.type, v.id, v.version, v.last_updated, v.method, v.json FROM change_log c
            JOIN resource_version v ON v.rid = c.rid AND v.version = c.version
            WHERE c.seq > $after ORDER BY c.seq LIMIT $max
            """;
        cmd.Parameters.AddWithValue("$after", afterSequence);
        cmd.Parameters.AddWithValue("$max", max);
        var changes = new List<FhirChange>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var json = reader.IsDBNull(6) ? null : reader.GetString(6);
            changes.Add(new FhirChange(reader.GetInt64(0), new StoredResource(reader.GetString(1), reader.GetString(2), reader.GetInt32(3), SqliteTime.FromTicks(reader.GetInt64(4)), json is null, reader.GetString(5), json)));
        }

        return changes;
    }

    public async Task<long> GetLastSequenceAsync(CancellationToken cancellationToken)
    {
        await using var lease = await _connections.LeaseAsync(cancellationToken);
        await using var cmd = lease.Connection.CreateCommand();
        cmd.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM change_log";
        return (long)(await cmd.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<int> TrimChangesAsync(long upToSequence, CancellationToken cancellationToken)
    {
        // A write session (a turn of the group commit: SQLite has one writer). The newest entry is kept, so that
        // GetLastSequenceAsync stays right; AUTOINCREMENT never reuses a trimmed sequence.
        await using var session = (SqliteFhirStoreSession)await OpenSessionAsync(FhirSessionMode.Write, cancellationToken);
        await using var cmd = session.Connection.CreateCommand();
        cmd.Transaction = session.Transaction;
        cmd.CommandText = "DELETE FROM change_log WHERE seq <= $upTo AND seq < (SELECT MAX(seq) FROM change_log)";
        cmd.Parameters.AddWithValue("$upTo", upToSequence);
        var deleted = await cmd.ExecuteNonQueryAsync(cancellationToken);
        await session.CommitAsync(cancellationToken);
        return deleted;
    }

    public async Task<IFhirStoreSession> OpenSessionAsync(FhirSessionMode mode, CancellationToken cancellationToken)
    {
        if (mode == FhirSessionMode.Write)
        {
            return await OpenWriteSessionAsync(cancellationToken);
        }

        SqliteConnection? connection = null;
        try
        {
            connection = await _connections.RentAsync(cancellationToken);

            // A read session is a deferred transaction (one snapshot for all its statements), begun and ended on cached
            // statements rather than a SqliteTransaction, which prepares BEGIN and COMMIT again each time.
            SqliteStatementCache.Execute(connection, "BEGIN DEFERRED");

            return new SqliteFhirStoreSession(connection, null, null, _connections);
        }
        catch
        {
            if (connection is not null)
            {
                SqliteConnectionSet.Discard(connection);
            }

            throw;
        }
    }

    // ---- group commit ---------------------------------------------------------------------------------------------
    // Writers take turns (SQLite has one writer) on one long-lived connection. Each write session is a SAVEPOINT inside
    // a shared BEGIN IMMEDIATE transaction, and the COMMIT is made by the session that ends when no other writer is
    // waiting (or when MaxGroup sessions have joined): under concurrent writes, one COMMIT (the costly part of a small
    // write: the WAL pages) serves many of them. A session's CommitAsync returns only once that COMMIT is done, so
    // nothing is acknowledged before it is durable, and a session that fails rolls back to its savepoint alone.
    // Hand-written: Microsoft.Data.Sqlite has no group commit.

    /// <summary>Most write sessions that share one SQLite transaction.</summary>
    internal const int MaxGroup = 32;

    private SqliteConnection? _writer;
    private SqliteTransaction? _group;
    private TaskCompletionSource? _groupCommitted;
    private int _groupMembers;
    private bool _groupBroken;
    private int _waitingWriters;

    private async Task<IFhirStoreSession> OpenWriteSessionAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _waitingWriters);
        try
        {
            // Not cancellable: a writer that ends its session leaves the group open when it sees others waiting, and
            // relies on one of them to commit it; so every waiter must come through and end its turn.
            await _writerGate.WaitAsync(CancellationToken.None);
        }
        finally
        {
            Interlocked.Decrement(ref _waitingWriters);
        }

        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            _writer ??= await _connections.RentAsync(CancellationToken.None);
            if (_group is null)
            {
                _group = _writer.BeginTransaction(deferred: false);
                _groupCommitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _groupBroken = false;
            }

            SqliteStatementCache.Execute(_writer!, "SAVEPOINT igia_write");
            return new SqliteFhirStoreSession(_writer, _group, this);
        }
        catch (Exception e)
        {
            // A savepoint that could not be set leaves the transaction in doubt; a cancelled turn does not.
            _groupBroken |= _group is not null && e is not OperationCanceledException;
            await EndTurnAsync();
            throw;
        }
    }

    /// <summary>Ends a write session's turn: keeps (RELEASE) or drops (ROLLBACK TO) its savepoint; then commits the group or leaves it to the next writer.</summary>
    internal async Task EndSessionAsync(bool keep)
    {
        Exception? failure = null;
        try
        {
            if (keep)
            {
                SqliteStatementCache.Execute(_writer!, "RELEASE igia_write");
            }
            else
            {
                SqliteStatementCache.Execute(_writer!, "ROLLBACK TO igia_write");
                SqliteStatementCache.Execute(_writer!, "RELEASE igia_write");
            }
        }
        catch (SqliteException e)
        {
            // The failure took the whole transaction with it (e.g. SQLITE_FULL): the group cannot commit.
            _groupBroken = true;
            failure = keep ? e : null;
        }

        var committed = _groupCommitted!.Task;
        await EndTurnAsync();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        if (keep)
        {
            await committed;
        }
    }

    private async Task EndTurnAsync()
    {
        try
        {
            if (_group is not null)
            {
                _groupMembers++;
                if (_groupMembers >= MaxGroup || Volatile.Read(ref _waitingWriters) == 0 || _groupBroken)
                {
                    await FinishGroupAsync();
                }
            }
        }
        finally
        {
            _writerGate.Release();
        }
    }

    private async Task FinishGroupAsync()
    {
        var group = _group!;
        var committed = _groupCommitted!;
        var broken = _groupBroken;
        _group = null;
        _groupCommitted = null;
        _groupMembers = 0;
        _groupBroken = false;
        try
        {
            if (broken)
            {
                throw new InvalidOperationException("A write in the same store transaction failed in a way that aborted the transaction.");
            }

            await group.CommitAsync();
            committed.SetResult();
        }
        catch (Exception e)
        {
            committed.SetException(e);
            try
            {
                await group.RollbackAsync();
            }
            catch (Exception rollback) when (rollback is SqliteException or InvalidOperationException)
            {
                // Already rolled back by SQLite.
            }

            // Start the next group on a fresh connection.
            if (_writer is not null)
            {
                SqliteConnectionSet.Discard(_writer);
            }

            _writer = null;
        }
        finally
        {
            await group.DisposeAsync();
        }
    }

    /// <summary>Sets the per-connection pragmas, once for each connection the store opens.</summary>
    private static async Task ConfigureAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        using var pragma = connection.CreateCommand();
        // mmap: reads of hot pages without a copy through read(2) (measured in the load run's breakdown: about half the CPU of a read query).
        // synchronous=FULL: every COMMIT syncs the WAL to disk before it returns, so a write acknowledged to a client survives
        // a power loss or OS crash. WAL with NORMAL (the usual speed setting, and this store's setting before) syncs only at
        // checkpoints, so the last commits can vanish after power loss although the client was told 201/200: a clinical store
        // must not do that by default. Group commit (above) shares one sync among the writers that queue up meanwhile, which
        // is what keeps FULL affordable under concurrent writes.
        // temp_store=MEMORY: every write session is a SAVEPOINT, and SQLite keeps the original of each page a savepoint (or a
        // statement) changes in a sub-journal, which by default spills to a temp file past 64 KiB. A create changes ~25 pages,
        // so nearly every create wrote its sub-journal through the file system: ~100-130 µs of CPU per create (measured with
        // the store's group commit on the load run's 100k-resource file, 16 creates per COMMIT: write-rows CPU 414 → 278 µs).
        // Durability is unaffected (the sub-journal only serves ROLLBACK TO); temp b-trees of sorts move to memory too.
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000; PRAGMA mmap_size=1073741824; PRAGMA temp_store=MEMORY;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
    }

    public void Dispose()
    {
        _group?.Dispose();
        _group = null;
        _writerGate.Dispose();
        _connections.Dispose();
        if (_writer is not null)
        {
            SqliteConnectionSet.Discard(_writer);
        }

        _writer = null;
        SqliteSearchSnapshots.Release(DatabasePath);
    }
}

/// <summary>One SQLite transaction: a write session's savepoint in the group's transaction, or a read session's own deferred transaction.</summary>
internal sealed class SqliteFhirStoreSession(SqliteConnection connection, SqliteTransaction? transaction, SqliteFhirStore? writeGroup, SqliteConnectionSet? readConnections = null) : IFhirStoreSession
{
    private bool _done;

    public SqliteConnection Connection => connection;

    /// <summary>The write group's transaction (null for a read session, whose transaction is begun without one).</summary>
    public SqliteTransaction? Transaction => transaction;

    private const string ReadCurrentSql = """
        SELECT v.version, v.last_updated, v.method, v.json FROM resource r
        JOIN resource_version v ON v.rid = r.rid AND v.version = r.version
        WHERE r.type = $type AND r.id = $id
        """;

    private const string ReadVersionSql = """
        SELECT v.version, v.last_updated, v.method, v.json FROM resource r
        JOIN resource_version v ON v.rid = r.rid AND v.version = $version
        WHERE r.type = $type AND r.id = $id
        """;

    private const string FindSql = "SELECT rid, version FROM resource WHERE type = $type AND id = $id";

    private const string InsertResourceSql = "INSERT INTO resource(type, id, version, last_updated, deleted) VALUES ($type, $id, $version, $ts, $deleted) RETURNING rid";

    private const string UpdateResourceSql = "UPDATE resource SET version = $version, last_updated = $ts, deleted = $deleted WHERE rid = $rid";

    private const string InsertVersionSql = """
        INSERT INTO resource_version(rid, version, type, id, last_updated, method, json)
        VALUES ($rid, $version, $type, $id, $ts, $method, $json)
        """;

    // Point reads and writes run on statements prepared once per connection (SqliteStatementCache): preparing them per
    // request cost as much as running them. SQLite calls are synchronous whatever the API, so these are too.
    public Task<StoredResource?> ReadAsync(string resourceType, string id, int? versionId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var statement = SqliteStatementCache.For(connection).Rent(versionId is null ? ReadCurrentSql : ReadVersionSql);
        statement.Bind("$type", resourceType).Bind("$id", id);
        if (versionId is not null)
        {
            statement.Bind("$version", versionId.Value);
        }

        if (!statement.Step())
        {
            return Task.FromResult<StoredResource?>(null);
        }

        var json = statement.GetString(3);
        return Task.FromResult<StoredResource?>(new StoredResource(resourceType, id, statement.GetInt32(0), SqliteTime.FromTicks(statement.GetInt64(1)), json is null, statement.GetString(2)!, json));
    }

    public async Task WriteAsync(ResourceWrite write, CancellationToken cancellationToken)
    {
        if (writeGroup is null)
        {
            throw new InvalidOperationException("This store session was opened for reading.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var cache = SqliteStatementCache.For(connection);
        long rid;
        using (var find = cache.Rent(FindSql))
        {
            find.Bind("$type", write.ResourceType).Bind("$id", write.Id);
            if (find.Step())
            {
                rid = find.GetInt64(0);
                var current = find.GetInt32(1);
                if (write.VersionId != current + 1)
                {
                    throw new FhirVersionConflictException(write.ResourceType, write.Id, write.VersionId);
                }
            }
            else
            {
                if (write.VersionId != 1)
                {
                    throw new FhirVersionConflictException(write.ResourceType, write.Id, write.VersionId);
                }

                rid = 0;
            }
        }

        var ticks = SqliteTime.ToTicks(write.LastUpdated);
        if (rid == 0)
        {
            using var insert = cache.Rent(InsertResourceSql);
            insert.Bind("$type", write.ResourceType).Bind("$id", write.Id).Bind("$version", write.VersionId).Bind("$ts", ticks).Bind("$deleted", write.Deleted ? 1 : 0);
            if (!insert.Step())
            {
                throw new InvalidOperationException("INSERT … RETURNING gave no row.");
            }

            rid = insert.GetInt64(0);
            insert.Execute();
        }
        else
        {
            using var update = cache.Rent(UpdateResourceSql);
            update.Bind("$version", write.VersionId).Bind("$ts", ticks).Bind("$deleted", write.Deleted ? 1 : 0).Bind("$rid", rid).Execute();
        }

        using (var version = cache.Rent(InsertVersionSql))
        {
            version.Bind("$rid", rid).Bind("$version", write.VersionId).Bind("$type", write.ResourceType).Bind("$id", write.Id)
                .Bind("$ts", ticks).Bind("$method", write.Method).Bind("$json", write.Json).Execute();
        }

        await SqliteSearchIndex.ReplaceAsync(connection, rid, write.ResourceType, write.Index, cancellationToken);
    }

    public Task<StoreSearchResult> SearchAsync(SearchQuery query, CancellationToken cancellationToken) =>
        SqliteSearchIndex.SearchAsync(connection, query, cancellationToken);

    public async Task<HistoryResult> HistoryAsync(HistoryQuery query, CancellationToken cancellationToken)
    {
        var where = new List<string>();
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = transaction;
        if (query.ResourceType is not null)
        {
            where.Add("v.type = $type");
            cmd.Parameters.AddWithValue("$type", query.ResourceType);
        }

        if (query.Id is not null)
        {
            where.Add("v.id = $id");
            cmd.Parameters.AddWithValue("$id", query.Id);
        }

        if (query.Since is not null)
        {
            where.Add("v.last_updated >= $since");
            cmd.Parameters.AddWithValue("$since", SqliteTime.ToTicks(query.Since.Value));
        }

        if (query.Before is not null)
        {
            where.Add("v.last_updated <= $before");
            cmd.Parameters.AddWithValue("$before", SqliteTime.ToTicks(query.Before.Value));
        }

        if (query.At is not null)
        {
            // The version current at that instant: written at or before it, and not yet replaced then.
            where.Add("v.last_updated <= $at AND NOT EXISTS (SELECT 1 FROM resource_version n WHERE n.rid = v.rid AND n.version > v.version AND n.last_updated <= $at)");
            cmd.Parameters.AddWithValue("$at", SqliteTime.ToTicks(query.At.Value));
        }

        var filter = where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where);
        cmd.CommandText = $"""
            SELECT COUNT(*) FROM resource_version v {filter};
            SELECT v.type, v.id, v.version, v.last_updated, v.method, v.json FROM resource_version v {filter}
            ORDER BY v.last_updated DESC, v.version DESC LIMIT $count OFFSET $offset;
            """;
        cmd.Parameters.AddWithValue("$count", query.Count);
        cmd.Parameters.AddWithValue("$offset", query.Offset);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var total = reader.GetInt32(0);
        await reader.NextResultAsync(cancellationToken);
        var entries = new List<StoredResource>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var json = reader.IsDBNull(5) ? null : reader.GetString(5);
            entries.Add(new StoredResource(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), SqliteTime.FromTicks(reader.GetInt64(3)), json is null, reader.GetString(4), json));
        }

        return new HistoryResult(entries, total);
    }

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        if (_done)
        {
            return;
        }

        _done = true;
        if (writeGroup is not null)
        {
            // Waits for the group's COMMIT (made by this session or a later one), whatever the token says: the write is in it.
            await writeGroup.EndSessionAsync(keep: true);
            return;
        }

        SqliteStatementCache.Execute(connection, "COMMIT");
    }


    public async ValueTask DisposeAsync()
    {
        if (writeGroup is not null)
        {
            // The connection and transaction belong to the store's write group.
            if (!_done)
            {
                _done = true;
                await writeGroup.EndSessionAsync(keep: false);
            }

            return;
        }

        try
        {
            if (!_done)
            {
                _done = true;
                SqliteStatementCache.Execute(connection, "ROLLBACK");
            }
        }
        finally
        {
            // Never hand a connection back inside a transaction (e.g. when COMMIT itself failed).
            if (connection.Handle is { } db && SQLitePCL.raw.sqlite3_get_autocommit(db) == 0)
            {
                SQLitePCL.raw.sqlite3_exec(db, "ROLLBACK");
            }

            if (readConnections is not null)
            {
                readConnections.Return(connection);
            }
            else
            {
                await connection.DisposeAsync();
            }
        }
    }
}

/// <summary>Instants are stored as UTC ticks so they sort and compare as integers.</summary>
internal static class SqliteTime
{
    public static long ToTicks(DateTimeOffset value) => value.UtcTicks;

    public static DateTimeOffset FromTicks(long ticks) => new(ticks, TimeSpan.Zero);
}
