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
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writerGate = new(1, 1);

    public SqliteFhirStore(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        DatabasePath = full;
    }

    /// <summary>The database file.</summary>
    public string DatabasePath { get; }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
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
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var cmd = connection.CreateCommand();
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
        await using var connection = await OpenConnectionAsync(cancellationToken);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM change_log";
        return (long)(await cmd.ExecuteScalarAsync(cancellationToken))!;
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
            connection = await OpenConnectionAsync(cancellationToken);
            var tx = connection.BeginTransaction(deferred: true);
            return new SqliteFhirStoreSession(connection, tx, null);
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
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
            _writer ??= await OpenConnectionAsync(CancellationToken.None);
            if (_group is null)
            {
                _group = _writer.BeginTransaction(deferred: false);
                _groupCommitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _groupBroken = false;
            }

            _group.Save(SavepointName);
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

    private const string SavepointName = "igia_write";

    /// <summary>Ends a write session's turn: keeps (RELEASE) or drops (ROLLBACK TO) its savepoint; then commits the group or leaves it to the next writer.</summary>
    internal async Task EndSessionAsync(bool keep)
    {
        Exception? failure = null;
        try
        {
            if (keep)
            {
                _group!.Release(SavepointName);
            }
            else
            {
                _group!.Rollback(SavepointName);
                _group.Release(SavepointName);
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
            await (_writer?.DisposeAsync() ?? ValueTask.CompletedTask);
            _writer = null;
        }
        finally
        {
            await group.DisposeAsync();
        }
    }

    private async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        var handle = connection.Handle;
        if (handle is not null && Configured.TryGetValue(handle, out _))
        {
            // A pooled connection keeps its settings: running the pragmas on every open cost a large share of a read.
            return connection;
        }

        using var pragma = connection.CreateCommand();
        // mmap: reads of hot pages without a copy through read(2) (measured in the load run's breakdown: about half the CPU of a read query).
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000; PRAGMA mmap_size=1073741824;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        if (handle is not null)
        {
            Configured.AddOrUpdate(handle, Marker);
        }

        return connection;
    }

    /// <summary>The native connections (pooled, so opened many times) whose per-connection pragmas have been set.</summary>
    private static readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> Configured = new();

    private static readonly object Marker = new();

    public void Dispose()
    {
        _group?.Dispose();
        _group = null;
        _writerGate.Dispose();
        SqliteSearchIndex.ReleasePrepared(DatabasePath);
        _writer?.Dispose();
        _writer = null;
        SqliteConnection.ClearAllPools();
    }
}

/// <summary>One SQLite transaction.</summary>
internal sealed class SqliteFhirStoreSession(SqliteConnection connection, SqliteTransaction transaction, SqliteFhirStore? writeGroup) : IFhirStoreSession
{
    private bool _done;

    public SqliteConnection Connection => connection;

    public SqliteTransaction Transaction => transaction;

    public async Task<StoredResource?> ReadAsync(string resourceType, string id, int? versionId, CancellationToken cancellationToken)
    {
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = transaction;
        cmd.CommandText = versionId is null
            ? """
              SELECT v.version, v.last_updated, v.method, v.json FROM resource r
              JOIN resource_version v ON v.rid = r.rid AND v.version = r.version
              WHERE r.type = $type AND r.id = $id
              """
            : """
              SELECT v.version, v.last_updated, v.method, v.json FROM resource r
              JOIN resource_version v ON v.rid = r.rid AND v.version = $version
              WHERE r.type = $type AND r.id = $id
              """;
        cmd.Parameters.AddWithValue("$type", resourceType);
        cmd.Parameters.AddWithValue("$id", id);
        if (versionId is not null)
        {
            cmd.Parameters.AddWithValue("$version", versionId.Value);
        }

        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var json = reader.IsDBNull(3) ? null : reader.GetString(3);
        return new StoredResource(resourceType, id, reader.GetInt32(0), SqliteTime.FromTicks(reader.GetInt64(1)), json is null, reader.GetString(2), json);
    }

    public async Task WriteAsync(ResourceWrite write, CancellationToken cancellationToken)
    {
        if (writeGroup is null)
        {
            throw new InvalidOperationException("This store session was opened for reading.");
        }

        long rid;
        await using (var find = connection.CreateCommand())
        {
            find.Transaction = transaction;
            find.CommandText = "SELECT rid, version FROM resource WHERE type = $type AND id = $id";
            find.Parameters.AddWithValue("$type", write.ResourceType);
            find.Parameters.AddWithValue("$id", write.Id);
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                rid = reader.GetInt64(0);
                var current = reader.GetInt32(1);
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
        await using (var upsert = connection.CreateCommand())
        {
            upsert.Transaction = transaction;
            upsert.CommandText = rid == 0
                ? "INSERT INTO resource(type, id, version, last_updated, deleted) VALUES ($type, $id, $version, $ts, $deleted) RETURNING rid"
                : "UPDATE resource SET version = $version, last_updated = $ts, deleted = $deleted WHERE rid = $rid RETURNING rid";
            upsert.Parameters.AddWithValue("$type", write.ResourceType);
            upsert.Parameters.AddWithValue("$id", write.Id);
            upsert.Parameters.AddWithValue("$version", write.VersionId);
            upsert.Parameters.AddWithValue("$ts", ticks);
            upsert.Parameters.AddWithValue("$deleted", write.Deleted ? 1 : 0);
            upsert.Parameters.AddWithValue("$rid", rid);
            rid = (long)(await upsert.ExecuteScalarAsync(cancellationToken))!;
        }

        await using (var version = connection.CreateCommand())
        {
            version.Transaction = transaction;
            version.CommandText = """
                INSERT INTO resource_version(rid, version, type, id, last_updated, method, json)
                VALUES ($rid, $version, $type, $id, $ts, $method, $json)
                """;
            version.Parameters.AddWithValue("$rid", rid);
            version.Parameters.AddWithValue("$version", write.VersionId);
            version.Parameters.AddWithValue("$type", write.ResourceType);
            version.Parameters.AddWithValue("$id", write.Id);
            version.Parameters.AddWithValue("$ts", ticks);
            version.Parameters.AddWithValue("$method", write.Method);
            version.Parameters.AddWithValue("$json", (object?)write.Json ?? DBNull.Value);
            await version.ExecuteNonQueryAsync(cancellationToken);
        }

        await SqliteSearchIndex.ReplaceAsync(connection, transaction, rid, write.ResourceType, write.Index, cancellationToken);
    }

    public Task<StoreSearchResult> SearchAsync(SearchQuery query, CancellationToken cancellationToken) =>
        SqliteSearchIndex.SearchAsync(connection, transaction, query, cancellationToken);

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

        await transaction.CommitAsync(cancellationToken);
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
                await transaction.RollbackAsync();
            }
        }
        finally
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}

/// <summary>Instants are stored as UTC ticks so they sort and compare as integers.</summary>
internal static class SqliteTime
{
    public static long ToTicks(DateTimeOffset value) => value.UtcTicks;

    public static DateTimeOffset FromTicks(long ticks) => new(ticks, TimeSpan.Zero);
}
