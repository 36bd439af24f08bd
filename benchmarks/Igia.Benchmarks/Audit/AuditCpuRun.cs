using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Audit;
using Igia.Audit.FileLog;
using Igia.Audit.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Task = System.Threading.Tasks.Task;

namespace Igia.Benchmarks.Audit;

/// <summary>
/// Audit figures that hold on a shared, loaded machine: besides wall-clock rates it reports the process CPU time per
/// operation, which other processes' load does not inflate the way it inflates wall time. (1) The local log: N records
/// at batch 256 and 1024, fsync on. (2) FHIR reads with guaranteed audit on and off, two apps in this process, rounds
/// interleaved off/on so that load drift hits both alike; per round the wall rate, the process CPU per read, the CPUs kept busy (process CPU / wall: below the core count the arm waits rather than computes) and the context switches per read, then CPU and context switches per read by kind of thread (pool workers, socket engine, audit writers) and the records per group commit (fsync).
/// Entry point: <see cref="RunAsync"/> (wired as the <c>audit-cpu</c> verb of the benchmarks program). Arguments, all
/// optional: <c>records</c> (200000; 0 skips the log part), <c>rounds</c> (5; 0 skips the reads), <c>concurrency</c> (32),
/// <c>mode</c> (<c>both</c>, or <c>off</c> / <c>guaranteed</c> alone, e.g. to profile one), <c>batch sizes</c> (<c>256,1024</c>).
/// The log part also times the verifier over each log it wrote.
/// </summary>
public static class AuditCpuRun
{
    /// <summary>Runs both parts and prints a table per part; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var records = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200_000;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        Console.WriteLine($"load average at start: {LoadAverage()}");
        var concurrency = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 32;
        if (records > 0)
        {
            foreach (var batchSize in args.Length > 4 ? args[4].Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)) : [256, 1024])
            {
                Journal(records, batchSize);
            }

        }

        if (rounds > 0)
        {
            await ReadsAsync(rounds, reads: 4096, concurrency, only: args.Length > 3 && args[3] != "both" ? args[3] : null);
        }

        Console.WriteLine($"load average at end: {LoadAverage()}");
        return 0;
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

    private static void Journal(int records, int batchSize)
    {
        var folder = Path.Combine(Path.GetTempPath(), "igia-audit-cpu-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var json = AuditBenchmarkData.ReadEventJson();
            using var journal = new AuditJournal(new FileAuditLogOptions { Folder = folder, SigningKey = AuditSigningKey.Hmac("bench", new byte[32]) }, TimeProvider.System, NullLogger.Instance);
            journal.Open();
            var batches = Enumerable.Range(0, records / batchSize).Select(_ => Enumerable.Range(0, batchSize).Select(_ => new PendingRecord(json, awaitDurable: false)).ToList()).ToList();
            var process = Process.GetCurrentProcess();
            var cpu0 = process.TotalProcessorTime;
            var thread0 = ThreadCpu();
            var wall = Stopwatch.StartNew();
            foreach (var batch in batches)
            {
                journal.Append(batch);
            }

            wall.Stop();
            process.Refresh();
            var n = batches.Count * batchSize;
            journal.Dispose();
            var key = AuditSigningKey.Hmac("bench", new byte[32]);
            var verifyWall = Stopwatch.StartNew();
            var verified = AuditLogVerifier.Verify(folder, [key]);
            verifyWall.Stop();
            if (!verified.IsValid || verified.RecordCount != n)
            {
                throw new InvalidOperationException("The benchmark log does not verify.");
            }

            var threadCpu = ThreadCpu() - thread0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"journal batch {batchSize}: {n} records, wall {wall.Elapsed.TotalSeconds:F2} s = {n / wall.Elapsed.TotalSeconds:N0} records/s; "
                + $"writer thread CPU {threadCpu.TotalMicroseconds / n:F2} µs/record = {n / threadCpu.TotalSeconds:N0} records per CPU-second; "
                + $"process CPU {(process.TotalProcessorTime - cpu0).TotalMicroseconds / n:F2} µs/record; fsyncs {batches.Count}, {wall.Elapsed.TotalMilliseconds / batches.Count:F2} ms wall per batch; "
                + $"verifier {n / verifyWall.Elapsed.TotalSeconds:N0} records/s ({verified.CheckpointCount} signed checkpoints checked)"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>This thread's CPU time (user + system), from /proc on Linux; zero elsewhere.</summary>
    private static TimeSpan ThreadCpu()
    {
        const string stat = "/proc/thread-self/stat";
        if (!File.Exists(stat))
        {
            return TimeSpan.Zero;
        }

        var text = File.ReadAllText(stat);
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    /// <summary>
    /// The process's context switches so far (voluntary + involuntary, summed over its threads), from /proc on Linux; zero
    /// elsewhere. Tells an arm that waits (threads sleep and are woken per request) from one that computes.
    /// </summary>
    private static long ContextSwitches()
    {
        const string tasks = "/proc/self/task";
        if (!Directory.Exists(tasks))
        {
            return 0;
        }

        long total = 0;
        foreach (var task in Directory.EnumerateDirectories(tasks))
        {
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        total += long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return total;
    }

    /// <summary>
    /// Per kind of thread (its name, e.g. <c>.NET TP Worker</c>, <c>Igia.Audit writ</c>): CPU time and context switches so
    /// far, from /proc on Linux (empty elsewhere). Tells where an arm's CPU and wake-ups go.
    /// </summary>
    private static Dictionary<string, (double CpuUs, long Switches)> ThreadKinds()
    {
        var result = new Dictionary<string, (double CpuUs, long Switches)>();
        const string tasks = "/proc/self/task";
        if (!Directory.Exists(tasks))
        {
            return result;
        }

        var tick = 1_000_000.0 / 100;
        foreach (var task in Directory.EnumerateDirectories(tasks))
        {
            try
            {
                var name = File.ReadAllText(Path.Combine(task, "comm")).Trim().TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '#');
                var text = File.ReadAllText(Path.Combine(task, "stat"));
                var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
                var cpu = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * tick;
                long switches = 0;
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        switches += long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), CultureInfo.InvariantCulture);
                    }
                }

                var (c, s) = result.GetValueOrDefault(name);
                result[name] = (c + cpu, s + switches);
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return result;
    }

    private static async Task ReadsAsync(int rounds, int reads, int concurrency, string? only)
    {
        var folder = Path.Combine(Path.GetTempPath(), "igia-audit-cpu-reads-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        var off = await StartAsync(Path.Combine(folder, "off"), audit: false, concurrency);
        var on = await StartAsync(Path.Combine(folder, "on"), audit: true, concurrency);
        try
        {
            var results = new List<(string Mode, double Rate, double CpuUs, double Busy, double Switches)>();
            var kinds = new Dictionary<string, Dictionary<string, (double CpuUs, long Switches)>>();
            long batches = 0, batched = 0;
            using var listener = new System.Diagnostics.Metrics.MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Igia.Audit" && instrument.Name == "igia.audit.batch.size")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<int>((_, size, _, _) =>
            {
                Interlocked.Increment(ref batches);
                Interlocked.Add(ref batched, size);
            });
            listener.Start();
            long guaranteedBatches = 0, guaranteedBatched = 0;
            // Warm-up: both arms in turn until tiered compilation has settled (a fixed 3 rounds still left the JIT busy in
            // measured rounds, 22-44 µs CPU per read on the JIT thread, more of it in the guaranteed arm).
            await JitWarmup.UntilSettledAsync(async () =>
            {
                await RoundAsync(off, reads, concurrency);
                await RoundAsync(on, reads, concurrency);
            });
            for (var r = 0; r < rounds; r++)
            {
                foreach (var (mode, app) in new[] { ("off", off), ("guaranteed", on) }.Where(m => only is null || m.Item1 == only))
                {
                    var process = Process.GetCurrentProcess();
                    var cpu0 = process.TotalProcessorTime;
                    var switches0 = ContextSwitches();
                    var kinds0 = ThreadKinds();
                    var (batches0, batched0) = (Interlocked.Read(ref batches), Interlocked.Read(ref batched));
                    var wall = Stopwatch.StartNew();
                    await RoundAsync(app, reads, concurrency);
                    wall.Stop();
                    var switches = ContextSwitches() - switches0;
                    if (mode == "guaranteed")
                    {
                        guaranteedBatches += Interlocked.Read(ref batches) - batches0;
                        guaranteedBatched += Interlocked.Read(ref batched) - batched0;
                    }

                    var total = kinds.TryGetValue(mode, out var t) ? t : kinds[mode] = [];
                    foreach (var (name, now) in ThreadKinds())
                    {
                        var before = kinds0.GetValueOrDefault(name);
                        var (c, s) = total.GetValueOrDefault(name);
                        total[name] = (c + now.CpuUs - before.CpuUs, s + now.Switches - before.Switches);
                    }
                    process.Refresh();
                    var cpu = process.TotalProcessorTime - cpu0;
                    results.Add((mode, reads / wall.Elapsed.TotalSeconds, cpu.TotalMicroseconds / reads, cpu / wall.Elapsed, (double)switches / reads));
                }
            }

            foreach (var group in results.GroupBy(x => x.Mode))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"reads {group.Key}: rounds {string.Join(" / ", group.Select(g => g.Rate.ToString("N0", CultureInfo.InvariantCulture)))} reads/s; median {Median(group.Select(g => g.Rate)):N0} reads/s; "
                    + $"process CPU (server + client) median {Median(group.Select(g => g.CpuUs)):F1} µs/read; CPUs busy median {Median(group.Select(g => g.Busy)):F2} "
                    + $"of {Environment.ProcessorCount}; context switches median {Median(group.Select(g => g.Switches)):F1} per read"));
            }

            foreach (var (mode, total) in kinds)
            {
                var n = (double)reads * results.Count(x => x.Mode == mode);
                Console.WriteLine($"  {mode} by thread kind (all rounds; CPU µs/read, context switches/read): " + string.Join("; ", total
                    .Where(k => k.Value.CpuUs > 0 || k.Value.Switches > 0).OrderByDescending(k => k.Value.CpuUs)
                    .Select(k => string.Create(CultureInfo.InvariantCulture, $"{k.Key} {k.Value.CpuUs / n:F1} / {k.Value.Switches / n:F2}"))));
            }

            if (guaranteedBatches > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  guaranteed group commits: {guaranteedBatches} batches (fsyncs), {(double)guaranteedBatched / guaranteedBatches:F1} records per batch on average"));
            }

            if (only is not null)
            {
                return;
            }

            var offRate = Median(results.Where(x => x.Mode == "off").Select(x => x.Rate));
            var onRate = Median(results.Where(x => x.Mode == "guaranteed").Select(x => x.Rate));
            var offCpu = Median(results.Where(x => x.Mode == "off").Select(x => x.CpuUs));
            var onCpu = Median(results.Where(x => x.Mode == "guaranteed").Select(x => x.CpuUs));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"throughput ratio guaranteed/off (median of rounds): {onRate / offRate:F2}; CPU per read ratio off/guaranteed: {offCpu / onCpu:F2}"));
        }
        finally
        {
            foreach (var app in new[] { off, on })
            {
                app.Client.Dispose();
                await app.App.StopAsync();
                await app.App.DisposeAsync();
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private sealed record ReadApp(WebApplication App, HttpClient Client, string[] Paths);

    private static async Task<ReadApp> StartAsync(string folder, bool audit, int concurrency)
    {
        // An empty content root of its own: the host watches its content root for configuration changes, and with the
        // audit log inside it every fsync'ed batch woke that watcher (a cost of the benchmark, not of audit).
        var contentRoot = Directory.CreateDirectory(Path.Combine(folder, "content-root")).FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = contentRoot });
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddIgiaFhirServer().UseSqlite(Path.Combine(folder, "fhir.db"));
        if (audit)
        {
            builder.Services.AddIgiaAudit(o => o.Durability = AuditDurability.Guaranteed)
                .WriteToFile(Path.Combine(folder, "audit"), f => f.SigningKey = AuditSigningKey.Hmac("bench", new byte[32]));
        }

        var app = builder.Build();
        app.MapIgiaFhir("/fhir");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = new Uri(address.TrimEnd('/') + "/fhir/") };
        var json = new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);
        var paths = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            var patient = SampleData.Patient(i);
            patient.Id = "p" + i;
            await PutAsync(client, $"Patient/p{i}", System.Text.Json.JsonSerializer.Serialize(patient, json));
            var observation = SampleData.Observation(i, 0);
            observation.Id = "o" + i;
            observation.Subject = new ResourceReference("Patient/p" + i);
            await PutAsync(client, $"Observation/o{i}", System.Text.Json.JsonSerializer.Serialize(observation, json));
            paths.Add("Patient/p" + i);
            paths.Add("Observation/o" + i);
        }

        return new ReadApp(app, client, [.. paths]);
    }

    private static async Task PutAsync(HttpClient client, string url, string json)
    {
        using var response = await client.PutAsync(url, new StringContent(json, Encoding.UTF8, "application/fhir+json"));
        response.EnsureSuccessStatusCode();
    }

    private static Task RoundAsync(ReadApp app, int reads, int concurrency)
    {
        var next = -1;
        return Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < reads)
            {
                using var response = await app.Client.GetAsync(app.Paths[n % app.Paths.Length], HttpCompletionOption.ResponseHeadersRead);
                await response.Content.CopyToAsync(Stream.Null);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"Read failed: {(int)response.StatusCode}");
                }
            }
        })));
    }
}
