using System.Collections.Concurrent;
using System.Net;
using Hl7.Fhir.Model;
using Igia.Audit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Igia.Audit.Tests.Pipeline;

/// <summary>
/// Sinks get every record once, in order: when a sink throws, its records wait in the local log (the spool) and are
/// retried in order; across a restart delivery resumes after the sink's cursor, replaying from disk, without duplicates.
/// </summary>
public sealed class SinkDeliveryTests
{
    /// <summary>What a <see cref="RecordingSink"/> received; shared across hosts (restarts).</summary>
    public sealed class SinkState
    {
        public ConcurrentQueue<long> Received { get; } = new();

        public volatile bool Down;

        public int Failures;
    }

    /// <summary>A sink that records what it is given, and throws while its state says it is down.</summary>
    public sealed class RecordingSink(SinkState state) : IAuditSink
    {
        public string Name => "recording";

        public ValueTask WriteAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
        {
            if (state.Down)
            {
                Interlocked.Increment(ref state.Failures);
                throw new IOException("The test sink is down.");
            }

            foreach (var record in records)
            {
                _ = record.Event; // parses
                state.Received.Enqueue(record.Sequence);
            }

            return ValueTask.CompletedTask;
        }
    }

    private static Task<AuditTestHost> StartAsync(SinkState state, string? dataFolder = null) =>
        AuditTestHost.StartAsync(
            configureAudit: a => a.AddSink<RecordingSink>(),
            configureServices: s => s.AddSingleton(state),
            dataFolder: dataFolder);

    private static async Task LoadAsync(AuditTestHost host, int workers, int perWorker)
    {
        await Parallel.ForAsync(0, workers, async (w, _) =>
        {
            for (var i = 0; i < perWorker; i++)
            {
                using var response = await host.SendAsync(HttpMethod.Get, $"Patient/p{w}", requestId: $"load-{w}-{i}");
                Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            }
        });
    }

    [Fact]
    public async Task Sink_DownForAWhileUnderLoad_GetsEveryRecordOnceInOrder()
    {
        var state = new SinkState { Down = true };
        await using var host = await StartAsync(state);

        await LoadAsync(host, 8, 40);
        await AuditLogContent.WaitUntilAsync(() => state.Failures >= 2, TimeSpan.FromSeconds(30), "the sink has failed");
        var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Degraded, health.Entries["igia-audit"].Status);
        state.Down = false;
        await LoadAsync(host, 4, 10);

        var total = host.ReadAuditLog().Count;
        await AuditLogContent.WaitUntilAsync(() => state.Received.Count >= total, TimeSpan.FromSeconds(60), "the sink has caught up");
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), state.Received);
    }

    [Fact]
    public async Task Sink_AfterRestart_ResumesFromItsCursorReplayingFromDiskWithoutDuplicates()
    {
        var state = new SinkState();
        var data = TestPaths.NewTempFolder("replay");
        try
        {
            await using (var first = await StartAsync(state, data))
            {
                await LoadAsync(first, 4, 10);
                var delivered = first.ReadAuditLog().Count;
                await AuditLogContent.WaitUntilAsync(() => state.Received.Count >= delivered, TimeSpan.FromSeconds(30), "the sink has caught up");
                state.Down = true;
                await LoadAsync(first, 4, 25);
            }

            Assert.True(state.Received.Count < AuditLogContent.Read(Path.Combine(data, "audit")).Count);
            state.Down = false;
            await using (var second = await StartAsync(state, data))
            {
                await LoadAsync(second, 2, 5);
                var total = second.ReadAuditLog().Count;
                await AuditLogContent.WaitUntilAsync(() => state.Received.Count >= total, TimeSpan.FromSeconds(60), "the sink has caught up after the restart");
                Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), state.Received);
            }
        }
        finally
        {
            TestPaths.TryDelete(data);
        }
    }
}
