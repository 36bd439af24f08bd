using System.Net;
using Hl7.Fhir.Model;
using Igia.Audit.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Igia.Audit.Tests.FhirStore;

/// <summary>
/// The FHIR-store sink: every record becomes an AuditEvent resource in the Igia FHIR store, once (version 1), in order —
/// also when the store is locked by another writer for a while under load, and after a restart that re-delivers.
/// </summary>
public sealed class FhirStoreSinkTests
{
    private static Task<AuditTestHost> StartAsync(string? data = null) =>
        AuditTestHost.StartAsync(configureAudit: a => a.WriteToFhirStore(), dataFolder: data);

    internal static async Task WaitForSinkAsync(AuditTestHost host, string sink = "fhir-store")
    {
        var health = host.Services.GetRequiredService<HealthCheckService>();
        await AuditLogContent.WaitUntilAsync(async () =>
        {
            var entry = (await health.CheckHealthAsync()).Entries["igia-audit"];
            return entry.Data.TryGetValue("lag:" + sink, out var lag) && (long)lag == 0 && (long)entry.Data["durableSequence"] > 0;
        }, TimeSpan.FromSeconds(120), sink + " has caught up");
    }

    private static async Task<List<AuditEvent>> StoredAsync(AuditTestHost host, IEnumerable<string> ids)
    {
        var stored = new List<AuditEvent>();
        foreach (var id in ids)
        {
            using var response = await host.Client.GetAsync("AuditEvent/" + id);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"AuditEvent/{id}: {(int)response.StatusCode}");
            stored.Add(await AuditTestHost.ReadAsync<AuditEvent>(response));
        }

        return stored;
    }

    [Fact]
    public async Task WriteToFhirStore_Records_AreStoredOnceWithTheirContent()
    {
        await using var host = await StartAsync();
        var principal = TestAuthenticationHandler.Principal();
        await host.PutAsync(new Patient { Id = "p1" });
        using (await host.SendAsync(HttpMethod.Get, "Patient/p1", principal: principal)) { }
        using (await host.SendAsync(HttpMethod.Get, "Patient/missing", principal: principal)) { }
        using (await host.SendAsync(HttpMethod.Get, "Patient/forbidden-x", principal: principal)) { }

        await WaitForSinkAsync(host);
        var logged = host.ReadAuditLog();
        var stored = await StoredAsync(host, logged.Select(e => e.Event.Id));

        for (var i = 0; i < logged.Count; i++)
        {
            Assert.Equal("1", stored[i].Meta.VersionId);
            var expected = (AuditEvent)logged[i].Event.DeepCopy();
            var actual = (AuditEvent)stored[i].DeepCopy();
            actual.Meta.VersionId = null;
            actual.Meta.LastUpdated = null;
            if (expected.Meta is null && actual.Meta.Profile.Count() == 0 && actual.Meta.Security.Count == 0 && actual.Meta.Tag.Count == 0)
            {
                actual.Meta = null;
            }

            Assert.True(expected.IsExactly(actual), $"record {logged[i].Sequence} differs in the store");
        }
    }

    [Fact]
    public async Task WriteToFhirStore_StoreLockedByAnotherWriterUnderLoad_EveryRecordArrivesOnceInOrder()
    {
        await using var host = await StartAsync();
        await host.PutAsync(new Patient { Id = "p1" });
        await WaitForSinkAsync(host);

        // A real outage of the store's write path: another connection holds SQLite's write lock.
        await using var blocker = new SqliteConnection($"Data Source={Path.Combine(host.DataFolder, "fhir.db")};Pooling=False");
        await blocker.OpenAsync();
        await using var tx = blocker.BeginTransaction(deferred: false);
        using var stop = new CancellationTokenSource();
        var load = Task.WhenAll(Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                using var response = await host.SendAsync(HttpMethod.Get, "Patient/p1", requestId: $"outage-{w}-{n++}");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        })));
        await AuditLogContent.WaitUntilAsync(() => host.ReadAuditLog().Count > 600, TimeSpan.FromSeconds(180), "records pile up during the outage");
        var lagging = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.True((long)lagging.Entries["igia-audit"].Data["lag:fhir-store"] > 0);
        await tx.RollbackAsync();
        await AuditLogContent.WaitUntilAsync(() => host.ReadAuditLog().Count > 900, TimeSpan.FromSeconds(180), "more records after the outage");
        stop.Cancel();
        await load;

        await WaitForSinkAsync(host);
        var logged = host.ReadAuditLog();
        var stored = await StoredAsync(host, logged.Select(e => e.Event.Id));
        Assert.All(stored, s => Assert.Equal("1", s.Meta.VersionId));
        for (var i = 1; i < stored.Count; i++)
        {
            Assert.True(stored[i].Meta.LastUpdated >= stored[i - 1].Meta.LastUpdated, $"record {logged[i].Sequence} was stored before record {logged[i - 1].Sequence}");
        }
    }

    [Fact]
    public async Task WriteToFhirStore_RedeliveredAfterRestart_SkipsWhatIsAlreadyStored()
    {
        var data = TestPaths.NewTempFolder("redeliver");
        try
        {
            List<string> ids;
            await using (var first = await StartAsync(data))
            {
                await first.PutAsync(new Patient { Id = "p1" });
                for (var i = 0; i < 20; i++)
                {
                    using (await first.SendAsync(HttpMethod.Get, "Patient/p1")) { }
                }

                await WaitForSinkAsync(first);
                ids = first.ReadAuditLog().Select(e => e.Event.Id).ToList();
            }

            // As if the process died after the store committed but before the sink's cursor was saved.
            File.Delete(Path.Combine(data, "audit", "cursors", "fhir-store.cursor"));

            await using var second = await StartAsync(data);
            await WaitForSinkAsync(second);
            var stored = await StoredAsync(second, ids);
            Assert.All(stored, s => Assert.Equal("1", s.Meta.VersionId));
        }
        finally
        {
            TestPaths.TryDelete(data);
        }
    }
}
