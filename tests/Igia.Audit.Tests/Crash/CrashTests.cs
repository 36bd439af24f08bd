using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Audit.FileLog;
using Igia.Audit.Tests.Infrastructure;

namespace Igia.Audit.Tests.Crash;

/// <summary>
/// A host under concurrent load (reads, creates, updates) is killed with SIGKILL; after a restart every request that
/// had received a 2xx has its AuditEvent, and the log verifies (hash chain and signed checkpoints).
/// </summary>
public sealed class CrashTests
{
    /// <summary>The crash host in a child process.</summary>
    private sealed class ChildHost : IAsyncDisposable
    {
        private readonly Process _process;

        private ChildHost(Process process, string baseUrl)
        {
            _process = process;
            BaseUrl = baseUrl;
        }

        public string BaseUrl { get; }

        public static async Task<ChildHost> StartAsync(string dataFolder)
        {
            var info = new ProcessStartInfo("dotnet", [typeof(CrashHost).Assembly.Location, "crash-host", dataFolder])
            {
                RedirectStandardOutput = true,
                RedirectStandardInput = true,
                RedirectStandardError = true,
            };
            var process = Process.Start(info)!;
            var errors = new StringBuilder();
            process.ErrorDataReceived += (_, e) => errors.AppendLine(e.Data);
            process.BeginErrorReadLine();
            // Generous: a child 'dotnet' starting a host on a loaded 2-core CI machine.
            var deadline = DateTime.UtcNow.AddSeconds(180);
            while (DateTime.UtcNow < deadline)
            {
                var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(180));
                if (line is null)
                {
                    break;
                }

                if (line.StartsWith("LISTENING ", StringComparison.Ordinal))
                {
                    _ = process.StandardOutput.ReadToEndAsync();
                    return new ChildHost(process, line["LISTENING ".Length..]);
                }
            }

            process.Kill();
            throw new InvalidOperationException("The crash host did not start: " + errors);
        }

        /// <summary>SIGKILL: no shutdown code runs.</summary>
        public void Kill()
        {
            _process.Kill();
            _process.WaitForExit();
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
            }

            _process.Dispose();
        }
    }

    [Fact]
    public async Task Host_KilledUnderConcurrentLoad_HasTheRecordOfEveryAcknowledgedRequest()
    {
        var data = TestPaths.NewTempFolder("crash");
        var acknowledged = new ConcurrentBag<string>();
        try
        {
            await using (var child = await ChildHost.StartAsync(data))
            {
                // No 100 s default timeout: a slow answer on a loaded machine is not a failure (the kill ends every request).
                using var client = new HttpClient { BaseAddress = new Uri(child.BaseUrl + "/"), Timeout = Timeout.InfiniteTimeSpan };
                using (var seed = await client.PutAsync("Patient/p0", AuditTestHost.JsonContent(new Patient { Id = "p0" })))
                {
                    Assert.True(seed.IsSuccessStatusCode);
                }

                using var stop = new CancellationTokenSource();
                var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
                {
                    for (var n = 0; !stop.IsCancellationRequested; n++)
                    {
                        var id = $"crash-{w}-{n}";
                        using var request = (n % 3) switch
                        {
                            0 => new HttpRequestMessage(HttpMethod.Get, "Patient/p0"),
                            1 => new HttpRequestMessage(HttpMethod.Post, "Observation")
                            {
                                Content = AuditTestHost.JsonContent(new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4"), Subject = new ResourceReference("Patient/p0") }),
                            },
                            _ => new HttpRequestMessage(HttpMethod.Put, $"Patient/w{w}") { Content = AuditTestHost.JsonContent(new Patient { Id = $"w{w}", Active = n % 2 == 0 }) },
                        };
                        request.Headers.Add("X-Request-Id", id);
                        try
                        {
                            using var response = await client.SendAsync(request);
                            if (response.IsSuccessStatusCode)
                            {
                                acknowledged.Add(id);
                            }
                        }
                        catch (HttpRequestException)
                        {
                            // The server is gone: no response, so no promise was made.
                            return;
                        }
                    }
                })).ToList();

                await AuditLogContent.WaitUntilAsync(() => acknowledged.Count >= 400, TimeSpan.FromSeconds(120), "load is running");
                child.Kill();
                stop.Cancel();
                await Task.WhenAll(workers);
            }

            Assert.True(acknowledged.Count >= 400);
            await using (var restarted = await ChildHost.StartAsync(data))
            {
                using var client = new HttpClient { BaseAddress = new Uri(restarted.BaseUrl + "/") };
                using var request = new HttpRequestMessage(HttpMethod.Get, "Patient/p0");
                request.Headers.Add("X-Request-Id", "after-restart");
                using (var response = await client.SendAsync(request))
                {
                    Assert.True(response.IsSuccessStatusCode);
                }

                var audit = Path.Combine(data, "audit");
                var recorded = AuditLogContent.Read(audit).Select(e => e.RequestId).ToHashSet();
                var unrecorded = acknowledged.Where(id => !recorded.Contains(id)).ToList();
                Assert.True(unrecorded.Count == 0, $"{unrecorded.Count} acknowledged requests have no record: {string.Join(", ", unrecorded.Take(10))}");
                Assert.Contains("after-restart", recorded);
                var verification = AuditLogVerifier.Verify(audit, [AuditTestHost.SigningKey]);
                Assert.True(verification.IsValid, string.Join("\n", verification.Problems));
                Assert.True(verification.VerifiedSignatureCount > 0);
            }
        }
        finally
        {
            TestPaths.TryDelete(data);
        }
    }
}
