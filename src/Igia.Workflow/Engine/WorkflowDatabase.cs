using Microsoft.Data.Sqlite;

namespace Igia.Workflow.Engine;

/// <summary>
/// The engine's durable state in one SQLite file (WAL): the change-feed cursor, SLA timers, missed Tasks, the
/// engine's view of each Subscription (event counter, failures) and the notification outbox. Everything the engine
/// derives from one change of the FHIR store is written in one transaction together with the cursor advance.
/// </summary>
internal sealed class WorkflowDatabase
{
    private readonly string _connectionString;

    public WorkflowDatabase(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(ct);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;";
        await pragma.ExecuteNonQueryAsync(ct);
        return connection;
    }

    public async Task InitializeAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS wf_cursor (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS wf_timer (task_id TEXT PRIMARY KEY, due INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_wf_timer_due ON wf_timer(due);
            CREATE TABLE IF NOT EXISTS wf_missed (task_id TEXT NOT NULL, due INTEGER NOT NULL, fired INTEGER NOT NULL, escalation TEXT NULL, PRIMARY KEY (task_id, due));
            CREATE TABLE IF NOT EXISTS wf_subscription (
                id TEXT PRIMARY KEY, json TEXT NOT NULL, state TEXT NOT NULL,
                events INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, last_sent INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS wf_outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT, sub_id TEXT NOT NULL, kind TEXT NOT NULL, event_number INTEGER NULL,
                event_time INTEGER NULL, focus_type TEXT NULL, focus_id TEXT NULL, focus_version INTEGER NULL, focus_method TEXT NULL,
                attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_wf_outbox_sub ON wf_outbox(sub_id, id);
            """;
        await cmd.ExecuteNonQueryAsync(ct);
    }
}

internal static class SqliteExtensions
{
    public static SqliteCommand Command(this SqliteConnection connection, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return cmd;
    }

    public static async Task<int> ExecAsync(this SqliteConnection connection, SqliteTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var cmd = connection.Command(tx, sql, parameters);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public static async Task<object?> ScalarAsync(this SqliteConnection connection, SqliteTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var cmd = connection.Command(tx, sql, parameters);
        var value = await cmd.ExecuteScalarAsync(ct);
        return value is DBNull ? null : value;
    }
}
