using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Benchmarks.Load;

/// <summary>
/// The load run: seed ≥100,000 resources, capture Igia's responses for the bare baseline, then for each scenario
/// (read by id, indexed search, create) run wrk against Igia and against bare in the same process and report
/// requests/s, p50/p99 latency, the Igia/bare ratio, and server CPU and allocations per request.
/// </summary>
internal static class LoadRun
{
    private const string SearchDate = "2022-01-01";
    private static readonly string[] ReplayedHeaders = ["Content-Type", "ETag", "Last-Modified", "Location", "Content-Location"];

    private sealed record Target(string Name, string Script, string[] ScriptArgs);

    private sealed record Scenario(string Name, string Description, Target Bare, Target Igia);

    private sealed record Measured(string Scenario, string Target, int Round, WrkResult Wrk, double CpuMsTotal, double ClientCpuMsTotal, double WallSeconds, int Gen0, int Gen1, int Gen2)
    {
        public double ClientCpuUsPerRequest => Wrk.Requests == 0 ? 0 : ClientCpuMsTotal * 1000 / Wrk.Requests;

        public double CpuUsPerRequest => Wrk.Requests == 0 ? 0 : CpuMsTotal * 1000 / Wrk.Requests;

        public double ServerCores => CpuMsTotal / 1000 / WallSeconds;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        LoadOptions o;
        try
        {
            o = LoadOptions.Parse(args);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(LoadOptions.Usage);
            return 2;
        }

        if (o.Help)
        {
            Console.WriteLine(LoadOptions.Usage);
            return 0;
        }

        var wrkVersion = Wrk.Version();
        if (wrkVersion is null)
        {
            Console.Error.WriteLine("wrk is not on PATH. Install it (Debian/Ubuntu: apt-get install -y wrk) and run again.");
            return 2;
        }

        // Stops by itself whatever happens: a hard ceiling (seeding time depends on the machine; the measured part is fixed).
        var ceiling = TimeSpan.FromMinutes(o.MaxMinutes);
        _ = Task.Delay(ceiling).ContinueWith(_ =>
        {
            Console.Error.WriteLine($"Load run exceeded {ceiling}; stopping.");
            Environment.Exit(3);
        }, TaskScheduler.Default);

        var started = DateTimeOffset.UtcNow;
        var loadBefore = ReadFirstLine("/proc/loadavg");
        var dataFolder = o.DataFolder ?? Path.Combine(Path.GetTempPath(), "igia-load-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dataFolder);
        var dbPath = Path.Combine(dataFolder, "fhir.db");
        if (o.Reuse && !File.Exists(dbPath))
        {
            Console.Error.WriteLine($"--reuse: there is no store at {dbPath}.");
            return 2;
        }

        if (File.Exists(dbPath) && !o.Reuse)
        {
            Console.Error.WriteLine($"{dbPath} exists; the load run needs a fresh store. Remove it or pick another --data folder.");
            return 2;
        }

        var scriptFolder = Path.Combine(AppContext.BaseDirectory, "Load");
        var results = new List<Measured>();
        var notes = new List<string>();
        int seeded;
        TimeSpan seedTime;
        long dbBytes;
        int searchCorrect;
        int searchTotal;
        string searchSample;
        int searchEntriesAvg;
        string? breakdown = null;
        var seedCpu = TimeSpan.Zero;
        await using (var host = await LoadHost.StartAsync(dbPath))
        {
            var baseUrl = new Uri(host.Address, "/fhir").ToString();
            Log($"Kestrel on {host.Address}; store {dbPath}");
            // Ctrl-C / SIGTERM stop the host; stop the run with it.
            var stopping = host.App.Lifetime.ApplicationStopping;

            // ---- seed -----------------------------------------------------------------------------
            Log(o.Reuse ? "Reusing the store." : $"Seeding {o.Patients:N0} patients × {o.ObservationsPerPatient} Observations in transactions of {o.PatientsPerTransaction * (o.ObservationsPerPatient + 1)} entries…");
            var executor = host.App.Services.GetRequiredService<IFhirInteractionExecutor>();
            if (o.Reuse)
            {
                seeded = await Seeder.CountAsync(executor, baseUrl, stopping);
                seedTime = TimeSpan.Zero;
                notes.Add($"Reused the store of an earlier run (--reuse: {seeded:N0} resources, the earlier runs' creates included; no seeding).");
            }
            else
            {
                using (var self = Process.GetCurrentProcess())
                {
                    var cpu0 = self.TotalProcessorTime;
                    (seeded, seedTime) = await Seeder.SeedAsync(executor, baseUrl, o, Log, stopping);
                    self.Refresh();
                    seedCpu = self.TotalProcessorTime - cpu0;
                }
            }

            dbBytes = DatabaseBytes(dataFolder);
            Log($"{seeded:N0} resources, seeded in {seedTime.TotalSeconds:F1} s ({seedCpu.TotalSeconds:F0} s CPU); store {dbBytes / 1048576.0:F0} MiB");

            // ---- capture Igia's answers for the bare endpoint ---------------------------------------
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 }) { BaseAddress = host.Address };
            http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
            var readPaths = Enumerable.Range(1, o.Patients).Select(p => "Patient/" + SampleData.PatientId(p)).ToArray();
            var random = new Random(42);
            var searches = Enumerable.Range(0, o.SearchQueries)
                .Select(_ => (Patient: random.Next(1, o.Patients + 1), Code: random.Next(SampleData.Codes.Length)))
                .Distinct()
                .Select(x => (x.Patient, x.Code, Path: $"Observation?patient={SampleData.PatientId(x.Patient)}&code=http://loinc.org%7C{SampleData.Codes[x.Code].Code}&date=ge{SearchDate}"))
                .ToArray();
            Log($"Capturing {readPaths.Length:N0} read and {searches.Length:N0} search responses for the bare endpoint…");
            await Parallel.ForEachAsync(readPaths.Concat(searches.Select(s => s.Path)), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (path, ct) =>
            {
                using var response = await http.GetAsync("/fhir/" + path, ct);
                host.BareGets[path] = await CaptureAsync(response);
            });
            var badReads = readPaths.Count(p => host.BareGets[p].Status != 200);
            if (badReads > 0)
            {
                throw new InvalidOperationException($"{badReads} seeded patients could not be read back.");
            }

            searchCorrect = searches.Count(s => SearchIsCorrect(host.BareGets[s.Path], ExpectedMatches(s.Patient, s.Code, o)));
            searchTotal = searches.Length;
            searchEntriesAvg = (int)Math.Round(searches.Average(s => MatchIds(host.BareGets[s.Path]).Count));
            searchSample = searches[0].Path;
            if (searchCorrect < searches.Length)
            {
                notes.Add($"Only {searchCorrect} of {searches.Length} search URLs returned exactly the expected Observations: the search figures do not measure a correct indexed search.");
            }

            // The create body: a typical Observation for a random seeded patient; the bare answer: Igia's answer to it.
            var template = FhirFormats.ToStorageJson(WithoutId(SampleData.Observation(1, 7))).Replace("\"Patient/p1\"", "\"Patient/__PATIENT__\"", StringComparison.Ordinal);
            if (!template.Contains("__PATIENT__", StringComparison.Ordinal))
            {
                throw new InvalidOperationException("Create template has no patient placeholder.");
            }

            var templateFile = Path.Combine(dataFolder, "create-template.json");
            await File.WriteAllTextAsync(templateFile, template);
            using (var post = await http.PostAsync("/fhir/Observation", new StringContent(template.Replace("__PATIENT__", "p1", StringComparison.Ordinal), Encoding.UTF8, "application/fhir+json")))
            {
                host.BareCreate = await CaptureAsync(post);
                if (host.BareCreate.Status != 201)
                {
                    throw new InvalidOperationException($"Create answered {host.BareCreate.Status}: {Encoding.UTF8.GetString(host.BareCreate.Body)}");
                }
            }

            var readsFile = Path.Combine(dataFolder, "reads.txt");
            var searchesFile = Path.Combine(dataFolder, "searches.txt");
            await File.WriteAllLinesAsync(readsFile, readPaths);
            await File.WriteAllLinesAsync(searchesFile, searches.Select(s => s.Path));

            var paths = Path.Combine(scriptFolder, "paths.lua");
            var create = Path.Combine(scriptFolder, "create.lua");
            var patients = o.Patients.ToString(CultureInfo.InvariantCulture);
            var scenarios = new Dictionary<string, Scenario>
            {
                ["read"] = new("read", "GET Patient/{random seeded id}",
                    new("bare", paths, ["/bare/", readsFile]), new("igia", paths, ["/fhir/", readsFile])),
                ["search"] = new("search", $"GET Observation?patient={{id}}&code=http://loinc.org|{{code}}&date=ge{SearchDate} ({searches.Length} distinct URLs)",
                    new("bare", paths, ["/bare/", searchesFile]), new("igia", paths, ["/fhir/", searchesFile])),
                ["create"] = new("create", "POST Observation (random seeded patient)",
                    new("bare", create, ["/bare/Observation", templateFile, patients]), new("igia", create, ["/fhir/Observation", templateFile, patients])),
            };

            // ---- measure ------------------------------------------------------------------------------
            foreach (var name in o.Scenarios)
            {
                stopping.ThrowIfCancellationRequested();
                var scenario = scenarios[name];
                Log($"[{name}] warm-up {o.WarmupSeconds} s each…");
                await Wrk.RunAsync(host.Address, scenario.Bare.Script, scenario.Bare.ScriptArgs, o.Threads, o.Connections, o.WarmupSeconds);
                await Wrk.RunAsync(host.Address, scenario.Igia.Script, scenario.Igia.ScriptArgs, o.Threads, o.Connections, o.WarmupSeconds);
                for (var round = 1; round <= o.Rounds; round++)
                {
                    // Alternate the order (bare, igia / igia, bare) so drift on a shared machine hits both alike.
                    var order = round % 2 == 1 ? new[] { scenario.Bare, scenario.Igia } : [scenario.Igia, scenario.Bare];
                    foreach (var target in order)
                    {
                        stopping.ThrowIfCancellationRequested();
                        var m = await MeasureAsync(host, name, target, round, o);
                        results.Add(m);
                        Log($"[{name}] {target.Name,-4} round {round}: {m.Wrk.RequestsPerSecond,9:N0} req/s  p50 {m.Wrk.P50Us / 1000.0,6:F2} ms  p99 {m.Wrk.P99Us / 1000.0,7:F2} ms  cpu {m.CpuUsPerRequest,6:F0} µs/req (wrk {m.ClientCpuUsPerRequest,3:F0})  GCs {m.Gen0}/{m.Gen1}/{m.Gen2}  errors {m.Wrk.Errors}");
                    }
                }
            }

            if (o.Breakdown)
            {
                stopping.ThrowIfCancellationRequested();
                breakdown = await Breakdown.RunAsync(host.App.Services, baseUrl, dbPath, o.Patients, template, searches.Select(s => s.Path).ToArray(), searchCorrect == searchTotal, Log);
            }

            dbBytes = DatabaseBytes(dataFolder);
        }

        var report = Report(o, started, loadBefore, ReadFirstLine("/proc/loadavg"), wrkVersion, seeded, seedTime, seedCpu, dbBytes, searchCorrect, searchTotal, searchEntriesAvg, searchSample, results, notes, breakdown, args);
        Console.WriteLine();
        Console.WriteLine(report);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o.Output))!);
        await File.WriteAllTextAsync(o.Output, report);
        Log($"Written to {Path.GetFullPath(o.Output)}");

        if (!o.Keep && !o.Reuse)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataFolder, recursive: true);
        }

        return 0;
    }

    private static async Task<Measured> MeasureAsync(LoadHost host, string scenario, Target target, int round, LoadOptions o)
    {
        using var self = Process.GetCurrentProcess();
        var cpu0 = self.TotalProcessorTime;
        var child0 = ChildrenCpuMilliseconds();
        var (g0, g1, g2) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var wall = Stopwatch.StartNew();
        var wrk = await Wrk.RunAsync(host.Address, target.Script, target.ScriptArgs, o.Threads, o.Connections, o.DurationSeconds);
        wall.Stop();
        self.Refresh();
        return new Measured(scenario, target.Name, round, wrk,
            (self.TotalProcessorTime - cpu0).TotalMilliseconds, ChildrenCpuMilliseconds() - child0, wall.Elapsed.TotalSeconds,
            GC.CollectionCount(0) - g0, GC.CollectionCount(1) - g1, GC.CollectionCount(2) - g2);
    }

    /// <summary>CPU time of this process's finished, reaped children (the wrk runs), from /proc/self/stat (cutime + cstime).</summary>
    private static double ChildrenCpuMilliseconds()
    {
        if (!File.Exists("/proc/self/stat"))
        {
            return double.NaN;
        }

        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After "pid (comm) ", field 3 (state) is index 0; cutime and cstime are fields 16 and 17.
        var ticks = long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
        return ticks * 1000.0 / 100; // USER_HZ is 100 on Linux
    }

    private static async Task<CapturedResponse> CaptureAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        var headers = response.Headers.Concat(response.Content.Headers)
            .Where(h => ReplayedHeaders.Contains(h.Key, StringComparer.OrdinalIgnoreCase))
            .Select(h => new KeyValuePair<string, string>(h.Key, string.Join(", ", h.Value)))
            .ToArray();
        return new CapturedResponse((int)response.StatusCode, headers, body);
    }

    private static Hl7.Fhir.Model.Observation WithoutId(Hl7.Fhir.Model.Observation observation)
    {
        observation.Id = null;
        return observation;
    }

    /// <summary>The ids a correct search for (patient, code, date ≥ <see cref="SearchDate"/>) returns.</summary>
    private static HashSet<string> ExpectedMatches(int patient, int code, LoadOptions o)
    {
        var since = DateTimeOffset.Parse(SearchDate, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var k = code; k < o.ObservationsPerPatient; k += SampleData.Codes.Length)
        {
            if (SampleData.FirstEffective.AddDays(k * SampleData.ObservationSpacingDays) >= since)
            {
                ids.Add(SampleData.ObservationId(patient, k));
            }
        }

        return ids;
    }

    private static bool SearchIsCorrect(CapturedResponse response, HashSet<string> expected) =>
        response.Status == 200 && MatchIds(response).SetEquals(expected);

    private static HashSet<string> MatchIds(CapturedResponse response)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (response.Status != 200)
        {
            return ids;
        }

        using var doc = JsonDocument.Parse(response.Body);
        if (doc.RootElement.TryGetProperty("entry", out var entries))
        {
            foreach (var e in entries.EnumerateArray())
            {
                var isMatch = !e.TryGetProperty("search", out var s) || !s.TryGetProperty("mode", out var mode) || mode.GetString() == "match";
                if (isMatch && e.TryGetProperty("resource", out var r) && r.TryGetProperty("id", out var id))
                {
                    ids.Add(id.GetString()!);
                }
            }
        }

        return ids;
    }

    private static long DatabaseBytes(string folder) =>
        Directory.EnumerateFiles(folder, "fhir.db*").Sum(f => new FileInfo(f).Length);

    private static string? ReadFirstLine(string path) => File.Exists(path) ? File.ReadLines(path).FirstOrDefault() : null;

    private static void Log(string message) => Console.WriteLine($"{DateTime.Now:HH:mm:ss} {message}");

    private static string Report(LoadOptions o, DateTimeOffset started, string? loadBefore, string? loadAfter, string wrkVersion, int seeded, TimeSpan seedTime, TimeSpan seedCpu, long dbBytes,
        int searchCorrect, int searchTotal, int searchEntriesAvg, string searchSample, List<Measured> results, List<string> notes, string? breakdown, string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        var command = "dotnet run -c Release --project benchmarks/Igia.Benchmarks -- load" + string.Concat(args.Select(a => " " + a));
        sb.AppendLine(inv, $"### Load run, {started:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine(inv, $"Command: `{command}`");
        sb.AppendLine();
        sb.AppendLine(inv, $"- Machine: {Environment.ProcessorCount} cores ({CpuModel()}), {TotalMemoryGiB():F0} GiB, {RuntimeInformation.OSDescription}; shared, load average before/after: {loadBefore?.Split(' ').Take(3).Aggregate((a, b) => a + " " + b)} / {loadAfter?.Split(' ').Take(3).Aggregate((a, b) => a + " " + b)}");
        sb.AppendLine(inv, $"- Code: {GitDescription()}");
        sb.AppendLine(inv, $"- Runtime: {RuntimeInformation.FrameworkDescription}, Release, Server GC {(System.Runtime.GCSettings.IsServerGC ? "on" : "off")}; Kestrel on 127.0.0.1, HTTP/1.1 keep-alive");
        sb.AppendLine(inv, $"- Load client: {wrkVersion}, {o.Threads} threads, {o.Connections} connections, {o.DurationSeconds} s per run after {o.WarmupSeconds} s warm-up per target, {o.Rounds} round(s) alternating bare/igia order; client and server share the 2 cores");
        sb.AppendLine(inv, $"- Data: {seeded:N0} resources ({o.Patients:N0} Patients × {o.ObservationsPerPatient} Observations) seeded in {seedTime.TotalSeconds:F1} s ({(seedTime > TimeSpan.Zero ? seeded / seedTime.TotalSeconds : 0):N0} resources/s, {(seeded > 0 ? seedCpu.TotalMilliseconds * 1000 / seeded : 0):F0} µs of server CPU per resource; transactions of {o.PatientsPerTransaction * (o.ObservationsPerPatient + 1)} PUT entries through the in-process executor, one at a time); SQLite (WAL) store {dbBytes / 1048576.0:F0} MiB at the end");
        sb.AppendLine(inv, $"- Search: {searchCorrect} of {searchTotal} distinct URLs (e.g. `{searchSample}`) returned exactly the expected Observations; {searchEntriesAvg} matches on average");
        sb.AppendLine("- Bare: the same Kestrel app and routing, writing the bytes (status, FHIR headers, body) Igia gave for that URL; bare create reads the body and answers Igia's 201 for a create");
        sb.AppendLine();
        sb.AppendLine("| Scenario | Target | Requests/s | p50 ms | p99 ms | Igia/bare req/s | Server CPU µs/req | wrk CPU µs/req | Errors |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var scenario in o.Scenarios)
        {
            var bare = Aggregate(results.Where(r => r.Scenario == scenario && r.Target == "bare").ToList());
            var igia = Aggregate(results.Where(r => r.Scenario == scenario && r.Target == "igia").ToList());
            sb.AppendLine(inv, $"| {scenario} | bare | {bare.Rps:N0} | {bare.P50:F2} | {bare.P99:F2} | | {bare.Cpu:F0} | {bare.ClientCpu:F0} | {bare.Errors} |");
            sb.AppendLine(inv, $"| {scenario} | igia | {igia.Rps:N0} | {igia.P50:F2} | {igia.P99:F2} | **{igia.Rps / bare.Rps:F2}** | {igia.Cpu:F0} | {igia.ClientCpu:F0} | {igia.Errors} |");
        }

        sb.AppendLine();
        sb.AppendLine("Aims (reported, not asserted):");
        sb.AppendLine();
        sb.AppendLine("| Aim | Measured | Met |");
        sb.AppendLine("|---|---|---|");
        if (o.Scenarios.Contains("read"))
        {
            var ratio = Aggregate(results.Where(r => r.Scenario == "read" && r.Target == "igia").ToList()).Rps / Aggregate(results.Where(r => r.Scenario == "read" && r.Target == "bare").ToList()).Rps;
            sb.AppendLine(inv, $"| read ≥ 0.5 × bare | {ratio:F2} × bare | {(ratio >= 0.5 ? "yes" : "no")} |");
        }

        if (o.Scenarios.Contains("search"))
        {
            var p99 = Aggregate(results.Where(r => r.Scenario == "search" && r.Target == "igia").ToList()).P99;
            var valid = searchCorrect == searchTotal;
            sb.AppendLine(inv, $"| indexed search p99 < 20 ms | {p99:F1} ms{(valid ? "" : " (search results not correct: not a valid measure)")} | {(p99 < 20 && valid ? "yes" : "no")} |");
        }

        if (o.Scenarios.Contains("create"))
        {
            var rps = Aggregate(results.Where(r => r.Scenario == "create" && r.Target == "igia").ToList()).Rps;
            sb.AppendLine(inv, $"| create ≥ 2,000/s | {rps:N0}/s | {(rps >= 2000 ? "yes" : "no")} |");
        }

        foreach (var note in notes)
        {
            sb.AppendLine();
            sb.AppendLine("Note: " + note);
        }

        if (breakdown is not null)
        {
            sb.AppendLine();
            sb.AppendLine("#### Where the time goes");
            sb.AppendLine();
            sb.AppendLine("After the load runs, on the same store, one request at a time in-process (service demand, no queueing):");
            sb.AppendLine();
            sb.Append(breakdown);
        }

        sb.AppendLine();
        sb.AppendLine("<details><summary>Every measured run</summary>");
        sb.AppendLine();
        sb.AppendLine("| Scenario | Target | Round | Requests | Requests/s | p50 ms | p90 ms | p99 ms | max ms | Server cores busy | Server CPU µs/req | wrk CPU µs/req | GCs 0/1/2 | Errors |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
        foreach (var r in results)
        {
            sb.AppendLine(inv, $"| {r.Scenario} | {r.Target} | {r.Round} | {r.Wrk.Requests:N0} | {r.Wrk.RequestsPerSecond:N0} | {r.Wrk.P50Us / 1000.0:F2} | {r.Wrk.P90Us / 1000.0:F2} | {r.Wrk.P99Us / 1000.0:F2} | {r.Wrk.MaxUs / 1000.0:F1} | {r.ServerCores:F2} | {r.CpuUsPerRequest:F0} | {r.ClientCpuUsPerRequest:F0} | {r.Gen0}/{r.Gen1}/{r.Gen2} | {r.Wrk.Errors} |");
        }

        sb.AppendLine();
        sb.AppendLine("</details>");
        return sb.ToString();
    }

    private static (double Rps, double P50, double P99, double Cpu, double ClientCpu, long Errors) Aggregate(List<Measured> runs)
    {
        if (runs.Count == 0)
        {
            return (double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, 0);
        }

        // Throughput over all runs together; latency percentiles and per-request costs as the mean of the runs.
        var requests = runs.Sum(r => r.Wrk.Requests);
        var seconds = runs.Sum(r => r.Wrk.DurationUs / 1e6);
        return (requests / seconds,
            runs.Average(r => r.Wrk.P50Us) / 1000.0,
            runs.Average(r => r.Wrk.P99Us) / 1000.0,
            runs.Sum(r => r.CpuMsTotal) * 1000 / requests,
            runs.Sum(r => r.ClientCpuMsTotal) * 1000 / requests,
            runs.Sum(r => r.Wrk.Errors));
    }

    /// <summary>The commit the run's working directory is on, and whether it had uncommitted changes.</summary>
    private static string GitDescription()
    {
        static string? Git(string args)
        {
            try
            {
                using var p = Process.Start(new ProcessStartInfo("git", args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
                var output = p.StandardOutput.ReadToEnd();
                p.WaitForExit(10_000);
                return p.ExitCode == 0 ? output.Trim() : null;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return null;
            }
        }

        var commit = Git("rev-parse --short HEAD");
        if (commit is null)
        {
            return "not a git working tree";
        }

        var changed = Git("status --porcelain -- src")?.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length ?? 0;
        return changed == 0 ? $"commit {commit}" : $"commit {commit} plus uncommitted changes to {changed} path(s) under src/ (working tree as of the run)";
    }

    private static string CpuModel() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : "unknown CPU";

    private static double TotalMemoryGiB() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1073741824.0;
}
