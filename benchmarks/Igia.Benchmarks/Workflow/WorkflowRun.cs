using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Workflow.Subscriptions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Igia.Benchmarks.Workflow;

/// <summary>
/// Igia.Workflow figures, measured over real HTTP on 127.0.0.1 (Kestrel, SQLite files in a temp folder):
/// (1) Task status transitions per second through PUT, with Igia.Workflow (state machine + engine) against the same
///     FHIR server without it (baseline), side by side in one process, alternating rounds;
/// (2) notification latency from commit to a real Kestrel rest-hook receiver, one event per notification and batched
///     (backport-max-count 100), one Subscription each in turn: receipt time minus the Task version's
///     meta.lastUpdated (stamped in the writing transaction just before its commit; same clock), p50/p90/p99.
/// </summary>
internal static class WorkflowRun
{
    private static readonly System.Text.Json.JsonSerializerOptions Json = new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Contains("--help"))
        {
            Console.WriteLine("workflow [--tasks N (per round, default 300)] [--rounds N (default 3)] [--clients N (default 8)] [--events N (default 500)] [--out FILE]");
            return 0;
        }

        int Arg(string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var tasks = Arg("--tasks", 300);
        var rounds = Arg("--rounds", 3);
        var clients = Arg("--clients", 8);
        var events = Arg("--events", 500);
        var outFile = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault();
        var folder = Path.Combine(Path.GetTempPath(), "igia-wf-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var report = new StringBuilder();
        try
        {
            await using var withWorkflow = await Host.StartAsync(Path.Combine(folder, "wf"), workflow: true);
            await using var baseline = await Host.StartAsync(Path.Combine(folder, "base"), workflow: false);
            report.AppendLine(CultureInfo.InvariantCulture, $"Task transitions over HTTP: {tasks} Tasks × 2 transitions (ready→in-progress→completed) per round, {clients} concurrent clients, {rounds} rounds each, alternating.");
            report.AppendLine();
            report.AppendLine("| Round | Server | Transitions | Seconds | Transitions/s |");
            report.AppendLine("|---|---|---:|---:|---:|");
            var rates = new Dictionary<string, List<double>> { ["Igia.Workflow"] = [], ["baseline (no workflow)"] = [] };
            for (var round = 1; round <= rounds; round++)
            {
                foreach (var (name, host) in new[] { ("Igia.Workflow", withWorkflow), ("baseline (no workflow)", baseline) })
                {
                    var (count, seconds) = await TransitionsAsync(host, tasks, clients);
                    rates[name].Add(count / seconds);
                    report.AppendLine(CultureInfo.InvariantCulture, $"| {round} | {name} | {count} | {seconds:F2} | {count / seconds:F0} |");
                }
            }

            var wf = Median(rates["Igia.Workflow"]);
            var bl = Median(rates["baseline (no workflow)"]);
            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"Median: Igia.Workflow {wf:F0}/s, baseline {bl:F0}/s, ratio {wf / bl:F2}.");
            report.AppendLine();

            // One ordered Subscription, side by side in one run: one event per notification (no backport-max-count, the
            // default) and events batched up to backport-max-count 100 per notification.
            report.AppendLine(CultureInfo.InvariantCulture, $"Notification latency, commit → receiver (full-resource rest-hook, {events} events per row, one writer creating Tasks back to back, one Subscription):");
            report.AppendLine();
            report.AppendLine("| Notifications | Events | POSTs | p50 | p90 | p99 | max |");
            report.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (var maxCount in new int?[] { null, 100 })
            {
                var (latencies, posts) = await LatencyAsync(withWorkflow, events, maxCount);
                latencies.Sort();
                var label = maxCount is null ? "one event each (default)" : $"backport-max-count {maxCount}";
                report.AppendLine(CultureInfo.InvariantCulture, $"| {label} | {latencies.Count} | {posts} | {Pct(latencies, 50):F1} ms | {Pct(latencies, 90):F1} ms | {Pct(latencies, 99):F1} ms | {latencies[^1]:F1} ms |");
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

        Console.WriteLine(report);
        if (outFile is not null)
        {
            await File.WriteAllTextAsync(outFile, report.ToString());
        }

        return 0;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static double Pct(List<double> sorted, int p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100.0 * sorted.Count) - 1)];

    private static async Task<(int Count, double Seconds)> TransitionsAsync(Host host, int tasks, int clients)
    {
        var created = new ConcurrentBag<FhirTask>();
        await Parallel.ForEachAsync(Enumerable.Range(0, tasks), new ParallelOptions { MaxDegreeOfParallelism = clients }, async (_, ct) =>
        {
            using var r = await host.Client.PostAsync("Task", Content(new FhirTask { Status = FhirTask.TaskStatus.Ready, Intent = FhirTask.TaskIntent.Order, Description = "bench" }), ct);
            r.EnsureSuccessStatusCode();
            created.Add(Parse<FhirTask>(await r.Content.ReadAsStringAsync(ct)));
        });
        var count = 0;
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(created, new ParallelOptions { MaxDegreeOfParallelism = clients }, async (task, ct) =>
        {
            foreach (var status in new[] { FhirTask.TaskStatus.InProgress, FhirTask.TaskStatus.Completed })
            {
                task.Status = status;
                using var r = await host.Client.PutAsync($"Task/{task.Id}", Content(task), ct);
                if (r.StatusCode != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"PUT answered {(int)r.StatusCode}");
                }

                Interlocked.Increment(ref count);
            }
        });
        return (count, watch.Elapsed.TotalSeconds);
    }

    private static async Task<(List<double> Latencies, int Posts)> LatencyAsync(Host host, int events, int? maxCount)
    {
        var received = new ConcurrentDictionary<string, DateTimeOffset>();
        var posts = new StrongBox<int>();
        await using var receiver = await Receiver.StartAsync(received, posts);
        var subscription = new Subscription
        {
            Status = Subscription.SubscriptionStatus.Requested,
            Reason = "benchmark",
            Criteria = "http://igia.dev/fhir/SubscriptionTopic/Task",
            Channel = new Subscription.ChannelComponent { Type = Subscription.SubscriptionChannelType.RestHook, Endpoint = receiver.Url, Payload = "application/fhir+json" },
        };
        subscription.Channel.PayloadElement!.Extension.Add(new Extension(Backport.PayloadContent, new Code("full-resource")));
        if (maxCount is { } max)
        {
            subscription.Channel.Extension.Add(new Extension(Backport.MaxCount, new PositiveInt(max)));
        }

        string subscriptionId;
        using (var r = await host.Client.PostAsync("Subscription", Content(subscription)))
        {
            r.EnsureSuccessStatusCode();
            subscriptionId = Parse<Subscription>(await r.Content.ReadAsStringAsync()).Id!;
        }

        await Task.Delay(500); // let the handshake complete before the first event
        var stamps = new Dictionary<string, DateTimeOffset>();
        for (var i = 0; i < events; i++)
        {
            using var r = await host.Client.PostAsync("Task", Content(new FhirTask { Status = FhirTask.TaskStatus.Requested, Intent = FhirTask.TaskIntent.Order }));
            r.EnsureSuccessStatusCode();
            var task = Parse<FhirTask>(await r.Content.ReadAsStringAsync());
            stamps[task.Id!] = task.Meta!.LastUpdated!.Value;
        }

        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (stamps.Keys.Any(k => !received.ContainsKey(k)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        using (var r = await host.Client.DeleteAsync($"Subscription/{subscriptionId}"))
        {
            r.EnsureSuccessStatusCode(); // the next row measures its own Subscription alone
        }

        return (stamps.Where(s => received.ContainsKey(s.Key)).Select(s => (received[s.Key] - s.Value).TotalMilliseconds).ToList(), Volatile.Read(ref posts.Value) - 1); // less the handshake
    }

    private static StringContent Content(Resource resource) => new(System.Text.Json.JsonSerializer.Serialize(resource, Json), Encoding.UTF8, "application/fhir+json");

    private static T Parse<T>(string json)
        where T : Resource => (T)System.Text.Json.JsonSerializer.Deserialize<Resource>(json, Json)!;

    private sealed class Host : IAsyncDisposable
    {
        public required WebApplication App { get; init; }

        public required HttpClient Client { get; init; }

        public static async Task<Host> StartAsync(string folder, bool workflow)
        {
            Directory.CreateDirectory(folder);
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = folder });
            builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning);
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
            builder.Services.AddIgiaFhirServer().UseSqlite(Path.Combine(folder, "fhir.db"));
            if (workflow)
            {
                builder.Services.AddIgiaWorkflow(o =>
                {
                    o.DatabasePath = Path.Combine(folder, "workflow.db");
                    o.Subscriptions.Allow("http://127.0.0.1:*", allowPrivateAddresses: true); // the receiver below
                });
            }

            var app = builder.Build();
            app.MapIgiaFhir("/fhir");
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 64 };
            return new Host { App = app, Client = new HttpClient(handler) { BaseAddress = new Uri(address.TrimEnd('/') + "/fhir/") } };
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }

    private sealed class Receiver : IAsyncDisposable
    {
        public required WebApplication App { get; init; }

        public required string Url { get; init; }

        public static async Task<Receiver> StartAsync(ConcurrentDictionary<string, DateTimeOffset> received, StrongBox<int> posts)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            app.MapPost("/hook", async (HttpContext context) =>
            {
                var at = DateTimeOffset.UtcNow;
                using var reader = new StreamReader(context.Request.Body);
                var bundle = Parse<Bundle>(await reader.ReadToEndAsync());
                Interlocked.Increment(ref posts.Value);
                foreach (var task in bundle.Entry.Skip(1).Select(e => e.Resource).OfType<FhirTask>())
                {
                    received.TryAdd(task.Id!, at);
                }

                return Results.Ok();
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new Receiver { App = app, Url = address.TrimEnd('/') + "/hook" };
        }

        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }
}
