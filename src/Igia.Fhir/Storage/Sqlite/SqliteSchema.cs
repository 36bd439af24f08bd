using Microsoft.Data.Sqlite;

namespace Igia.Fhir.Storage.Sqlite;

/// <summary>Creates and migrates the SQLite schema. Each migration runs once, in order, recorded in <c>schema_version</c>.</summary>
internal static class SqliteSchema
{
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE resource (
            rid INTEGER PRIMARY KEY,
            type TEXT NOT NULL,
            id TEXT NOT NULL,
            version INTEGER NOT NULL,
            last_updated INTEGER NOT NULL,
            deleted INTEGER NOT NULL,
            UNIQUE (type, id)
        );
        CREATE TABLE resource_version (
            rid INTEGER NOT NULL REFERENCES resource(rid),
            version INTEGER NOT NULL,
            type TEXT NOT NULL,
            id TEXT NOT NULL,
            last_updated INTEGER NOT NULL,
            method TEXT NOT NULL,
            json TEXT NULL,
            PRIMARY KEY (rid, version)
        ) WITHOUT ROWID;
        CREATE INDEX ix_resource_version_time ON resource_version(last_updated);
        CREATE INDEX ix_resource_version_type_time ON resource_version(type, last_updated);
        CREATE INDEX ix_resource_type_updated ON resource(type, last_updated);
        """,
    ];

    public static async Task MigrateAsync(SqliteConnection connection, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        await using (var create = connection.CreateCommand())
        {
            create.Transaction = tx;
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)";
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        long current;
        await using (var read = connection.CreateCommand())
        {
            read.Transaction = tx;
            read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
            current = (long)(await read.ExecuteScalarAsync(cancellationToken))!;
        }

        var all = Migrations.Concat(SqliteSearchIndex.Migrations).ToArray();
        for (var i = (int)current; i < all.Length; i++)
        {
            await using var migrate = connection.CreateCommand();
            migrate.Transaction = tx;
            migrate.CommandText = all[i] + $"; INSERT INTO schema_version(version) VALUES ({i + 1});";
            await migrate.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
