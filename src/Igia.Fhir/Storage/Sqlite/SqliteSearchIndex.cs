using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Hl7.Fhir.Model;
using Igia.Fhir.Search;
using Microsoft.Data.Sqlite;

namespace Igia.Fhir.Storage.Sqlite;

/// <summary>
/// Search index tables of the SQLite store: writing index rows and translating a <see cref="SearchQuery"/> to SQL.
/// One table per value type; every table is keyed by (rid, seq), so that a resource's rows are one key range (deleted by a
/// trigger when a new version is written, and probed per candidate when a search checks a condition), and has covering
/// indexes that start with the parameter code, so that the condition driving a search is an index lookup.
/// User values only ever reach SQL as parameters. Paging snapshots live in a side database (<see cref="SqliteSearchSnapshots"/>).
/// </summary>
internal static class SqliteSearchIndex
{
    /// <summary>Schema migrations of the index tables, run after those of <see cref="SqliteSchema"/>.</summary>
    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE idx_string (
            rid INTEGER NOT NULL, seq INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL,
            norm TEXT NOT NULL, exact TEXT NOT NULL,
            PRIMARY KEY (rid, seq)) WITHOUT ROWID;
        CREATE INDEX ix_idx_string ON idx_string(param, norm);
        CREATE TABLE idx_token (
            rid INTEGER NOT NULL, seq INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL,
            system TEXT NULL, code TEXT NULL, text TEXT NULL,
            PRIMARY KEY (rid, seq)) WITHOUT ROWID;
        CREATE INDEX ix_idx_token ON idx_token(param, code, system);
        CREATE TABLE idx_reference (
            rid INTEGER NOT NULL, seq INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL,
            target_type TEXT NULL, target_id TEXT NULL, url TEXT NULL,
            PRIMARY KEY (rid, seq)) WITHOUT ROWID;
        CREATE INDEX ix_idx_reference ON idx_reference(param, target_id, target_type);
        CREATE INDEX ix_idx_reference_url ON idx_reference(param, url) WHERE url IS NOT NULL;
        CREATE TABLE idx_date (
            rid INTEGER NOT NULL, seq INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL,
            low INTEGER NOT NULL, high INTEGER NOT NULL,
            PRIMARY KEY (rid, seq)) WITHOUT ROWID;
        CREATE INDEX ix_idx_date_low ON idx_date(param, low, high);
        CREATE INDEX ix_idx_date_high ON idx_date(param, high);
        CREATE TABLE idx_number (
            rid INTEGER NOT NULL, seq INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL,
            value REAL NOT NULL,
            PRIMARY KEY (rid, seq)) WITHOUT ROWID;
        CREATE INDEX ix_idx_number ON idx_number(param, value);
        CREATE TABLE idx_quantity (
            rid INTEGER NOT NULL, seq INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL,
            value REAL NOT NULL, system TEXT NULL, code TEXT NULL, unit TEXT NULL, cvalue REAL NULL, ccode TEXT NULL,
            PRIMARY KEY (rid, seq)) WITHOUT ROWID;
        CREATE INDEX ix_idx_quantity ON idx_quantity(param, code, value);
        CREATE INDEX ix_idx_quantity_canonical ON idx_quantity(param, ccode, cvalue) WHERE ccode IS NOT NULL;
        CREATE TABLE idx_uri (
            rid INTEGER NOT NULL, seq INTEGER NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL,
            uri TEXT NOT NULL,
            PRIMARY KEY (rid, seq)) WITHOUT ROWID;
        CREATE INDEX ix_idx_uri ON idx_uri(param, uri);
        """,

        // A later migration, so that stores created before it get it too: until then the insert path deleted the rows itself.
        """
        CREATE TRIGGER tr_resource_version_index AFTER UPDATE OF version ON resource
        BEGIN
            DELETE FROM idx_string WHERE rid = OLD.rid;
            DELETE FROM idx_token WHERE rid = OLD.rid;
            DELETE FROM idx_reference WHERE rid = OLD.rid;
            DELETE FROM idx_date WHERE rid = OLD.rid;
            DELETE FROM idx_number WHERE rid = OLD.rid;
            DELETE FROM idx_quantity WHERE rid = OLD.rid;
            DELETE FROM idx_uri WHERE rid = OLD.rid;
        END;
        """,

        // The reference index covers url too: every reference lookup checks that the reference is local (url NULL or this
        // server's), which without it cost a table seek per index row. Measured on the load run's store (113,000 resources;
        // the rebuild took 4 s): Observation?patient&code&date from ~240 to ~125 µs of SQLite time.
        """
        DROP INDEX ix_idx_reference;
        CREATE INDEX ix_idx_reference ON idx_reference(param, target_id, target_type, url);
        """,
    ];

    /// <summary>A string above every other that starts with a given prefix, for prefix ranges on the BINARY collation.</summary>
    private const string Highest = "\U0010FFFF";

    /// <summary>Replaces the index rows of resource <paramref name="rid"/>.</summary>
    /// <remarks>
    /// The rows of the previous version are already gone when this runs for an existing resource: the trigger
    /// <c>tr_resource_version_index</c> deletes them when the store moves <c>resource.version</c> on, so a create (the common case)
    /// costs only the inserts. Each table's insert is one statement, prepared once per connection (<see cref="SqliteStatementCache"/>) and executed once per row.
    /// </remarks>
    public static Task ReplaceAsync(SqliteConnection connection, long rid, string resourceType, IReadOnlyList<SearchIndexEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return Task.CompletedTask;
        }

        var tables = new TableRows?[Tables.Length];
        var group = 0;
        foreach (var entry in entries)
        {
            if (entry is CompositeIndexEntry composite)
            {
                group++;
                foreach (var component in composite.Components)
                {
                    foreach (var row in component)
                    {
                        AddRow(tables, row, group);
                    }
                }
            }
            else
            {
                AddRow(tables, entry, 0);
            }
        }

        var cache = SqliteStatementCache.For(connection);
        for (var t = 0; t < tables.Length; t++)
        {
            if (tables[t] is not { } rows)
            {
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            using var statement = cache.Rent(InsertSql[t]);
            for (var r = 0; r < rows.Count; r++)
            {
                var (row, rowGroup) = rows[r];
                statement.Bind(1, rid).Bind(2, r).Bind(3, rowGroup);
                for (var i = 0; i < row.Length; i++)
                {
                    statement.Bind(i + 4, row[i]);
                }

                statement.Execute();
                statement.Reset();
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>The index tables and their value columns, in the order of the <c>object?[]</c> rows built by <see cref="AddRow"/>.</summary>
    private static readonly (string Name, string[] Columns)[] Tables =
    [
        ("idx_string", ["param", "norm", "exact"]),
        ("idx_token", ["param", "system", "code", "text"]),
        ("idx_reference", ["param", "target_type", "target_id", "url"]),
        ("idx_date", ["param", "low", "high"]),
        ("idx_number", ["param", "value"]),
        ("idx_quantity", ["param", "value", "system", "code", "unit", "cvalue", "ccode"]),
        ("idx_uri", ["param", "uri"]),
    ];

    /// <summary>The insert of each index table (positional: rid, seq, grp, then its value columns), in the order of <see cref="Tables"/>.</summary>
    private static readonly string[] InsertSql = Array.ConvertAll(Tables, table =>
        $"INSERT INTO {table.Name}(rid,seq,grp,{string.Join(',', table.Columns)}) VALUES (?,?,?{string.Concat(Enumerable.Repeat(",?", table.Columns.Length))})");

    private sealed class TableRows : List<(object?[] Values, int Group)>;

    private static void AddRow(TableRows?[] tables, SearchIndexEntry entry, int group)
    {
        switch (entry)
        {
            case StringIndexEntry s:
                (tables[0] ??= []).Add(([s.ParameterCode, s.Normalized, s.Exact], group));
                break;
            case TokenIndexEntry t:
                (tables[1] ??= []).Add(([t.ParameterCode, t.System, t.Code, t.Text], group));
                break;
            case ReferenceIndexEntry r:
                (tables[2] ??= []).Add(([r.ParameterCode, r.TargetType, r.TargetId, r.Url], group));
                break;
            case DateIndexEntry d:
                (tables[3] ??= []).Add(([d.ParameterCode, d.Low.UtcTicks, d.High.UtcTicks], group));
                break;
            case NumberIndexEntry n:
                (tables[4] ??= []).Add(([n.ParameterCode, (double)n.Value], group));
                break;
            case QuantityIndexEntry q:
                (tables[5] ??= []).Add(([q.ParameterCode, (double)q.Value, q.System, q.Code, q.Unit, q.CanonicalValue is { } cv ? (double)cv : null, q.CanonicalCode], group));
                break;
            case UriIndexEntry u:
                (tables[6] ??= []).Add(([u.ParameterCode, u.Uri], group));
                break;
        }
    }

    // ---- search -----------------------------------------------------------------------------------

    /// <summary>Runs a search.</summary>
    public static async Task<StoreSearchResult> SearchAsync(SqliteConnection connection, SearchQuery query, CancellationToken cancellationToken)
    {
        if (query.SnapshotId is not null)
        {
            return await ReadSnapshotPageAsync(connection, query, cancellationToken);
        }

        // The SQL text depends on the shape of the query (which conditions, sorts, includes), the values are parameters: so the
        // statements are prepared once per connection and shape (SqliteStatementCache) and rebound per search.
        var cache = SqliteStatementCache.For(connection);
        int? total;
        List<long> rids;
        using (var parameters = new SqliteCommand())
        {
            var sql = new SqlBuilder(parameters, query.BaseUrl);
            var where = sql.Where(query);
            if (query.CountOnly)
            {
                using var countOnly = cache.Rent($"SELECT COUNT(*) FROM resource r WHERE {where}");
                countOnly.Bind(parameters.Parameters).Step();
                return new StoreSearchResult([], [], countOnly.GetInt32(0));
            }

            var limit = Math.Max(0, query.MaxResults);
            parameters.Parameters.AddWithValue("$limit", (long)limit + 1);
            string text;
            if (query.Sort.Count == 0)
            {
                text = $"SELECT r.rid FROM resource r WHERE {where} ORDER BY r.rid LIMIT $limit";
            }
            else
            {
                var keys = new StringBuilder();
                var order = new StringBuilder();
                for (var i = 0; i < query.Sort.Count; i++)
                {
                    var key = sql.SortKey(query.Sort[i], "r");
                    keys.Append(", ").Append(key).Append(" AS s").Append(i.ToString(CultureInfo.InvariantCulture));
                    order.Append('s').Append(i.ToString(CultureInfo.InvariantCulture)).Append(" IS NULL, s").Append(i.ToString(CultureInfo.InvariantCulture))
                        .Append(query.Sort[i].Descending ? " DESC, " : " ASC, ");
                }

                text = $"SELECT rid FROM (SELECT r.rid AS rid{keys} FROM resource r WHERE {where}) ORDER BY {order}rid LIMIT $limit";
            }

            rids = new List<long>();
            using (var select = cache.Rent(text))
            {
                select.Bind(parameters.Parameters);
                while (select.Step())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    rids.Add(select.GetInt64(0));
                }
            }

            if (rids.Count > limit)
            {
                rids.RemoveAt(rids.Count - 1);
                total = null;
            }
            else
            {
                total = rids.Count;
            }
        }

        if (total is null && query.Total != SearchTotalMode.None)
        {
            using var parameters = new SqliteCommand();
            var sql = new SqlBuilder(parameters, query.BaseUrl);
            using var count = cache.Rent($"SELECT COUNT(*) FROM resource r WHERE {sql.Where(query)}");
            count.Bind(parameters.Parameters).Step();
            total = count.GetInt32(0);
        }

        var offset = Math.Min(query.Offset, rids.Count);
        var pageRids = rids.GetRange(offset, Math.Min(Math.Max(query.Count, 0), rids.Count - offset));
        string? snapshotId = null;
        if (query.SnapshotExpires is { } expires && (offset > 0 || offset + pageRids.Count < rids.Count))
        {
            snapshotId = await SqliteSearchSnapshots.SaveAsync(connection, rids, total, query.SnapshotState, expires, query.Now, cancellationToken);
        }

        var matches = Load(connection, pageRids, cancellationToken);
        var included = query.Includes.Count > 0 && pageRids.Count > 0
            ? await IncludeAsync(connection, query, pageRids, cancellationToken)
            : [];
        return new StoreSearchResult(matches, included, total) { SnapshotId = snapshotId, SnapshotState = snapshotId is null ? null : query.SnapshotState };
    }

    private static async Task<StoreSearchResult> ReadSnapshotPageAsync(SqliteConnection connection, SearchQuery query, CancellationToken cancellationToken)
    {
        var snapshot = await SqliteSearchSnapshots.ReadAsync(connection, query.SnapshotId!, Math.Max(query.Offset, 0), Math.Max(query.Count, 0), query.Now, cancellationToken);
        var matches = Load(connection, snapshot.Rids, cancellationToken);
        var included = query.Includes.Count > 0 && snapshot.Rids.Count > 0
            ? await IncludeAsync(connection, query, snapshot.Rids, cancellationToken)
            : [];
        return new StoreSearchResult(matches, included, snapshot.Total) { SnapshotId = query.SnapshotId, SnapshotState = snapshot.State };
    }

    private static string JsonList(IEnumerable<long> rids) => JsonSerializer.Serialize(rids);

    private const string LoadSql = """
        SELECT r.rid, r.type, r.id, v.version, v.last_updated, v.method, v.json FROM resource r
        JOIN resource_version v ON v.rid = r.rid AND v.version = r.version
        WHERE r.rid IN (SELECT value FROM json_each($rids)) AND r.deleted = 0
        """;

    /// <summary>Reads the current versions of <paramref name="rids"/>, in that order, skipping deleted ones.</summary>
    private static List<StoredResource> Load(SqliteConnection connection, IReadOnlyList<long> rids, CancellationToken cancellationToken)
    {
        if (rids.Count == 0)
        {
            return [];
        }

        using var load = SqliteStatementCache.For(connection).Rent(LoadSql);
        load.Bind("$rids", JsonList(rids));
        var byRid = new Dictionary<long, StoredResource>(rids.Count);
        while (load.Step())
        {
            if (load.IsNull(6))
            {
                continue;
            }

            byRid[load.GetInt64(0)] = new StoredResource(load.GetString(1)!, load.GetString(2)!, load.GetInt32(3),
                SqliteTime.FromTicks(load.GetInt64(4)), false, load.GetString(5)!, load.GetString(6));
        }

        var list = new List<StoredResource>(byRid.Count);
        foreach (var rid in rids)
        {
            if (byRid.TryGetValue(rid, out var stored))
            {
                list.Add(stored);
            }
        }

        return list;
    }

    private const int MaxIncludeRounds = 8;

    private static async Task<List<StoredResource>> IncludeAsync(SqliteConnection connection, SearchQuery query, List<long> pageRids, CancellationToken cancellationToken)
    {
        var seen = new HashSet<long>(pageRids);
        var included = new List<long>();
        var frontier = pageRids;
        for (var round = 0; round < MaxIncludeRounds && frontier.Count > 0 && included.Count < query.MaxIncluded; round++)
        {
            var next = new List<long>();
            foreach (var include in query.Includes)
            {
                if (round > 0 && !include.Iterate)
                {
                    continue;
                }

                using var parameters = new SqliteCommand();
                var sql = new SqlBuilder(parameters, query.BaseUrl);
                using var select = SqliteStatementCache.For(connection).Rent(sql.Include(include, JsonList(frontier)));
                select.Bind(parameters.Parameters);
                while (select.Step())
                {
                    var rid = select.GetInt64(0);
                    if (seen.Add(rid) && included.Count < query.MaxIncluded)
                    {
                        included.Add(rid);
                        next.Add(rid);
                    }
                }
            }

            frontier = next;
        }

        return Load(connection, included, cancellationToken);
    }

    /// <summary>
    /// Translates conditions to SQL over <c>resource r</c>; every value becomes a parameter. The most selective condition
    /// drives the query as a set of rids looked up through its covering index; every other condition is checked per candidate
    /// through the (rid, seq) key of its table (the unary <c>+</c> on <c>param</c> keeps SQLite from scanning a parameter's whole
    /// index range for that). Without a usable driver the resource table is read by type.
    /// </summary>
    private sealed class SqlBuilder(SqliteCommand cmd, string? baseUrl)
    {
        private const int NotDrivable = 99;

        private int _parameters;
        private int _aliases;

        private string P(object? value)
        {
            var name = "$p" + _parameters++.ToString(CultureInfo.InvariantCulture);
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
            return name;
        }

        private string Alias(string prefix) => prefix + _aliases++.ToString(CultureInfo.InvariantCulture);

        private string List(IEnumerable<string> values) => string.Join(",", values.Select(v => P(v)));

        public string Where(SearchQuery query)
        {
            var natural = query.Conditions.Any(c => c is IdCondition or ResourceKeysCondition);
            var driver = natural ? null : query.Conditions.Where(c => Score(c) < NotDrivable).MinBy(Score);
            var sb = new StringBuilder("r.deleted = 0");
            var type = driver is null ? "r.type" : "+r.type";
            if (query.ResourceTypes.Count == 1)
            {
                sb.Append(" AND ").Append(type).Append(" = ").Append(P(query.ResourceTypes[0]));
            }
            else if (query.ResourceTypes.Count > 1)
            {
                sb.Append(" AND ").Append(type).Append(" IN (").Append(List(query.ResourceTypes)).Append(')');
            }

            if (driver is not null)
            {
                sb.Append(" AND r.rid IN (").Append(DriverSet(driver)).Append(')');
            }

            foreach (var condition in query.Conditions)
            {
                if (!ReferenceEquals(condition, driver) || !IsExact(condition))
                {
                    sb.Append(" AND ").Append(Predicate(condition, "r"));
                }
            }

            return sb.ToString();
        }

        // ---- drivers: sets of rids (possibly a superset) found through an index --------------------------------

        /// <summary>How selective a condition is expected to be as a driver (lower is better), or <see cref="NotDrivable"/>.</summary>
        private static int Score(SearchCondition c) => c switch
        {
            ResourceKeysCondition => 0,
            TokenCondition { Code: not null } => 1,
            TokenCondition => 5,
            ReferenceCondition => 1,
            UriCondition { Match: UriMatch.Below } => 3,
            UriCondition => 1,
            StringCondition { Match: StringMatch.Exact } => 1,
            StringCondition { Match: StringMatch.StartsWith } s => s.Normalized.Length >= 3 ? 2 : 3,
            StringCondition => 8,
            TokenTextCondition => 8,
            CompositeCondition composite => composite.Components.Count > 0 ? Math.Min(Score(composite.Components[0]), 4) : NotDrivable,
            DateCondition { Parameter: "_lastUpdated" } => NotDrivable,
            DateCondition or NumberCondition or QuantityCondition => 4,
            MissingCondition { Missing: false } => 6,
            ChainCondition chain => chain.TargetConditions.Select(Score).DefaultIfEmpty(NotDrivable).Min() is var inner && inner < NotDrivable ? inner + 1 : 7,
            ReverseChainCondition has => has.SourceConditions.Select(Score).DefaultIfEmpty(NotDrivable).Min() is var inner && inner < NotDrivable ? inner + 1 : 7,
            AnyOfCondition any => any.Alternatives.Count == 0 ? NotDrivable : any.Alternatives.Max(Score) is var worst && worst < NotDrivable ? worst + 1 : NotDrivable,
            AllOfCondition all => all.Conditions.Select(Score).DefaultIfEmpty(NotDrivable).Min(),
            _ => NotDrivable,
        };

        /// <summary>True when <see cref="DriverSet"/> gives exactly the resources the condition holds for (not a superset).</summary>
        private static bool IsExact(SearchCondition c) => c switch
        {
            AnyOfCondition any => any.Alternatives.All(IsExact),
            AllOfCondition all => all.Conditions.Count == 1 && IsExact(all.Conditions[0]),
            _ => true,
        };

        private string DriverSet(SearchCondition condition)
        {
            switch (condition)
            {
                case AnyOfCondition any:
                    return string.Join(" UNION ", any.Alternatives.Select(DriverSet));
                case AllOfCondition all:
                    return DriverSet(all.Conditions.Where(c => Score(c) < NotDrivable).MinBy(Score)!);
                case ResourceKeysCondition keys:
                {
                    var json = JsonSerializer.Serialize(keys.Keys.Select(k => new[] { k.Type, k.Id }));
                    var alias = Alias("k");
                    return $"SELECT {alias}.rid FROM json_each({P(json)}) j{alias} CROSS JOIN resource {alias} " +
                           $"ON {alias}.type = json_extract(j{alias}.value, '$[0]') AND {alias}.id = json_extract(j{alias}.value, '$[1]')";
                }

                case MissingCondition missing:
                {
                    var alias = Alias("x");
                    return $"SELECT {alias}.rid FROM {TableOf(missing.Type)} {alias} WHERE {alias}.param = {P(missing.Parameter)}";
                }

                case ChainCondition chain:
                {
                    var reference = Alias("ref");
                    var target = Alias("t");
                    var inner = chain.TargetConditions.Where(c => Score(c) < NotDrivable).MinBy(Score);
                    var rest = string.Concat(chain.TargetConditions.Where(c => !ReferenceEquals(c, inner) || !IsExact(c)).Select(c => " AND " + Predicate(c, target)));
                    if (inner is null)
                    {
                        return $"SELECT {reference}.rid FROM idx_reference {reference} JOIN resource {target} ON {target}.type = {reference}.target_type AND {target}.id = {reference}.target_id " +
                               $"WHERE {reference}.param = {P(chain.Parameter)} AND {target}.type IN ({List(chain.TargetTypes)}) AND {target}.deleted = 0 AND {LocalUrl(reference)}{rest}";
                    }

                    return $"SELECT {reference}.rid FROM resource {target} CROSS JOIN idx_reference {reference} " +
                           $"ON {reference}.param = {P(chain.Parameter)} AND {reference}.target_id = {target}.id AND {reference}.target_type = {target}.type " +
                           $"WHERE {target}.rid IN ({DriverSet(inner)}) AND +{target}.type IN ({List(chain.TargetTypes)}) AND {target}.deleted = 0 AND {LocalUrl(reference)}{rest}";
                }

                case ReverseChainCondition has:
                {
                    var reference = Alias("ref");
                    var source = Alias("s");
                    var target = Alias("t");
                    var inner = has.SourceConditions.Where(c => Score(c) < NotDrivable).MinBy(Score);
                    var rest = string.Concat(has.SourceConditions.Where(c => !ReferenceEquals(c, inner) || !IsExact(c)).Select(c => " AND " + Predicate(c, source)));
                    var sourceFilter = inner is null
                        ? $"{source}.type = {P(has.SourceType)}"
                        : $"{source}.rid IN ({DriverSet(inner)}) AND +{source}.type = {P(has.SourceType)}";
                    return $"SELECT {target}.rid FROM resource {source} CROSS JOIN idx_reference {reference} ON {reference}.rid = {source}.rid AND +{reference}.param = {P(has.Parameter)} " +
                           $"CROSS JOIN resource {target} ON {target}.type = {reference}.target_type AND {target}.id = {reference}.target_id " +
                           $"WHERE {sourceFilter} AND {source}.deleted = 0 AND {LocalUrl(reference)}{rest}";
                }

                case CompositeCondition composite:
                    return CompositeSql(composite, "SELECT {0}.rid", correlatedWith: null);
                default:
                {
                    var (table, parameter) = TableOf(condition);
                    var alias = Alias("x");
                    return $"SELECT {alias}.rid FROM {table} {alias} WHERE {alias}.param = {P(parameter)} AND {Match(condition, alias)}";
                }
            }
        }

        // ---- predicates checked per candidate resource ----------------------------------------------------------

        /// <summary>A boolean SQL expression over the resource alias <paramref name="r"/>, evaluated per candidate.</summary>
        private string Predicate(SearchCondition condition, string r)
        {
            switch (condition)
            {
                case AllOfCondition all:
                    return all.Conditions.Count == 0 ? "1" : "(" + string.Join(" AND ", all.Conditions.Select(c => Predicate(c, r))) + ")";
                case AnyOfCondition any:
                    return any.Alternatives.Count == 0 ? "0" : "(" + string.Join(" OR ", any.Alternatives.Select(a => Predicate(a, r))) + ")";
                case NotCondition not:
                    return "NOT (" + Predicate(not.Condition, r) + ")";
                case TypeCondition type:
                    return type.Types.Count == 0 ? "0" : $"{r}.type IN ({List(type.Types)})";
                case IdCondition id:
                    return id.Ids.Count == 0 ? "0" : $"{r}.id IN ({List(id.Ids)})";
                case ResourceKeysCondition keys:
                    return keys.Keys.Count == 0 ? "0" : $"{r}.rid IN ({DriverSet(keys)})";
                case DateCondition { Parameter: "_lastUpdated" } date:
                    return DatePredicate(date, $"{r}.last_updated", $"{r}.last_updated");
                case MissingCondition missing:
                    if (missing.Parameter is "_id" or "_lastUpdated" || TableOf(missing.Type) is not { } missingTable)
                    {
                        return missing.Missing ? "0" : "1";
                    }

                    var m = Alias("x");
                    return $"{(missing.Missing ? "NOT " : "")}EXISTS (SELECT 1 FROM {missingTable} {m} WHERE {m}.rid = {r}.rid AND +{m}.param = {P(missing.Parameter)})";
                case ChainCondition chain:
                {
                    var reference = Alias("ref");
                    var target = Alias("t");
                    return $"EXISTS (SELECT 1 FROM idx_reference {reference} CROSS JOIN resource {target} ON {target}.type = {reference}.target_type AND {target}.id = {reference}.target_id " +
                           $"WHERE {reference}.rid = {r}.rid AND +{reference}.param = {P(chain.Parameter)} AND {target}.type IN ({List(chain.TargetTypes)}) AND {target}.deleted = 0 AND {LocalUrl(reference)}" +
                           string.Concat(chain.TargetConditions.Select(c => " AND " + Predicate(c, target))) + ")";
                }

                case ReverseChainCondition has:
                {
                    var reference = Alias("ref");
                    var source = Alias("s");
                    return $"EXISTS (SELECT 1 FROM idx_reference {reference} CROSS JOIN resource {source} ON {source}.rid = {reference}.rid " +
                           $"WHERE {reference}.param = {P(has.Parameter)} AND {reference}.target_id = {r}.id AND {reference}.target_type = {r}.type " +
                           $"AND {source}.type = {P(has.SourceType)} AND {source}.deleted = 0 AND {LocalUrl(reference)}" +
                           string.Concat(has.SourceConditions.Select(c => " AND " + Predicate(c, source))) + ")";
                }

                case CompositeCondition composite:
                    return "EXISTS (" + CompositeSql(composite, "SELECT 1", correlatedWith: r) + ")";
                default:
                {
                    var (table, parameter) = TableOf(condition);
                    var alias = Alias("x");

                    // A token with both code and system given is one seek in ix_idx_token (param, code, system), whose entries
                    // end with the table's key (rid, seq), instead of a walk over all the candidate's token rows: measured on
                    // the load run's store, the typical Observation?patient&code&date search went from ~280-480 to ~125-140 µs
                    // of SQLite time. Other probes keep the unary + so SQLite never walks a parameter's whole index range.
                    var param = condition is TokenCondition { Code: not null, SystemMatch: TokenSystemMatch.Equals } ? $"{alias}.param" : $"+{alias}.param";
                    return $"EXISTS (SELECT 1 FROM {table} {alias} WHERE {alias}.rid = {r}.rid AND {param} = {P(parameter)} AND {Match(condition, alias)})";
                }
            }
        }

        /// <summary>The components of a composite joined on (rid, grp): all must hold within one element.</summary>
        private string CompositeSql(CompositeCondition composite, string select, string? correlatedWith)
        {
            var from = new StringBuilder();
            var where = new StringBuilder();
            string? first = null;
            foreach (var component in composite.Components)
            {
                var (table, parameter) = TableOf(component);
                var alias = Alias("c");
                if (first is null)
                {
                    from.Append(table).Append(' ').Append(alias);
                    first = alias;
                    if (correlatedWith is not null)
                    {
                        where.Append(alias).Append(".rid = ").Append(correlatedWith).Append(".rid AND +");
                    }
                }
                else
                {
                    from.Append(" JOIN ").Append(table).Append(' ').Append(alias).Append(" ON ").Append(alias).Append(".rid = ").Append(first)
                        .Append(".rid AND ").Append(alias).Append(".grp = ").Append(first).Append(".grp");
                    where.Append(" AND +");
                }

                where.Append(alias).Append(".param = ").Append(P(parameter)).Append(" AND ").Append(Match(component, alias));
            }

            if (first is null)
            {
                return "SELECT 1 WHERE 0";
            }

            // As a driver, the first component's param is the index key; the other components are found through (rid, grp).
            return string.Format(CultureInfo.InvariantCulture, select, first) + $" FROM {from} WHERE {where}";
        }

        private static string? TableOf(SearchParamType type) => type switch
        {
            SearchParamType.String => "idx_string",
            SearchParamType.Token => "idx_token",
            SearchParamType.Reference => "idx_reference",
            SearchParamType.Date => "idx_date",
            SearchParamType.Number => "idx_number",
            SearchParamType.Quantity => "idx_quantity",
            SearchParamType.Uri => "idx_uri",
            _ => null,
        };

        private static (string Table, string Parameter) TableOf(SearchCondition c) => c switch
        {
            StringCondition s => ("idx_string", s.Parameter),
            TokenCondition t => ("idx_token", t.Parameter),
            TokenTextCondition t => ("idx_token", t.Parameter),
            ReferenceCondition r => ("idx_reference", r.Parameter),
            DateCondition d => ("idx_date", d.Parameter),
            NumberCondition n => ("idx_number", n.Parameter),
            QuantityCondition q => ("idx_quantity", q.Parameter),
            UriCondition u => ("idx_uri", u.Parameter),
            _ => throw new NotSupportedException($"Condition {c.GetType().Name} is not a value condition."),
        };

        private string LocalUrl(string reference) => baseUrl is null
            ? $"{reference}.url IS NULL"
            : $"({reference}.url IS NULL OR {reference}.url = {P(baseUrl)} || '/' || {reference}.target_type || '/' || {reference}.target_id)";

        /// <summary>The predicate of a value condition over the index row alias <paramref name="a"/>.</summary>
        private string Match(SearchCondition condition, string a)
        {
            switch (condition)
            {
                case StringCondition s:
                    return s.Match switch
                    {
                        StringMatch.Exact => $"{a}.norm = {P(s.Normalized)} AND {a}.exact = {P(s.Value)}",
                        StringMatch.Contains => $"{a}.norm LIKE {P("%" + EscapeLike(s.Normalized) + "%")} ESCAPE '\\'",
                        _ => s.Normalized.Length == 0 ? "1" : $"{a}.norm >= {P(s.Normalized)} AND {a}.norm < {P(s.Normalized + Highest)}",
                    };
                case TokenCondition t:
                {
                    var sb = new StringBuilder();
                    sb.Append(t.Code is null ? "1" : $"{a}.code = {P(t.Code)}");
                    switch (t.SystemMatch)
                    {
                        case TokenSystemMatch.Equals:
                            sb.Append($" AND {a}.system = {P(t.System)}");
                            break;
                        case TokenSystemMatch.None:
                            sb.Append($" AND {a}.system IS NULL");
                            break;
                    }

                    return sb.ToString();
                }

                case TokenTextCondition text:
                    return $"({a}.text LIKE {P(EscapeLike(text.Text) + "%")} ESCAPE '\\' OR {a}.text LIKE {P("% " + EscapeLike(text.Text) + "%")} ESCAPE '\\')";
                case ReferenceCondition r:
                    if (r.TargetId is not null)
                    {
                        var types = r.TargetTypes is { Count: > 0 } list ? $" AND {a}.target_type IN ({List(list)})" : $" AND {a}.target_type IS NOT NULL";
                        return $"{a}.target_id = {P(r.TargetId)}{types} AND {LocalUrl(a)}";
                    }

                    return r.Url is null ? "0" : $"{a}.url = {P(r.Url)}";
                case DateCondition d:
                    return DatePredicate(d, $"{a}.low", $"{a}.high");
                case NumberCondition n:
                    return NumberPredicate(n.Prefix, $"{a}.value", new NumberRange(n.Value, n.Low, n.High));
                case QuantityCondition q:
                {
                    string unit;
                    if (q.System is not null)
                    {
                        unit = $"{a}.system = {P(q.System)} AND {a}.code = {P(q.Code)}";
                    }
                    else if (q.Code is not null)
                    {
                        var code = P(q.Code);
                        unit = $"({a}.code = {code} OR {a}.unit = {code})";
                    }
                    else
                    {
                        unit = "1";
                    }

                    var raw = $"{unit} AND {NumberPredicate(q.Prefix, $"{a}.value", q.Value)}";
                    return q.CanonicalCode is not null && q.CanonicalValue is not null
                        ? $"(({a}.ccode = {P(q.CanonicalCode)} AND {NumberPredicate(q.Prefix, $"{a}.cvalue", q.CanonicalValue)}) OR ({a}.ccode IS NULL AND {raw}))"
                        : raw;
                }

                case UriCondition u:
                    return u.Match switch
                    {
                        UriMatch.Below => $"{a}.uri >= {P(u.Uri)} AND {a}.uri < {P(u.Uri + Highest)}",
                        UriMatch.Above => $"{a}.uri IN ({List(UriPrefixes(u.Uri))})",
                        _ => $"{a}.uri = {P(u.Uri)}",
                    };
                default:
                    throw new NotSupportedException($"Condition {condition.GetType().Name} is not a value condition.");
            }
        }

        private static IEnumerable<string> UriPrefixes(string uri)
        {
            yield return uri;
            var schemeEnd = uri.IndexOf("://", StringComparison.Ordinal);
            var floor = schemeEnd < 0 ? 0 : schemeEnd + 3;
            for (var i = uri.Length - 1; i > floor; i--)
            {
                if (uri[i] == '/')
                {
                    yield return uri[..i];
                }
            }
        }

        private static string EscapeLike(string value) =>
            value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

        private string DatePredicate(DateCondition d, string low, string high)
        {
            var sl = d.Low.UtcTicks;
            var sh = d.High.UtcTicks;
            switch (d.Prefix)
            {
                case SearchPrefix.Eq:
                    return $"({low} >= {P(sl)} AND {high} <= {P(sh)})";
                case SearchPrefix.Ne:
                    return $"NOT ({low} >= {P(sl)} AND {high} <= {P(sh)})";
                case SearchPrefix.Gt:
                    return $"{high} > {P(sh)}";
                case SearchPrefix.Lt:
                    return $"{low} < {P(sl)}";
                case SearchPrefix.Ge:
                {
                    var l = P(sl);
                    var h = P(sh);
                    return $"({high} > {h} OR ({low} >= {l} AND {high} <= {h}))";
                }

                case SearchPrefix.Le:
                {
                    var l = P(sl);
                    var h = P(sh);
                    return $"({low} < {l} OR ({low} >= {l} AND {high} <= {h}))";
                }

                case SearchPrefix.Sa:
                    return $"{low} > {P(sh)}";
                case SearchPrefix.Eb:
                    return $"{high} < {P(sl)}";
                case SearchPrefix.Ap:
                {
                    var margin = d.ApproximateMargin.Ticks;
                    var lo = sl - margin < 0 ? 0 : sl - margin;
                    var hi = sh > DateTimeOffset.MaxValue.UtcTicks - margin ? DateTimeOffset.MaxValue.UtcTicks : sh + margin;
                    return $"({low} <= {P(hi)} AND {high} >= {P(lo)})";
                }

                default:
                    throw new NotSupportedException(d.Prefix.ToString());
            }
        }

        private string NumberPredicate(SearchPrefix prefix, string column, NumberRange range)
        {
            var v = (double)range.Value;
            switch (prefix)
            {
                case SearchPrefix.Eq:
                    return $"({column} >= {P((double)range.Low)} AND {column} < {P((double)range.High)})";
                case SearchPrefix.Ne:
                    return $"({column} < {P((double)range.Low)} OR {column} >= {P((double)range.High)})";
                case SearchPrefix.Gt or SearchPrefix.Sa:
                    return $"{column} > {P(v)}";
                case SearchPrefix.Lt or SearchPrefix.Eb:
                    return $"{column} < {P(v)}";
                case SearchPrefix.Ge:
                    return $"{column} >= {P(v)}";
                case SearchPrefix.Le:
                    return $"{column} <= {P(v)}";
                case SearchPrefix.Ap:
                {
                    var margin = Math.Max(Math.Abs(v) * 0.1, (double)(range.High - range.Low) / 2);
                    return $"({column} >= {P(v - margin)} AND {column} <= {P(v + margin)})";
                }

                default:
                    throw new NotSupportedException(prefix.ToString());
            }
        }

        public string SortKey(SearchSort sort, string r)
        {
            switch (sort.Parameter)
            {
                case "_id":
                    return $"{r}.id";
                case "_lastUpdated":
                    return $"{r}.last_updated";
            }

            var aggregate = sort.Descending ? "MAX" : "MIN";
            var (table, column) = sort.Type switch
            {
                SearchParamType.String => ("idx_string", "x.norm"),
                SearchParamType.Token => ("idx_token", "COALESCE(x.code, x.text)"),
                SearchParamType.Reference => ("idx_reference", "COALESCE(x.target_type || '/' || x.target_id, x.url)"),
                SearchParamType.Date => ("idx_date", sort.Descending ? "x.high" : "x.low"),
                SearchParamType.Number => ("idx_number", "x.value"),
                SearchParamType.Quantity => ("idx_quantity", "COALESCE(x.cvalue, x.value)"),
                SearchParamType.Uri => ("idx_uri", "x.uri"),
                _ => throw new NotSupportedException($"Cannot sort on a {sort.Type} parameter."),
            };
            return $"(SELECT {aggregate}({column}) FROM {table} x WHERE x.rid = {r}.rid AND +x.param = {P(sort.Parameter)})";
        }

        /// <summary>The rids that include <paramref name="include"/> adds for the resources in <paramref name="ridsJson"/>.</summary>
        public string Include(SearchInclude include, string ridsJson)
        {
            var set = P(ridsJson);
            if (!include.Reverse)
            {
                var parameters = include.Parameters.Count == 0 ? " AND ref.param NOT LIKE '%$%'" : $" AND +ref.param IN ({List(include.Parameters)})";
                var source = include.SourceType is null ? "" : $" AND s.type = {P(include.SourceType)}";
                var target = include.TargetType is null ? "" : $" AND t.type = {P(include.TargetType)}";
                return "SELECT DISTINCT t.rid FROM resource s CROSS JOIN idx_reference ref ON ref.rid = s.rid " +
                       "CROSS JOIN resource t ON t.type = ref.target_type AND t.id = ref.target_id " +
                       $"WHERE s.rid IN (SELECT value FROM json_each({set})){source}{parameters}{target} AND t.deleted = 0 AND {LocalUrl("ref")}";
            }

            var reverseParameters = include.Parameters.Count == 0 ? "" : $"ref.param IN ({List(include.Parameters)}) AND ";
            var sourceType = include.SourceType is null ? "" : $" AND s.type = {P(include.SourceType)}";
            var matchType = include.TargetType is null ? "" : $" AND m.type = {P(include.TargetType)}";
            return "SELECT DISTINCT s.rid FROM resource m CROSS JOIN idx_reference ref ON " + reverseParameters + "ref.target_id = m.id AND ref.target_type = m.type " +
                   "CROSS JOIN resource s ON s.rid = ref.rid " +
                   $"WHERE m.rid IN (SELECT value FROM json_each({set})){sourceType}{matchType} AND s.deleted = 0 AND {LocalUrl("ref")}";
        }
    }
}

/// <summary>
/// Paging snapshots: the ordered rids of a search, kept in a side database next to the store's file so that writing one
/// never contends with (or waits for) the store's own write transactions, including the one a transaction Bundle holds.
/// </summary>
internal static class SqliteSearchSnapshots
{
    private const string CreateTableSql = """
        CREATE TABLE IF NOT EXISTS search_snapshot (
            id TEXT NOT NULL PRIMARY KEY,
            expires INTEGER NOT NULL,
            total INTEGER NULL,
            state TEXT NULL,
            rids BLOB NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_search_snapshot_expires ON search_snapshot(expires);
        """;

    /// <summary>The open connections to each side database, by its path.</summary>
    private static readonly ConcurrentDictionary<string, SqliteConnectionSet> Connections = new(StringComparer.Ordinal);

    /// <summary>Expired snapshots are kept this long (answering 410 rather than 404), then purged.</summary>
    private static readonly TimeSpan Retention = TimeSpan.FromHours(1);

    public static async Task<string> SaveAsync(SqliteConnection store, IReadOnlyList<long> rids, int? total, string? state, DateTimeOffset expires, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var blob = new byte[rids.Count * 8];
        for (var i = 0; i < rids.Count; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(blob.AsSpan(i * 8), rids[i]);
        }

        var id = Guid.NewGuid().ToString("N");
        await using var lease = await OpenAsync(store, cancellationToken);
        var connection = lease.Connection;
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = CreateTableSql + """

            DELETE FROM search_snapshot WHERE expires < $purge;
            INSERT INTO search_snapshot(id, expires, total, state, rids) VALUES ($id, $expires, $total, $state, $rids);
            """;
        cmd.Parameters.AddWithValue("$purge", SqliteTime.ToTicks(now - Retention));
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$expires", SqliteTime.ToTicks(expires));
        cmd.Parameters.AddWithValue("$total", (object?)total ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$state", (object?)state ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$rids", blob);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return id;
    }

    public static async Task<(List<long> Rids, int? Total, string? State)> ReadAsync(SqliteConnection store, string id, int offset, int count, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var lease = await OpenAsync(store, cancellationToken);
        await using var cmd = lease.Connection.CreateCommand();
        cmd.CommandText = "SELECT expires, total, state, substr(rids, $start, $length) FROM search_snapshot WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$start", (long)offset * 8 + 1);
        cmd.Parameters.AddWithValue("$length", (long)count * 8);
        SqliteDataReader reader;
        try
        {
            reader = await cmd.ExecuteReaderAsync(cancellationToken);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 1)
        {
            // The side database was removed: its snapshots are gone.
            throw new SearchSnapshotNotFoundException(id, expired: false);
        }

        await using var _ = reader;
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new SearchSnapshotNotFoundException(id, expired: false);
        }

        if (SqliteTime.FromTicks(reader.GetInt64(0)) < now)
        {
            throw new SearchSnapshotNotFoundException(id, expired: true);
        }

        int? total = reader.IsDBNull(1) ? null : reader.GetInt32(1);
        var state = reader.IsDBNull(2) ? null : reader.GetString(2);
        var bytes = reader.IsDBNull(3) ? [] : (byte[])reader.GetValue(3);
        var rids = new List<long>(bytes.Length / 8);
        for (var i = 0; i + 8 <= bytes.Length; i += 8)
        {
            rids.Add(BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i)));
        }

        return (rids, total, state);
    }

    /// <summary>Closes the side database's connections (the store at <paramref name="storePath"/> is being disposed).</summary>
    public static void Release(string storePath)
    {
        if (Connections.TryRemove(storePath + "-snapshots", out var connections))
        {
            connections.Dispose();
        }
    }

    private static ValueTask<SqliteConnectionSet.Lease> OpenAsync(SqliteConnection store, CancellationToken cancellationToken)
    {
        var path = store.DataSource + "-snapshots";
        var connections = Connections.GetOrAdd(path, p => new SqliteConnectionSet(
            new SqliteConnectionStringBuilder { DataSource = p, Mode = SqliteOpenMode.ReadWriteCreate, Cache = SqliteCacheMode.Private, DefaultTimeout = 30 }.ToString(),
            async (connection, ct) =>
            {
                await using var cmd = connection.CreateCommand();
                cmd.CommandText = "PRAGMA busy_timeout=30000; PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; " + CreateTableSql;
                await cmd.ExecuteNonQueryAsync(ct);
            },
            maxIdle: 4));
        return connections.LeaseAsync(cancellationToken);
    }
}
