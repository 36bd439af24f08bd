using System.Globalization;
using System.Net;
using System.Text;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Igia.Benchmarks.Load;
using Igia.Terminology;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Benchmarks.Terminology;

/// <summary>
/// The terminology benchmarks of issue 7 in one run: first <see cref="TerminologyBenchmarks"/> (BenchmarkDotNet, in process:
/// validate-code Igia vs Firely, expand with a text filter), then <c>$validate-code</c> over HTTP at 32 connections with wrk
/// against a real Kestrel server, next to a FHIR read on the same server as the baseline.
/// <code>dotnet run -c Release --project benchmarks/Igia.Benchmarks -- terminology [--seconds 10] [--connections 32] [--no-micro] [--no-http] [--short] [--filter GLOB]</code>
/// </summary>
internal static class TerminologyRun
{
    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = IntOption(args, "--seconds", 10);
        var connections = IntOption(args, "--connections", 32);
        Console.WriteLine($"uptime: {Uptime()}");
        if (!args.Contains("--no-micro"))
        {
            // In process (no generated project builds in the shared tree), 5 warm-up and 15 measured iterations per benchmark.
            var job = args.Contains("--short") ? Job.ShortRun : Job.Default.WithWarmupCount(5).WithIterationCount(15);
            var config = DefaultConfig.Instance
                .AddJob(job.WithToolchain(InProcessEmitToolchain.Instance).WithId("InProcess"))
                .WithOptions(ConfigOptions.DisableOptimizationsValidator);
            var filter = Array.IndexOf(args, "--filter") is var f and >= 0 && f + 1 < args.Length ? args[f + 1] : "*";
            BenchmarkSwitcher.FromTypes([typeof(TerminologyBenchmarks)]).Run(["--filter", filter], config);
            Console.WriteLine($"uptime: {Uptime()}");
        }

        if (args.Contains("--no-http"))
        {
            return 0;
        }

        if (Wrk.Version() is not { } wrkVersion)
        {
            Console.Error.WriteLine("wrk is not installed (apt-get install wrk); the HTTP part is skipped.");
            return 1;
        }

        var folder = Path.Combine(Path.GetTempPath(), "igia-tx-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            await using var app = await StartServerAsync(Path.Combine(folder, "fhir.db"));
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            using var http = new HttpClient { BaseAddress = new Uri(address, "/fhir/") };
            using (var create = await http.PutAsync("Patient/bench-1", new StringContent("{\"resourceType\":\"Patient\",\"id\":\"bench-1\",\"gender\":\"female\"}", Encoding.UTF8, "application/fhir+json")))
            {
                create.EnsureSuccessStatusCode();
            }

            var validate = new[]
            {
                $"ValueSet/$validate-code?url={E("http://hl7.org/fhir/ValueSet/observation-status")}&system={E("http://hl7.org/fhir/observation-status")}&code=final",
                $"ValueSet/$validate-code?url={E("http://hl7.org/fhir/ValueSet/observation-status")}&system={E("http://hl7.org/fhir/observation-status")}&code=done",
                $"ValueSet/$validate-code?url={E(TerminologyBenchContent.BigValueSetUrl)}&system={E(TerminologyBenchContent.BigSystem)}&code={TerminologyBenchContent.CodeOf(12_345)}",
            };
            foreach (var path in validate.Append("Patient/bench-1"))
            {
                using var check = await http.GetAsync(path);
                if (check.StatusCode != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"{path} answered {(int)check.StatusCode}.");
                }
            }

            var script = Path.Combine(AppContext.BaseDirectory, "Load", "paths.lua");
            var validateFile = Path.Combine(folder, "validate.txt");
            var readFile = Path.Combine(folder, "read.txt");
            await File.WriteAllLinesAsync(validateFile, validate);
            await File.WriteAllLinesAsync(readFile, ["Patient/bench-1"]);

            Console.WriteLine($"HTTP, {wrkVersion}, -t2 -c{connections}, {seconds} s per row after a 3 s warm-up; Igia on Kestrel (127.0.0.1) in this process, wrk in its own.");
            await Wrk.RunAsync(address, script, ["/fhir/", validateFile], 2, connections, 3);
            var read = await Wrk.RunAsync(address, script, ["/fhir/", readFile], 2, connections, seconds);
            var vc = await Wrk.RunAsync(address, script, ["/fhir/", validateFile], 2, connections, seconds);
            Console.WriteLine("| Row | Requests/s | Ratio | p50 | p90 | p99 | Errors |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
            Row("GET Patient/{id} (FHIR read, baseline)", read, read);
            Row("GET ValueSet/$validate-code (3 requests, mixed)", vc, read);
            Console.WriteLine($"uptime: {Uptime()}");
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(folder, true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<WebApplication> StartServerAsync(string databasePath)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = Path.GetDirectoryName(databasePath) });
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddIgiaFhirServer().UseSqlite(databasePath).AddTerminologyOperations();
        builder.Services.AddIgiaTerminology(o => o.MaxExpansionSize = 100_000)
            .AddFhirCorePackage()
            .AddResource(TerminologyBenchContent.BigCodeSystem())
            .AddResource(TerminologyBenchContent.BigValueSet());
        var app = builder.Build();
        app.MapIgiaFhir("/fhir");
        await app.StartAsync();
        await app.Services.GetRequiredService<ITerminologyContent>().WhenLoadedAsync().WaitAsync(TimeSpan.FromMinutes(5));
        return app;
    }

    private static void Row(string name, WrkResult r, WrkResult baseline) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {r.RequestsPerSecond:N0} | {r.RequestsPerSecond / baseline.RequestsPerSecond:0.00} | {r.P50Us / 1000.0:0.00} ms | {r.P90Us / 1000.0:0.00} ms | {r.P99Us / 1000.0:0.00} ms | {r.Errors} |"));

    private static string E(string s) => Uri.EscapeDataString(s);

    private static int IntOption(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }

    private static string Uptime()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
