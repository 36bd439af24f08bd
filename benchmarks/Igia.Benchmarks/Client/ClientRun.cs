using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Igia.Benchmarks.Load;
using Igia.Fhir.Client;
using Igia.Fhir.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Benchmarks.Client;

/// <summary>
/// The client run (issue 3): against one Igia FHIR server on 127.0.0.1 with 10,000 Observations, in the same process and
/// the same run, alternating the order each round:
/// <list type="bullet">
/// <item>paging: <see cref="IgiaFhirClient.SearchAllAsync{TResource}(SearchParams?, CancellationToken)"/> vs the hand-written
/// Firely loop (<c>SearchAsync</c> then <c>ContinueAsync</c> until there is no next page), both over every Observation;</item>
/// <item>per-request overhead: sequential reads by id with a bare Firely <see cref="FhirClient"/> (JSON, its own HttpClient)
/// vs an <see cref="IgiaFhirClient"/> with the default resilience pipeline (retry, timeouts, circuit breaker) and a
/// static access-token provider.</item>
/// </list>
/// </summary>
internal static class ClientRun
{
    private const int Patients = 250;
    private const int ObservationsPerPatient = 40;
    private const int PageSize = 100;

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = 5;
        var reads = 2000;
        string? output = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--reads": reads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--out": output = args[++i]; break;
                default:
                    Console.Error.WriteLine("client [--rounds N (5)] [--reads N (2000)] [--out FILE]");
                    return 2;
            }
        }

        var loadBefore = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";
        var started = DateTimeOffset.UtcNow;
        var folder = Path.Combine(Path.GetTempPath(), "igia-client-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        var paging = new List<(string Who, int Round, double Ms, int Count)>();
        var reading = new List<(string Who, int Round, double UsPerRequest)>();
        int seeded;
        try
        {
            await using var host = await LoadHost.StartAsync(Path.Combine(folder, "fhir.db"));
            var baseUrl = new Uri(host.Address, "/fhir").ToString();
            var options = LoadOptions.Parse(["--patients", Patients.ToString(CultureInfo.InvariantCulture), "--observations", ObservationsPerPatient.ToString(CultureInfo.InvariantCulture), "--batch", "10"]);
            (seeded, _) = await Seeder.SeedAsync(host.App.Services.GetRequiredService<IFhirInteractionExecutor>(), baseUrl, options, Log, CancellationToken.None);
            Log($"Seeded {seeded:N0} resources ({Patients * ObservationsPerPatient:N0} Observations) at {baseUrl}");

            var services = new ServiceCollection();
            services.AddIgiaFhirClient("bench", o => o.BaseUrl = new Uri(baseUrl)).UseStaticToken("benchmark-token");
            await using var provider = services.BuildServiceProvider();
            var factory = provider.GetRequiredService<IIgiaFhirClientFactory>();

            using var bareHttp = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) });
            var defaultSettings = new FhirClientSettings { PreferredFormat = ResourceFormat.Json };

            // The Igia client parses with Firely's POCO parser in "recoverable" mode; Firely's own default is its pre-5.0
            // (legacy) parser. Comparing the layers (paging, resilience, tokens) needs the same parser on both sides.
            var bareSettings = new FhirClientSettings { PreferredFormat = ResourceFormat.Json, SerializationEngine = Hl7.Fhir.Serialization.FhirSerializationEngineFactory.Recoverable(ModelInfo.ModelInspector) };
            var readIds = Enumerable.Range(1, Patients).Select(SampleData.PatientId).ToArray();

            // Warm-up: one pass of each, so JIT and connection set-up are not measured.
            await IgiaPageAsync(factory);
            await FirelyPageAsync(baseUrl, bareHttp, bareSettings);
            await FirelyPageAsync(baseUrl, bareHttp, defaultSettings);
            await IgiaReadsAsync(factory, readIds, 200);
            await FirelyReadsAsync(baseUrl, bareHttp, bareSettings, readIds, 200);

            for (var round = 1; round <= rounds; round++)
            {
                var igiaFirst = round % 2 == 1;
                for (var k = 0; k < 3; k++)
                {
                    // Rotate the three so that each goes first, second and third in turn.
                    switch ((k + round) % 3)
                    {
                        case 0:
                        {
                            var (ms, count) = await IgiaPageAsync(factory);
                            paging.Add(("igia SearchAllAsync", round, ms, count));
                            break;
                        }

                        case 1:
                        {
                            var (ms, count) = await FirelyPageAsync(baseUrl, bareHttp, bareSettings);
                            paging.Add(("firely ContinueAsync loop", round, ms, count));
                            break;
                        }

                        default:
                        {
                            var (ms, count) = await FirelyPageAsync(baseUrl, bareHttp, defaultSettings);
                            paging.Add(("default-firely ContinueAsync loop, Firely's default parser", round, ms, count));
                            break;
                        }
                    }
                }

                for (var k = 0; k < 2; k++)
                {
                    if ((k == 0) == igiaFirst)
                    {
                        reading.Add(("igia (resilience + token)", round, await IgiaReadsAsync(factory, readIds, reads)));
                    }
                    else
                    {
                        reading.Add(("firely bare", round, await FirelyReadsAsync(baseUrl, bareHttp, bareSettings, readIds, reads)));
                    }
                }

                Log($"round {round}: " + string.Join("; ", paging.Where(p => p.Round == round).Select(p => $"{p.Who} {p.Ms:F0} ms ({p.Count})"))
                    + " | " + string.Join("; ", reading.Where(r => r.Round == round).Select(r => $"{r.Who} {r.UsPerRequest:F0} µs/read")));
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        var report = Report(args, started, loadBefore, seeded, rounds, reads, paging, reading);
        Console.WriteLine();
        Console.WriteLine(report);
        if (output is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
            await File.WriteAllTextAsync(output, report);
        }

        return paging.All(p => p.Count == Patients * ObservationsPerPatient) ? 0 : 1;
    }

    private static async Task<(double Ms, int Count)> IgiaPageAsync(IIgiaFhirClientFactory factory)
    {
        var client = factory.CreateClient("bench");
        var stopwatch = Stopwatch.StartNew();
        var count = 0;
        await foreach (var observation in client.SearchAllAsync<Observation>(new SearchParams().LimitTo(PageSize)))
        {
            count += observation.Id is null ? 0 : 1;
        }

        return (stopwatch.Elapsed.TotalMilliseconds, count);
    }

    private static async Task<(double Ms, int Count)> FirelyPageAsync(string baseUrl, HttpClient http, FhirClientSettings settings)
    {
        using var client = new FhirClient(baseUrl, http, settings);
        var stopwatch = Stopwatch.StartNew();
        var count = 0;
        var bundle = await client.SearchAsync<Observation>(new SearchParams().LimitTo(PageSize));
        while (bundle is not null)
        {
            foreach (var entry in bundle.Entry)
            {
                if (entry.Resource is Observation { Id: not null } && entry.Search?.Mode is null or Bundle.SearchEntryMode.Match)
                {
                    count++;
                }
            }

            bundle = await client.ContinueAsync(bundle);
        }

        return (stopwatch.Elapsed.TotalMilliseconds, count);
    }

    private static async Task<double> IgiaReadsAsync(IIgiaFhirClientFactory factory, string[] ids, int n)
    {
        var client = factory.CreateClient("bench");
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            _ = await client.ReadAsync<Patient>("Patient/" + ids[i % ids.Length]) ?? throw new InvalidOperationException("Read returned nothing.");
        }

        return stopwatch.Elapsed.TotalMicroseconds / n;
    }

    private static async Task<double> FirelyReadsAsync(string baseUrl, HttpClient http, FhirClientSettings settings, string[] ids, int n)
    {
        using var client = new FhirClient(baseUrl, http, settings);
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            _ = await client.ReadAsync<Patient>("Patient/" + ids[i % ids.Length]) ?? throw new InvalidOperationException("Read returned nothing.");
        }

        return stopwatch.Elapsed.TotalMicroseconds / n;
    }

    /// <summary>Per round: the Firely figure divided by the Igia figure (a throughput ratio when the figures are times).</summary>
    private static List<double> PairedRatios(IEnumerable<(string Who, int Round, double Value)> runs) =>
        runs.Where(r => !r.Who.StartsWith("default-", StringComparison.Ordinal)).GroupBy(r => r.Round)
            .Select(g => g.Single(r => r.Who.StartsWith("firely", StringComparison.Ordinal)).Value / g.Single(r => r.Who.StartsWith("igia", StringComparison.Ordinal)).Value)
            .ToList();

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Report(string[] args, DateTimeOffset started, string loadBefore, int seeded, int rounds, int reads,
        List<(string Who, int Round, double Ms, int Count)> paging, List<(string Who, int Round, double UsPerRequest)> reading)
    {
        var inv = CultureInfo.InvariantCulture;
        var loadAfter = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"### Client run, {started:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine(inv, $"Command: `dotnet run -c Release --project benchmarks/Igia.Benchmarks -- client{string.Concat(args.Select(a => " " + a))}`");
        sb.AppendLine();
        sb.AppendLine(inv, $"- Machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}; shared, load average before/after: {string.Join(' ', loadBefore.Split(' ').Take(3))} / {string.Join(' ', loadAfter.Split(' ').Take(3))}");
        sb.AppendLine(inv, $"- Server: Igia FHIR on Kestrel 127.0.0.1 in the same process, SQLite store with {seeded:N0} resources; {rounds} rounds, order alternating each round, after one warm-up pass of each");
        sb.AppendLine();
        var igiaPage = Median(paging.Where(p => p.Who.StartsWith("igia", StringComparison.Ordinal)).Select(p => p.Ms));
        var firelyPage = Median(paging.Where(p => p.Who.StartsWith("firely", StringComparison.Ordinal)).Select(p => p.Ms));
        var defaultPage = Median(paging.Where(p => p.Who.StartsWith("default-firely", StringComparison.Ordinal)).Select(p => p.Ms));
        var count = paging.FirstOrDefault().Count;
        sb.AppendLine(inv, $"Paging through {count:N0} Observations, `_count={PageSize}` ({count / PageSize} pages), median of {rounds} passes:");
        sb.AppendLine();
        sb.AppendLine("| Client | Median ms per pass | Resources/s | Ratio to Firely loop (throughput) |");
        sb.AppendLine("|---|---:|---:|---:|");
        sb.AppendLine(inv, $"| Firely `SearchAsync` + `ContinueAsync` loop (same POCO parser as Igia) | {firelyPage:F0} | {count / firelyPage * 1000:N0} | 1.00 |");
        sb.AppendLine(inv, $"| Firely loop with Firely's default (legacy) parser | {defaultPage:F0} | {count / defaultPage * 1000:N0} | {firelyPage / defaultPage:F2} |");
        sb.AppendLine(inv, $"| Igia `SearchAllAsync` (IAsyncEnumerable) | {igiaPage:F0} | {count / igiaPage * 1000:N0} | {firelyPage / igiaPage:F2} |");
        sb.AppendLine();
        var pagingRatios = PairedRatios(paging.Select(p => (p.Who, p.Round, p.Ms)));
        sb.AppendLine(inv, $"Paired per round (Firely ms / Igia ms of the same round, so machine drift hits both): median **{Median(pagingRatios):F2}** (aim ≥ 0.95); rounds: {string.Join(", ", pagingRatios.Select(r => r.ToString("F2", inv)))}");
        sb.AppendLine();
        var igiaRead = Median(reading.Where(r => r.Who.StartsWith("igia", StringComparison.Ordinal)).Select(r => r.UsPerRequest));
        var firelyRead = Median(reading.Where(r => r.Who.StartsWith("firely", StringComparison.Ordinal)).Select(r => r.UsPerRequest));
        sb.AppendLine(inv, $"Per-request overhead: {reads:N0} sequential reads by id (`Patient/{{id}}`) per pass, median of {rounds} passes (server time included in both):");
        sb.AppendLine();
        sb.AppendLine("| Client | Median µs per read | Ratio to bare (throughput) |");
        sb.AppendLine("|---|---:|---:|");
        sb.AppendLine(inv, $"| Firely `FhirClient` (JSON, plain HttpClient, same POCO parser as Igia) | {firelyRead:F0} | 1.00 |");
        sb.AppendLine(inv, $"| Igia client: resilience (retry, timeouts, breaker) + static token provider | {igiaRead:F0} | {firelyRead / igiaRead:F2} (+{igiaRead - firelyRead:F0} µs/read) |");
        sb.AppendLine();
        var readRatios = PairedRatios(reading.Select(r => (r.Who, r.Round, r.UsPerRequest)));
        sb.AppendLine(inv, $"Paired per round (Firely µs / Igia µs of the same round): median **{Median(readRatios):F2}**; rounds: {string.Join(", ", readRatios.Select(r => r.ToString("F2", inv)))}");
        sb.AppendLine();
        sb.AppendLine("<details><summary>Every pass</summary>");
        sb.AppendLine();
        sb.AppendLine("| Round | What | Result |");
        sb.AppendLine("|---:|---|---|");
        foreach (var p in paging)
        {
            sb.AppendLine(inv, $"| {p.Round} | paging, {p.Who} | {p.Ms:F0} ms, {p.Count:N0} resources |");
        }

        foreach (var r in reading)
        {
            sb.AppendLine(inv, $"| {r.Round} | reads, {r.Who} | {r.UsPerRequest:F0} µs/read |");
        }

        sb.AppendLine();
        sb.AppendLine("</details>");
        return sb.ToString();
    }

    private static void Log(string message) => Console.WriteLine($"{DateTime.Now:HH:mm:ss} {message}");
}
