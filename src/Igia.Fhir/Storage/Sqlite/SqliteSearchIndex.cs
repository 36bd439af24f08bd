using Igia.Fhir.Search;
using Microsoft.Data.Sqlite;

namespace Igia.Fhir.Storage.Sqlite;

/// <summary>Search index tables of the SQLite store: writing index rows and translating a <see cref="SearchQuery"/> to SQL.</summary>
internal static class SqliteSearchIndex
{
    /// <summary>Schema migrations of the index tables, run after those of <see cref="SqliteSchema"/>.</summary>
    public static readonly string[] Migrations = [];

    /// <summary>Replaces the index rows of resource <paramref name="rid"/>.</summary>
    public static Task ReplaceAsync(SqliteConnection connection, SqliteTransaction tx, long rid, string resourceType, IReadOnlyList<SearchIndexEntry> entries, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    /// <summary>Runs a search.</summary>
    public static async Task<StoreSearchResult> SearchAsync(SqliteConnection connection, SqliteTransaction tx, SearchQuery query, CancellationToken cancellationToken)
    {
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        var typeFilter = query.ResourceTypes.Count == 0 ? "" : "AND r.type IN (" + string.Join(",", query.ResourceTypes.Select((_, i) => "$t" + i)) + ")";
        for (var i = 0; i < query.ResourceTypes.Count; i++)
        {
            cmd.Parameters.AddWithValue("$t" + i, query.ResourceTypes[i]);
        }

        cmd.CommandText = $"""
            SELECT r.type, r.id, v.version, v.last_updated, v.method, v.json FROM resource r
            JOIN resource_version v ON v.rid = r.rid AND v.version = r.version
            WHERE r.deleted = 0 {typeFilter} ORDER BY r.rid LIMIT $count OFFSET $offset
            """;
        cmd.Parameters.AddWithValue("$count", query.Count);
        cmd.Parameters.AddWithValue("$offset", query.Offset);
        var list = new List<StoredResource>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new StoredResource(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), SqliteTime.FromTicks(reader.GetInt64(3)), false, reader.GetString(4), reader.GetString(5)));
        }

        return new StoreSearchResult(list, [], null);
    }
}
