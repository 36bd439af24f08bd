using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Search;
using Igia.Fhir.Serialization;
using Igia.Fhir.Storage;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Benchmarks.Load;

/// <summary>
/// Where the time of one request goes: after the load runs, on the same store, one request at a time in-process,
/// each step of the handler's read / create / search path timed with a Stopwatch and its allocations counted
/// (the steps are the ones <c>FhirInteractionHandler</c> and <c>SqliteFhirStore</c> take, called one by one).
/// Plus raw SQLite floors on the same file. Service demand without contention: the load figures add queueing.
/// </summary>
internal static partial class Breakdown
{
    /// <summary>CPU time of the calling thread in nanoseconds (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>), or -1 elsewhere.</summary>
    private static long ThreadCpuNanos()
    {
        if (!OperatingSystem.IsLinux())
        {
            return -1;
        }

        return NativeMethods.clock_gettime(3, out var ts) == 0 ? (ts.Seconds * 1_000_000_000L) + ts.Nanoseconds : -1;
    }

    private static partial class NativeMethods
    {
        [StructLayout(LayoutKind.Sequential)]
        public struct Timespec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        [LibraryImport("libc", EntryPoint = "clock_gettime")]
        public static partial int clock_gettime(int clockId, out Timespec time);
    }

    /// <summary>
    /// Per-step wall time, CPU time of this thread (robust to a busy shared machine: time spent descheduled does not
    /// count) and allocations. The steps complete synchronously on this thread (SQLite and MemoryStream I/O are
    /// synchronous), so the thread CPU clock covers them.
    /// </summary>
    private sealed class Stages
    {
        private readonly List<string> _order = [];
        private readonly Dictionary<string, (long Ticks, long CpuNanos, long Bytes, long Count)> _sums = [];
        private long _t;
        private long _c;
        private long _b;

        public void Start()
        {
            _t = Stopwatch.GetTimestamp();
            _c = ThreadCpuNanos();
            _b = GC.GetAllocatedBytesForCurrentThread();
        }

        public void Lap(string name)
        {
            var t = Stopwatch.GetTimestamp();
            var c = ThreadCpuNanos();
            var b = GC.GetAllocatedBytesForCurrentThread();
            if (!_sums.TryGetValue(name, out var s))
            {
                _order.Add(name);
            }

            _sums[name] = (s.Ticks + (t - _t), s.CpuNanos + (c - _c), s.Bytes + (b - _b), s.Count + 1);
            _t = Stopwatch.GetTimestamp();
            _c = ThreadCpuNanos();
            _b = GC.GetAllocatedBytesForCurrentThread();
        }

        public double CpuMicros(string name) => _sums.TryGetValue(name, out var s) ? s.CpuNanos / 1000.0 / s.Count / Divisor(name) : 0;

        public void Forget(string name)
        {
            _order.Remove(name);
            _sums.Remove(name);
        }

        public void Reset()
        {
            _order.Clear();
            _sums.Clear();
        }

        public double Micros(string name) => _sums.TryGetValue(name, out var s) ? s.Ticks * 1e6 / Stopwatch.Frequency / s.Count / Divisor(name) : 0;

        private static double Divisor(string name) => name.Contains("÷10", StringComparison.Ordinal) ? 10 : 1;

        public void Write(StringBuilder sb, string title, string[]? heldUnderWriteLock = null)
        {
            foreach (var warmup in _order.Where(n => n.StartsWith('(')).ToList())
            {
                Forget(warmup);
            }

            var total = _order.Where(n => !n.StartsWith('[')).Sum(Micros);
            var totalCpu = _order.Where(n => !n.StartsWith('[')).Sum(CpuMicros);
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {title} | wall µs/op | CPU µs/op | share of CPU | alloc KB/op |");
            sb.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var name in _order)
            {
                var (_, _, bytes, count) = _sums[name];
                var mark = heldUnderWriteLock?.Contains(name) == true ? " 🔒" : "";
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {name}{mark} | {Micros(name):F1} | {CpuMicros(name):F1} | {CpuMicros(name) / totalCpu:P0} | {bytes / 1024.0 / count / Divisor(name):F1} |");
            }

            sb.AppendLine(CultureInfo.InvariantCulture, $"| **total** | **{total:F1}** | **{totalCpu:F1}** | | |");
            if (heldUnderWriteLock is not null)
            {
                var held = heldUnderWriteLock.Sum(Micros);
                var heldCpu = heldUnderWriteLock.Sum(CpuMicros);
                sb.AppendLine();
                sb.AppendLine(CultureInfo.InvariantCulture, $"🔒 = done while holding the store's single writer lock: {held:F0} µs wall ({heldCpu:F0} µs CPU) per create, so creates cannot exceed ~{1e6 / held:N0}/s (~{1e6 / heldCpu:N0}/s on an idle core) however many cores serve them.");
            }

            sb.AppendLine();
        }
    }

    public static async Task<string> RunAsync(IServiceProvider services, string baseUrl, string databasePath, int patients, string createTemplate, IReadOnlyList<string> searchPaths, bool searchIsReal, Action<string> log)
    {
        var store = services.GetRequiredService<IFhirStore>();
        var search = services.GetRequiredService<FhirSearchService>();
        var executor = services.GetRequiredService<IFhirInteractionExecutor>();
        var parser = new SearchRequestParser(services.GetRequiredService<SearchParameterRegistry>(), services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Igia.Fhir.Server.FhirServerOptions>>().Value);
        var random = new Random(7);
        var sink = new MemoryStream();
        var sb = new StringBuilder();
        var stages = new Stages();
        var ct = CancellationToken.None;

        async System.Threading.Tasks.Task Respond(Resource? resource)
        {
            sink.Position = 0;
            if (resource is not null)
            {
                await FhirFormats.WriteAsync(sink, resource, FhirFormat.Json, FhirWriteOptions.Default, ct);
            }
        }

        // As FhirHttpEndpoint writes a response: stored JSON as it is (a search Bundle spliced) when nobody needed the object.
        async System.Threading.Tasks.Task RespondAsHttp(FhirResponse response)
        {
            if ((response.UnparsedJson ?? response.UnparsedBundle?.ToJson()) is { } stored)
            {
                sink.Position = 0;
                var bytes = Encoding.UTF8.GetBytes(stored);
                await sink.WriteAsync(bytes, ct);
                return;
            }

            await Respond(response.Resource);
        }

        // ---- read -------------------------------------------------------------------------------
        log("Breakdown: read…");
        for (var pass = 0; pass < 2; pass++)
        {
            stages.Reset();
            for (var i = 0; i < (pass == 0 ? 500 : 3000); i++)
            {
                var id = SampleData.PatientId(random.Next(1, patients + 1));
                stages.Start();
                var response = await executor.ExecuteAsync(new FhirInteraction { Kind = FhirInteractionKind.Read, ResourceType = "Patient", Id = id, BaseUrl = baseUrl });
                stages.Lap("whole pipeline (IFhirInteractionExecutor)");
                await RespondAsHttp(response);
                stages.Lap("write response JSON");
            }
        }

        var readPipeline = stages.Micros("whole pipeline (IFhirInteractionExecutor)") + stages.Micros("write response JSON");
        for (var pass = 0; pass < 2; pass++)
        {
            stages.Reset();
            for (var i = 0; i < (pass == 0 ? 500 : 3000); i++)
            {
                var id = SampleData.PatientId(random.Next(1, patients + 1));
                stages.Start();
                var session = await store.OpenSessionAsync(FhirSessionMode.Read, ct);
                stages.Lap("open read session (pooled connection, BEGIN)");
                var stored = await session.ReadAsync("Patient", id, null, ct);
                stages.Lap("SELECT resource JOIN resource_version");
                await session.CommitAsync(ct);
                await session.DisposeAsync();
                stages.Lap("commit + close session");
                sink.Position = 0;
                await sink.WriteAsync(Encoding.UTF8.GetBytes(stored!.Json!), ct);
                stages.Lap("write stored JSON as it is (the HTTP fast path)");

            }
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"Read, one at a time in-process: whole pipeline + response JSON = {readPipeline:F0} µs; the same steps one by one:");
        sb.AppendLine();
        stages.Write(sb, "Read Patient/{id} step");

        // ---- create -----------------------------------------------------------------------------
        log("Breakdown: create…");
        for (var pass = 0; pass < 2; pass++)
        {
            stages.Reset();
            for (var i = 0; i < (pass == 0 ? 300 : 2000); i++)
            {
                var body = Encoding.UTF8.GetBytes(createTemplate.Replace("__PATIENT__", SampleData.PatientId(random.Next(1, patients + 1)), StringComparison.Ordinal));
                stages.Start();
                var resource = FhirFormats.ParseJson(body);
                stages.Lap("parse request JSON (ParseJson)");
                var response = await executor.ExecuteAsync(new FhirInteraction { Kind = FhirInteractionKind.Create, ResourceType = "Observation", Resource = resource, Method = "POST", BaseUrl = baseUrl });
                stages.Lap("whole pipeline (IFhirInteractionExecutor)");
                await RespondAsHttp(response);
                stages.Lap("write response JSON");
            }
        }

        var createPipeline = stages.Micros("parse request JSON (ParseJson)") + stages.Micros("whole pipeline (IFhirInteractionExecutor)") + stages.Micros("write response JSON");
        string[] locked =
        [
            "open write session (writer lock, writer connection, SAVEPOINT; BEGIN IMMEDIATE when a group starts)", "set meta + serialise storage JSON (ToStorageJson)",
            "write rows (SELECT, INSERT resource, INSERT version, index rows)", "COMMIT", "close session, release lock",
        ];
        var indexRows = 0L;
        for (var pass = 0; pass < 2; pass++)
        {
            stages.Reset();
            for (var i = 0; i < (pass == 0 ? 300 : 2000); i++)
            {
                var body = Encoding.UTF8.GetBytes(createTemplate.Replace("__PATIENT__", SampleData.PatientId(random.Next(1, patients + 1)), StringComparison.Ordinal));
                stages.Start();
                var resource = FhirFormats.ParseJson(body);
                stages.Lap("parse request JSON (ParseJson)");
                var index = search.Extract(resource);
                indexRows += index.Count;
                stages.Lap("extract search index (FhirSearchService.Extract, before the writer lock as in the HTTP path)");
                var session = await store.OpenSessionAsync(FhirSessionMode.Write, ct);
                stages.Lap(locked[0]);
                var id = Guid.CreateVersion7().ToString();
                var now = DateTimeOffset.UtcNow;
                resource.Id = id;
                resource.Meta ??= new Meta();
                resource.Meta.VersionId = "1";
                resource.Meta.LastUpdated = now;
                var json = FhirFormats.ToStorageJson(resource);
                stages.Lap(locked[1]);
                await session.WriteAsync(new ResourceWrite("Observation", id, 1, now, "POST", json, index), ct);
                stages.Lap(locked[2]);
                await session.CommitAsync(ct);
                stages.Lap(locked[3]);
                await session.DisposeAsync();
                stages.Lap(locked[4]);
                sink.Position = 0;
                await sink.WriteAsync(Encoding.UTF8.GetBytes(json), ct);
                stages.Lap("write response JSON (the stored JSON)");
            }
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"Create, one at a time in-process: parse + whole pipeline + response JSON = {createPipeline:F0} µs; the same steps one by one ({indexRows / 2000.0:F0} index rows per Observation):");
        sb.AppendLine();
        stages.Write(sb, "Create Observation step", locked);

        // ---- create, what batching and prepared statements would give -----------------------------
        log("Breakdown: create alternatives…");
        const int Group = 32;
        var batchItems = new List<(string Id, DateTimeOffset Now, string Json, IReadOnlyList<SearchIndexEntry> Index)>();
        void Prepare(int count)
        {
            batchItems.Clear();
            for (var i = 0; i < count; i++)
            {
                var resource = FhirFormats.ParseJson(Encoding.UTF8.GetBytes(createTemplate.Replace("__PATIENT__", SampleData.PatientId(random.Next(1, patients + 1)), StringComparison.Ordinal)));
                var id = Guid.CreateVersion7().ToString();
                var now = DateTimeOffset.UtcNow;
                resource.Id = id;
                resource.Meta ??= new Meta();
                resource.Meta.VersionId = "1";
                resource.Meta.LastUpdated = now;
                batchItems.Add((id, now, FhirFormats.ToStorageJson(resource), search.Extract(resource)));
            }
        }

        stages.Reset();
        for (var pass = 0; pass < 2; pass++)
        {
            for (var batch = 0; batch < (pass == 0 ? 3 : 40); batch++)
            {
                Prepare(Group);
                stages.Start();
                var session = await store.OpenSessionAsync(FhirSessionMode.Write, ct);
                foreach (var (id, now, json, index) in batchItems)
                {
                    await session.WriteAsync(new ResourceWrite("Observation", id, 1, now, "POST", json, index), ct);
                }

                stages.Lap(pass == 0 ? "(warm-up write)" : "open session + write rows, store code");
                await session.CommitAsync(ct);
                await session.DisposeAsync();
                stages.Lap(pass == 0 ? "(warm-up commit)" : "COMMIT + close");
            }
        }

        var groupWrite = stages.Micros("open session + write rows, store code") / Group;
        var groupWriteCpu = stages.CpuMicros("open session + write rows, store code") / Group;
        var groupCommit = stages.Micros("COMMIT + close") / Group;
        var groupCommitCpu = stages.CpuMicros("COMMIT + close") / Group;

        var cs = new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadWrite, Cache = SqliteCacheMode.Private, Pooling = true }.ToString();
        var raw = new Dictionary<int, (double Write, double WriteCpu, double Commit, double CommitCpu)>();
        await using (var writer = new SqliteConnection(cs))
        {
            writer.Open();
            using (var pragma = writer.CreateCommand())
            {
                pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;";
                pragma.ExecuteNonQuery();
            }

            using var rawWriter = new RawIndexWriter(writer);
            foreach (var perCommit in new[] { 1, Group })
            {
                stages.Reset();
                for (var pass = 0; pass < 2; pass++)
                {
                    for (var batch = 0; batch < (pass == 0 ? 3 : 1280 / perCommit); batch++)
                    {
                        Prepare(perCommit);
                        stages.Start();
                        using var tx = writer.BeginTransaction(deferred: false);
                        foreach (var (id, now, json, index) in batchItems)
                        {
                            rawWriter.Write(tx, "Observation", id, now, json, index);
                        }

                        stages.Lap(pass == 0 ? "(warm-up write)" : "write");
                        tx.Commit();
                        stages.Lap(pass == 0 ? "(warm-up commit)" : "commit");
                    }
                }

                raw[perCommit] = (stages.Micros("write") / perCommit, stages.CpuMicros("write") / perCommit, stages.Micros("commit") / perCommit, stages.CpuMicros("commit") / perCommit);
            }
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"The locked part of a create done differently (same Observation, same index rows; µs per create, wall / CPU):");
        sb.AppendLine();
        sb.AppendLine("| Write path | write rows | COMMIT | locked total | creates/s ceiling (wall / CPU) |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        void Row(string name, double w, double wc, double c, double cc) =>
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {w:F0} / {wc:F0} | {c:F0} / {cc:F0} | {w + c:F0} / {wc + cc:F0} | {1e6 / (w + c):N0} / {1e6 / (wc + cc):N0} |");
        Row($"store code, {Group} creates per transaction (group commit)", groupWrite, groupWriteCpu, groupCommit, groupCommitCpu);
        Row("raw SQLite, prepared statements reused, no DELETEs, 1 create per transaction", raw[1].Write, raw[1].WriteCpu, raw[1].Commit, raw[1].CommitCpu);
        Row($"raw SQLite, prepared statements reused, no DELETEs, {Group} creates per transaction", raw[Group].Write, raw[Group].WriteCpu, raw[Group].Commit, raw[Group].CommitCpu);
        sb.AppendLine();

        // ---- search -----------------------------------------------------------------------------
        if (!searchIsReal)
        {
            sb.AppendLine("Search: skipped, the search does not yet return the expected matches.");
            sb.AppendLine();
        }

        var matches = 0L;
        var searches = 0;
        for (var pass = 0; pass < (searchIsReal ? 2 : 0); pass++)
        {
            if (pass == 0)
            {
                log("Breakdown: search…");
            }

            stages.Reset();
            matches = 0;
            searches = 0;
            for (var i = 0; i < (pass == 0 ? 20 : 300); i++)
            {
                var path = searchPaths[random.Next(searchPaths.Count)];
                var q = path.IndexOf('?', StringComparison.Ordinal);
                var parameters = QueryHelpers.ParseQuery(path[q..]).SelectMany(kv => kv.Value.Select(v => new KeyValuePair<string, string>(kv.Key, v ?? ""))).ToList();
                stages.Start();
                var session = await store.OpenSessionAsync(FhirSessionMode.Read, ct);
                stages.Lap("open read session");
                var parsed = parser.Parse(new SearchRequest("Observation", parameters, baseUrl, false));
                stages.Lap("[not in the total] parse the search parameters alone (SearchRequestParser)");
                await session.SearchAsync(new SearchQuery { ResourceTypes = parsed.ResourceTypes, Conditions = parsed.Conditions, Count = parsed.Count, MaxResults = 1000, BaseUrl = baseUrl, Now = DateTimeOffset.UtcNow }, ct);
                stages.Lap("[not in the total] store search alone (SQL + rows, no Bundle)");
                var bundle = await search.SearchAsync(session, new SearchRequest("Observation", parameters, baseUrl, false), ct);
                stages.Lap("FhirSearchService.SearchAsync (parse, SQL, Bundle frame)");
                await session.CommitAsync(ct);
                await session.DisposeAsync();
                stages.Lap("commit + close session");
                sink.Position = 0;
                await sink.WriteAsync(Encoding.UTF8.GetBytes(bundle.ToJson()), ct);
                stages.Lap("write response JSON (stored entries spliced in)");
                matches += bundle.Bundle.Entry.Count;
                searches++;
            }
        }

        if (searchIsReal)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"Search, one at a time in-process ({matches / (double)searches:F1} entries per Bundle):");
            sb.AppendLine();
            stages.Write(sb, "Observation?patient&code&date step");
        }

        // ---- raw SQLite floors ------------------------------------------------------------------
        log("Breakdown: raw SQLite…");
        stages.Reset();
        await using (var kept = new SqliteConnection(cs))
        {
            kept.Open();
            using var prepared = kept.CreateCommand();
            prepared.CommandText = "SELECT v.version, v.last_updated, v.method, v.json FROM resource r JOIN resource_version v ON v.rid = r.rid AND v.version = r.version WHERE r.type = $type AND r.id = $id";
            var pType = prepared.Parameters.Add("$type", SqliteType.Text);
            var pId = prepared.Parameters.Add("$id", SqliteType.Text);
            pType.Value = "Patient";
            pId.Value = "p1";
            prepared.Prepare();
            for (var pass = 0; pass < 2; pass++)
            {
                stages.Reset();
                for (var i = 0; i < (pass == 0 ? 500 : 5000); i++)
                {
                    var id = SampleData.PatientId(random.Next(1, patients + 1));
                    stages.Start();
                    using (var c = new SqliteConnection(cs))
                    {
                        c.Open();
                    }

                    stages.Lap("open + close a pooled connection");
                    using (var pragma = kept.CreateCommand())
                    {
                        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;";
                        pragma.ExecuteNonQuery();
                    }

                    stages.Lap("the 4 PRAGMAs run on every session open");
                    using (var fresh = kept.CreateCommand())
                    {
                        fresh.CommandText = prepared.CommandText;
                        fresh.Parameters.AddWithValue("$type", "Patient");
                        fresh.Parameters.AddWithValue("$id", id);
                        using var r = fresh.ExecuteReader();
                        r.Read();
                        _ = r.GetString(3);
                    }

                    stages.Lap("read query, new command each time (as the store does)");
                    pId.Value = id;
                    using (var r = prepared.ExecuteReader())
                    {
                        r.Read();
                        _ = r.GetString(3);
                    }

                    stages.Lap("read query, one prepared command reused");
                }
            }
        }

        // The same prepared read with the file memory-mapped and a 64 MiB page cache (instead of 2 MiB and read() calls).
        await using (var mapped = new SqliteConnection(cs))
        {
            mapped.Open();
            using (var pragma = mapped.CreateCommand())
            {
                pragma.CommandText = "PRAGMA mmap_size=1073741824; PRAGMA cache_size=-65536;";
                pragma.ExecuteNonQuery();
            }

            using var prepared = mapped.CreateCommand();
            prepared.CommandText = "SELECT v.version, v.last_updated, v.method, v.json FROM resource r JOIN resource_version v ON v.rid = r.rid AND v.version = r.version WHERE r.type = $type AND r.id = $id";
            prepared.Parameters.AddWithValue("$type", "Patient");
            var pId = prepared.Parameters.Add("$id", SqliteType.Text);
            pId.Value = "p1";
            prepared.Prepare();
            for (var pass = 0; pass < 2; pass++)
            {
                for (var i = 0; i < (pass == 0 ? 2000 : 5000); i++)
                {
                    pId.Value = SampleData.PatientId(random.Next(1, patients + 1));
                    stages.Start();
                    using var r = prepared.ExecuteReader();
                    r.Read();
                    _ = r.GetString(3);
                    stages.Lap(pass == 0 ? "(warm-up)" : "read query, prepared, mmap_size=1 GiB + cache_size=64 MiB");
                }
            }
        }

        sb.AppendLine("Raw SQLite on the same file (Microsoft.Data.Sqlite, no FHIR work):");
        sb.AppendLine();
        stages.Write(sb, "SQLite operation");

        if (searchIsReal)
        {
            log("Breakdown: raw search SQL…");
            stages.Reset();
            await using var connection = new SqliteConnection(cs);
            connection.Open();
            var since = new DateTimeOffset(2022, 1, 1, 0, 0, 0, TimeSpan.Zero);
            var dayEnd = since.AddDays(1).AddTicks(-1);
            using var preparedSearch = connection.CreateCommand();
            preparedSearch.CommandText = SearchSql(inSubqueries: false);
            preparedSearch.Parameters.AddWithValue("$patient", "p1");
            preparedSearch.Parameters.AddWithValue("$code", SampleData.Codes[1].Code);
            preparedSearch.Parameters.AddWithValue("$base", baseUrl);
            preparedSearch.Parameters.AddWithValue("$low", since.UtcTicks);
            preparedSearch.Parameters.AddWithValue("$high", dayEnd.UtcTicks);
            preparedSearch.Prepare();
            var rowsIn = 0L;
            var rowsExists = 0L;
            for (var pass = 0; pass < 2; pass++)
            {
                for (var i = 0; i < (pass == 0 ? 5 : 30); i++)
                {
                    var patient = SampleData.PatientId(random.Next(1, patients + 1));
                    var code = SampleData.Codes[random.Next(SampleData.Codes.Length)].Code;
                    stages.Start();
                    rowsIn += CountRows(connection, SearchSql(inSubqueries: true), patient, code, baseUrl, since, dayEnd);
                    stages.Lap(pass == 0 ? "(warm-up IN)" : "each condition an r.rid IN (SELECT rid …) list next to r.type = ? (SqliteSearchIndex at commit c2bf12d)");
                    rowsExists += CountRows(connection, SearchSql(inSubqueries: false), patient, code, baseUrl, since, dayEnd);
                    stages.Lap(pass == 0 ? "(warm-up EXISTS)" : "driven by the reference index, the other conditions EXISTS probes keyed by rid");
                    for (var k = 0; k < 10; k++)
                    {
                        patient = SampleData.PatientId(random.Next(1, patients + 1));
                        preparedSearch.Parameters["$patient"].Value = patient;
                        using var reader = preparedSearch.ExecuteReader();
                        while (reader.Read())
                        {
                        }
                    }

                    stages.Lap(pass == 0 ? "(warm-up prepared)" : "the same, statement prepared once and reused (×10 per row, µs per search shown ÷10)");
                }
            }

            sb.AppendLine(CultureInfo.InvariantCulture, $"The search's SQL, raw on the same file (`{searchPaths[0]}`-shaped; both forms gave the same rows: {(rowsIn == rowsExists ? "yes" : $"no, {rowsIn} vs {rowsExists}")}):");
            sb.AppendLine();
            stages.Write(sb, "SQL form");
        }

        return sb.ToString();
    }

    /// <summary>
    /// Observation?patient=…&amp;code=http://loinc.org|…&amp;date=ge2022-01-01 as SQL: either the shape
    /// <c>SqliteSearchIndex</c> gave it at commit c2bf12d (each condition an <c>r.rid IN (SELECT rid …)</c> list next to
    /// <c>r.type = ?</c>, which SQLite runs by scanning every Observation), or driven by the most selective condition
    /// (the reference) with the others as <c>EXISTS</c> probes on the index tables' (rid, seq) keys.
    /// </summary>
    private static string SearchSql(bool inSubqueries)
    {
        const string reference = "x0.param = 'patient' AND x0.target_id = $patient AND x0.target_type IN ('Patient') AND (x0.url IS NULL OR x0.url = $base || '/' || x0.target_type || '/' || x0.target_id)";
        const string token = "x1.param = 'code' AND x1.code = $code AND x1.system = 'http://loinc.org'";
        const string date = "(x2.high > $high OR (x2.low >= $low AND x2.high <= $high))";
        return inSubqueries
            ? $"""
              SELECT r.rid FROM resource r WHERE r.deleted = 0 AND r.type = 'Observation'
              AND r.rid IN (SELECT x0.rid FROM idx_reference x0 WHERE {reference})
              AND r.rid IN (SELECT x1.rid FROM idx_token x1 WHERE {token})
              AND r.rid IN (SELECT x2.rid FROM idx_date x2 WHERE x2.param = 'date' AND {date})
              ORDER BY r.rid LIMIT 1001
              """
            : $"""
              SELECT r.rid FROM idx_reference x0 JOIN resource r ON r.rid = x0.rid
              WHERE {reference} AND r.deleted = 0 AND r.type = 'Observation'
              AND EXISTS (SELECT 1 FROM idx_token x1 WHERE x1.rid = r.rid AND {token})
              AND EXISTS (SELECT 1 FROM idx_date x2 WHERE x2.rid = r.rid AND +x2.param = 'date' AND {date})
              ORDER BY r.rid LIMIT 1001
              """;
    }

    private static long CountRows(SqliteConnection connection, string sql, string patient, string code, string baseUrl, DateTimeOffset low, DateTimeOffset high)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$patient", patient);
        cmd.Parameters.AddWithValue("$code", code);
        cmd.Parameters.AddWithValue("$base", baseUrl);
        cmd.Parameters.AddWithValue("$low", low.UtcTicks);
        cmd.Parameters.AddWithValue("$high", high.UtcTicks);
        using var reader = cmd.ExecuteReader();
        var n = 0L;
        while (reader.Read())
        {
            n++;
        }

        return n;
    }

    /// <summary>
    /// Writes a new resource and its index rows with prepared statements that are kept and reused (one per table), in
    /// the schema of <c>SqliteSchema</c>/<c>SqliteSearchIndex</c> and with the same row layout — the floor for the
    /// store's write, which builds and prepares one SQL text (7 DELETEs and multi-row INSERTs) per write.
    /// </summary>
    private sealed class RawIndexWriter : IDisposable
    {
        private readonly SqliteCommand _resource;
        private readonly SqliteCommand _version;
        private readonly Dictionary<string, SqliteCommand> _tables = [];

        public RawIndexWriter(SqliteConnection connection)
        {
            _resource = Prepare(connection, "INSERT INTO resource(type, id, version, last_updated, deleted) VALUES ($a, $b, 1, $c, 0) RETURNING rid", 3);
            _version = Prepare(connection, "INSERT INTO resource_version(rid, version, type, id, last_updated, method, json) VALUES ($a, 1, $b, $c, $d, 'POST', $e)", 5);
            foreach (var (table, columns) in new[]
            {
                ("idx_string", "param,norm,exact"), ("idx_token", "param,system,code,text"), ("idx_reference", "param,target_type,target_id,url"),
                ("idx_date", "param,low,high"), ("idx_number", "param,value"), ("idx_quantity", "param,value,system,code,unit,cvalue,ccode"), ("idx_uri", "param,uri"),
            })
            {
                var n = columns.Split(',').Length;
                var values = string.Join(",", Enumerable.Range(0, n).Select(i => "$v" + i.ToString(CultureInfo.InvariantCulture)));
                _tables[table] = Prepare(connection, $"INSERT INTO {table}(rid,seq,grp,{columns}) VALUES ($rid,$seq,$grp,{values})", 0, n);
            }
        }

        private static SqliteCommand Prepare(SqliteConnection connection, string sql, int letters, int values = 0)
        {
            var cmd = connection.CreateCommand();
            cmd.CommandText = sql;
            foreach (var name in "abcde"[..letters])
            {
                cmd.Parameters.Add("$" + name, SqliteType.Text);
            }

            if (values > 0)
            {
                cmd.Parameters.Add("$rid", SqliteType.Integer);
                cmd.Parameters.Add("$seq", SqliteType.Integer);
                cmd.Parameters.Add("$grp", SqliteType.Integer);
                for (var i = 0; i < values; i++)
                {
                    cmd.Parameters.Add("$v" + i.ToString(CultureInfo.InvariantCulture), SqliteType.Text);
                }
            }

            return cmd;
        }

        public void Write(SqliteTransaction tx, string type, string id, DateTimeOffset now, string json, IReadOnlyList<SearchIndexEntry> index)
        {
            _resource.Transaction = tx;
            _resource.Parameters[0].Value = type;
            _resource.Parameters[1].Value = id;
            _resource.Parameters[2].Value = now.UtcTicks;
            var rid = (long)_resource.ExecuteScalar()!;
            _version.Transaction = tx;
            _version.Parameters[0].Value = rid;
            _version.Parameters[1].Value = type;
            _version.Parameters[2].Value = id;
            _version.Parameters[3].Value = now.UtcTicks;
            _version.Parameters[4].Value = json;
            _version.ExecuteNonQuery();
            var seq = new Dictionary<string, int>();
            var group = 0;
            foreach (var entry in index)
            {
                if (entry is CompositeIndexEntry composite)
                {
                    group++;
                    foreach (var row in composite.Components.SelectMany(c => c))
                    {
                        Row(tx, rid, row, group, seq);
                    }
                }
                else
                {
                    Row(tx, rid, entry, 0, seq);
                }
            }
        }

        private void Row(SqliteTransaction tx, long rid, SearchIndexEntry entry, int group, Dictionary<string, int> seq)
        {
            var (table, values) = entry switch
            {
                StringIndexEntry s => ("idx_string", new object?[] { s.ParameterCode, s.Normalized, s.Exact }),
                TokenIndexEntry t => ("idx_token", [t.ParameterCode, t.System, t.Code, t.Text]),
                ReferenceIndexEntry r => ("idx_reference", [r.ParameterCode, r.TargetType, r.TargetId, r.Url]),
                DateIndexEntry d => ("idx_date", [d.ParameterCode, d.Low.UtcTicks, d.High.UtcTicks]),
                NumberIndexEntry number => ("idx_number", [number.ParameterCode, (double)number.Value]),
                QuantityIndexEntry q => ("idx_quantity", [q.ParameterCode, (double)q.Value, q.System, q.Code, q.Unit, q.CanonicalValue is { } cv ? (double)cv : null, q.CanonicalCode]),
                UriIndexEntry u => ("idx_uri", [u.ParameterCode, u.Uri]),
                _ => (null!, []),
            };
            if (table is null)
            {
                return;
            }

            var cmd = _tables[table];
            cmd.Transaction = tx;
            var n = seq.GetValueOrDefault(table);
            seq[table] = n + 1;
            cmd.Parameters[0].Value = rid;
            cmd.Parameters[1].Value = n;
            cmd.Parameters[2].Value = group;
            for (var i = 0; i < values.Length; i++)
            {
                cmd.Parameters[3 + i].Value = values[i] ?? DBNull.Value;
            }

            cmd.ExecuteNonQuery();
        }

        public void Dispose()
        {
            _resource.Dispose();
            _version.Dispose();
            foreach (var cmd in _tables.Values)
            {
                cmd.Dispose();
            }
        }
    }
}
