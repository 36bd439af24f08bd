using Igia.Fhir.Search;
using Microsoft.Data.Sqlite;

namespace Igia.Fhir.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode. Readers run concurrently on pooled connections;
/// writers are serialised in-process (SQLite allows one writer), each in one <c>BEGIN IMMEDIATE</c> transaction.
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
            await _writerGate.WaitAsync(cancellationToken);
        }

        SqliteConnection? connection = null;
        try
        {
            connection = await OpenConnectionAsync(cancellationToken);
            var tx = connection.BeginTransaction(deferred: mode == FhirSessionMode.Read);
            return new SqliteFhirStoreSession(connection, tx, mode == FhirSessionMode.Write ? _writerGate : null);
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            if (mode == FhirSessionMode.Write)
            {
                _writerGate.Release();
            }

            throw;
        }
    }

    private async Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    public void Dispose()
    {
        _writerGate.Dispose();
        SqliteSearchIndex.ReleasePrepared(DatabasePath);
        SqliteConnection.ClearAllPools();
    }
}

/// <summary>One SQLite transaction.</summary>
internal sealed class SqliteFhirStoreSession(SqliteConnection connection, SqliteTransaction transaction, SemaphoreSlim? writerGate) : IFhirStoreSession
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
        if (writerGate is null)
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
        await transaction.CommitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
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
            writerGate?.Release();
        }
    }
}

/// <summary>Instants are stored as UTC ticks so they sort and compare as integers.</summary>
internal static class SqliteTime
{
    public static long ToTicks(DateTimeOffset value) => value.UtcTicks;

    public static DateTimeOffset FromTicks(long ticks) => new(ticks, TimeSpan.Zero);
}
