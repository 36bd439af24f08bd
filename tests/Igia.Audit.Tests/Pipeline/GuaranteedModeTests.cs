using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Audit.FileLog;
using Igia.Audit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Igia.Audit.Tests.Pipeline;

/// <summary>
/// Guaranteed mode: a response is released only after its audit record is durable; when the log's disk is full the
/// request fails (503) rather than succeed unrecorded, the failure is reported, and nothing captured is lost once the
/// disk has room again.
/// </summary>
public sealed class GuaranteedModeTests
{
    private static string ReadAllLogText(string folder) =>
        string.Concat(LogFormat.ListFiles(folder).Select(f =>
        {
            using var s = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return new StreamReader(s, Encoding.UTF8).ReadToEnd();
        }));

    [Fact]
    public async Task Response_UnderConcurrentLoad_IsReleasedOnlyAfterItsRecordIsInTheLog()
    {
        await using var host = await AuditTestHost.StartAsync();
        await host.PutAsync(new Patient { Id = "p1" });
        var missing = new ConcurrentBag<string>();

        await Parallel.ForAsync(0, 16, async (worker, _) =>
        {
            for (var i = 0; i < 15; i++)
            {
                var requestId = $"w{worker}-{i}-{Guid.NewGuid():N}";
                using var response = await host.SendAsync(HttpMethod.Get, "Patient/p1", requestId: requestId);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);

                // The instant the response is in, its record must already be in the file.
                if (!ReadAllLogText(host.AuditFolder).Contains(requestId, StringComparison.Ordinal))
                {
                    missing.Add(requestId);
                }
            }
        });

        Assert.Empty(missing);
    }

    [Fact]
    public async Task Response_InBufferedMode_IsRecordedInTheBackground()
    {
        await using var host = await AuditTestHost.StartAsync(audit: o => o.Durability = AuditDurability.Buffered);
        var requestId = Guid.NewGuid().ToString();
        using var response = await host.SendAsync(HttpMethod.Get, "Patient/none", requestId: requestId);

        await AuditLogContent.WaitUntilAsync(() => host.EventsFor(requestId).Count == 1, TimeSpan.FromSeconds(120), "the buffered record is written");
    }

    [Fact]
    public async Task Request_WhenTheLogDiskIsFull_Fails503UntilThereIsRoomAndLosesNoRecord()
    {
        var data = TestPaths.NewTempFolder("diskfull");
        var mount = Path.Combine(data, "audit");
        Directory.CreateDirectory(mount);
        if (!await TryRunAsync("mount", $"-t tmpfs -o size=512k tmpfs {mount}"))
        {
            // A real full disk needs a small filesystem. Never a silent pass: say what is missing.
            TestPaths.TryDelete(data);
            Assert.Fail("This test fills a real 512 KB tmpfs and needs to mount one ('mount -t tmpfs', root or CAP_SYS_ADMIN); mounting failed here.");
        }

        try
        {
            await using var host = await AuditTestHost.StartAsync(dataFolder: data);
            await host.PutAsync(new Patient { Id = "p1" });
            var ok = new List<string>();
            for (var i = 0; i < 5; i++)
            {
                var id = "before-" + i;
                using var r = await host.SendAsync(HttpMethod.Get, "Patient/p1", requestId: id);
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                ok.Add(id);
            }

            var filler = Path.Combine(mount, "filler.bin");
            FillDisk(filler);

            // Writes fit into the file's last, partly used page for a while; the first record that needs a new page fails.
            var refused = new List<string>();
            for (var i = 0; i < 500 && refused.Count == 0; i++)
            {
                var id = "full-" + i;
                using var r = await host.SendAsync(HttpMethod.Get, "Patient/p1", requestId: id);
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    ok.Add(id);
                    continue;
                }

                Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
                Assert.Contains("audit trail is unavailable", (await AuditTestHost.ReadAsync<OperationOutcome>(r)).Issue[0].Diagnostics);
                refused.Add(id);
            }

            Assert.Single(refused);
            for (var i = 0; i < 4; i++)
            {
                var id = "refused-" + i;
                using var r = await host.SendAsync(HttpMethod.Get, "Patient/p1", requestId: id);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
                Assert.Contains("was not processed", (await AuditTestHost.ReadAsync<OperationOutcome>(r)).Issue[0].Diagnostics);
                refused.Add(id);
            }

            var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
            Assert.Equal(HealthStatus.Unhealthy, health.Entries["igia-audit"].Status);

            File.Delete(filler);
            await AuditLogContent.WaitUntilAsync(async () => (await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["igia-audit"].Status == HealthStatus.Healthy,
                TimeSpan.FromSeconds(120), "the log is writable again");
            for (var i = 0; i < 5; i++)
            {
                var id = "after-" + i;
                using var r = await host.SendAsync(HttpMethod.Get, "Patient/p1", requestId: id);
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                ok.Add(id);
            }

            var log = host.ReadAuditLog();
            Assert.All(ok, id => Assert.Contains(log, e => e.RequestId == id));

            // The request that was executing when the disk filled was recorded once there was room again.
            Assert.Contains(log, e => e.RequestId == refused[0] && e.Event.Outcome == AuditEvent.AuditEventOutcome.N0);
            Assert.All(refused.Skip(1), id => Assert.Contains(log, e => e.RequestId == id && e.Event.Outcome == AuditEvent.AuditEventOutcome.N8));
            Assert.Equal(log.Select(e => e.Sequence), Enumerable.Range(1, log.Count).Select(i => (long)i));
            var verification = AuditLogVerifier.Verify(mount, [AuditTestHost.SigningKey]);
            Assert.True(verification.IsValid, string.Join("\n", verification.Problems));
        }
        finally
        {
            await TryRunAsync("umount", mount);
            TestPaths.TryDelete(data);
        }
    }

    private static void FillDisk(string path)
    {
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        var chunk = new byte[4096];
        try
        {
            while (true)
            {
                f.Write(chunk);
                f.Flush();
            }
        }
        catch (IOException)
        {
            // Full.
        }
    }

    private static async Task<bool> TryRunAsync(string file, string args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            await p.WaitForExitAsync();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
