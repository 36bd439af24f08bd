using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Audit;
using Igia.Audit.Capture;
using Igia.Audit.FileLog;
using Igia.Audit.Internal;
using Igia.Audit.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace Igia.Benchmarks.Audit;

/// <summary>
/// FHIR read throughput with the audit trail off (baseline), guaranteed (each response waits for its record's fsync) and
/// buffered, in the same run: one Kestrel app per case on 127.0.0.1 over the same seeded SQLite data, driven by 32
/// concurrent keep-alive clients reading Patients and Observations (each read is one BALP PatientRead record). Time is per
/// read; throughput ratio against the baseline is 1 / Ratio.
/// <c>dotnet run -c Release --project benchmarks/Igia.Benchmarks -- --filter '*AuditReadThroughput*'</c>
/// </summary>
[MemoryDiagnoser]
public class AuditReadThroughputBenchmarks
{
    private const int Reads = 2048;
    private const int Concurrency = 32;
    private const int Patients = 100;

    private WebApplication _app = null!;
    private HttpClient _client = null!;
    private string _folder = "";
    private string[] _paths = [];

    /// <summary>
    /// off: no audit; Guaranteed / Buffered: <see cref="AuditDurability"/>; GuaranteedNoFsync: guaranteed with
    /// <see cref="FileAuditLogOptions.FlushToDisk"/> off — not a setting to run with, it splits the cost into CPU and fsync wait.
    /// </summary>
    [Params("off", "Guaranteed", "Buffered", "GuaranteedNoFsync")]
    public string Audit { get; set; } = "off";

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _folder = Path.Combine(Path.GetTempPath(), "igia-bench-audit-read-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_folder);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = _folder });
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddIgiaFhirServer().UseSqlite(Path.Combine(_folder, "fhir.db"));
        if (Audit != "off")
        {
            var noFsync = Audit == "GuaranteedNoFsync";
            builder.Services.AddIgiaAudit(o => o.Durability = noFsync ? AuditDurability.Guaranteed : Enum.Parse<AuditDurability>(Audit))
                .WriteToFile(Path.Combine(_folder, "audit"), f =>
                {
                    f.SigningKey = AuditSigningKey.Hmac("bench", new byte[32]);
                    f.FlushToDisk = !noFsync;
                });
        }

        _app = builder.Build();
        _app.MapIgiaFhir("/fhir");
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Concurrency }) { BaseAddress = new Uri(address.TrimEnd('/') + "/fhir/") };
        var json = new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);
        var paths = new List<string>();
        for (var i = 0; i < Patients; i++)
        {
            var patient = SampleData.Patient(i);
            patient.Id = "p" + i;
            await PutAsync($"Patient/p{i}", System.Text.Json.JsonSerializer.Serialize(patient, json));
            var observation = SampleData.Observation(i, 0);
            observation.Id = "o" + i;
            observation.Subject = new ResourceReference("Patient/p" + i);
            await PutAsync($"Observation/o{i}", System.Text.Json.JsonSerializer.Serialize(observation, json));
            paths.Add("Patient/p" + i);
            paths.Add("Observation/o" + i);
        }

        _paths = [.. paths];
    }

    private async Task PutAsync(string url, string json)
    {
        using var response = await _client.PutAsync(url, new StringContent(json, Encoding.UTF8, "application/fhir+json"));
        response.EnsureSuccessStatusCode();
    }

    [Benchmark(OperationsPerInvoke = Reads)]
    public Task Read() => LoadAsync();

    private async Task LoadAsync()
    {
        var next = -1;
        var workers = new Task[Concurrency];
        for (var w = 0; w < Concurrency; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                int n;
                while ((n = Interlocked.Increment(ref next)) < Reads)
                {
                    using var response = await _client.GetAsync(_paths[n % _paths.Length], HttpCompletionOption.ResponseHeadersRead);
                    await response.Content.CopyToAsync(Stream.Null);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        throw new InvalidOperationException($"Read failed: {(int)response.StatusCode}");
                    }
                }
            });
        }

        await Task.WhenAll(workers);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _app.StopAsync().GetAwaiter().GetResult();
        _app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}

/// <summary>
/// The local log's write path, fsync on: records per second of the journal at a given batch size (one write and one
/// fdatasync per batch: group commit; batch 1 is the no-group-commit baseline), and of the whole pipeline with 64
/// concurrent "requests" each waiting for its record to be durable (natural group commit). Time is per record.
/// Records are BALP PatientRead events (~1.6 KB of JSON).
/// <c>dotnet run -c Release --project benchmarks/Igia.Benchmarks -- --filter '*AuditFileLog*'</c>
/// </summary>
[MemoryDiagnoser]
public class AuditFileLogBenchmarks
{
    private const int Records = 8192;
    private string _folder = "";
    private byte[] _json = [];
    private AuditJournal _journal = null!;
    private AuditPipeline _pipeline = null!;
    private List<PendingRecord>[] _batches = [];

    [Params(1, 16, 256, 1024)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), "igia-bench-audit-log-" + Guid.NewGuid().ToString("N")[..8]);
        _json = AuditBenchmarkData.ReadEventJson();
        var options = new FileAuditLogOptions { Folder = Path.Combine(_folder, "journal"), SigningKey = AuditSigningKey.Hmac("bench", new byte[32]) };
        _journal = new AuditJournal(options, TimeProvider.System, NullLogger.Instance);
        _journal.Open();
        var pipelineLog = new FileAuditLogOptions { Folder = Path.Combine(_folder, "pipeline"), SigningKey = AuditSigningKey.Hmac("bench", new byte[32]) };
        _pipeline = new AuditPipeline(Options.Create(new AuditOptions { MaxBatchSize = BatchSize }), Options.Create(pipelineLog), [], TimeProvider.System, NullLoggerFactory.Instance, new AuditTelemetry());
        _pipeline.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    [IterationSetup(Target = nameof(Journal))]
    public void PrepareBatches() =>
        _batches = Enumerable.Range(0, Records / BatchSize).Select(_ => Enumerable.Range(0, BatchSize).Select(_ => new PendingRecord(_json, awaitDurable: false)).ToList()).ToArray();

    /// <summary>The journal alone: <see cref="BatchSize"/> records per write + fdatasync.</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public void Journal()
    {
        foreach (var batch in _batches)
        {
            _journal.Append(batch);
        }
    }

    /// <summary>The pipeline: 64 concurrent producers, each awaiting durability of its record before the next (at most <see cref="BatchSize"/> per fsync).</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public Task Pipeline64Waiters()
    {
        var next = -1;
        return Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < Records)
            {
                var record = new PendingRecord(_json, awaitDurable: true);
                await _pipeline.EnqueueAsync(record);
                await record.Durable!.Task;
            }
        })));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _journal.Dispose();
        _pipeline.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        _pipeline.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}

/// <summary>
/// Verifier speed: a 100,000-record log (BALP PatientRead events, signed HMAC checkpoints every 10,000 records) checked
/// end to end — every SHA-256, the chain, sequence numbers and signatures. Time is per record.
/// <c>dotnet run -c Release --project benchmarks/Igia.Benchmarks -- --filter '*AuditVerifier*'</c>
/// </summary>
[MemoryDiagnoser]
public class AuditVerifierBenchmarks
{
    private const int Records = 100_000;
    private readonly AuditSigningKey _key = AuditSigningKey.Hmac("bench", new byte[32]);
    private string _folder = "";

    [GlobalSetup]
    public void Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), "igia-bench-audit-verify-" + Guid.NewGuid().ToString("N")[..8]);
        var json = AuditBenchmarkData.ReadEventJson();
        using var journal = new AuditJournal(new FileAuditLogOptions { Folder = _folder, SigningKey = _key, FlushToDisk = false }, TimeProvider.System, NullLogger.Instance);
        journal.Open();
        for (var i = 0; i < Records; i += 1000)
        {
            journal.Append(Enumerable.Range(0, 1000).Select(_ => new PendingRecord(json, awaitDurable: false)).ToList());
        }
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public bool Verify()
    {
        var result = AuditLogVerifier.Verify(_folder, [_key]);
        return result.IsValid ? true : throw new InvalidOperationException("The benchmark log does not verify.");
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);
}

/// <summary>A typical record: the BALP PatientRead AuditEvent of an OAuth-authenticated read.</summary>
internal static class AuditBenchmarkData
{
    public static byte[] ReadEventJson() => FhirJson.Serialize(new AuditEvent
    {
        Id = Guid.CreateVersion7().ToString("N"),
        Meta = new Meta { Profile = ["https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead", "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.OAUTHaccessTokenUse.Comprehensive"] },
        Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "Restful Operation"),
        Subtype = [new Coding("http://hl7.org/fhir/restful-interaction", "read", "read")],
        Action = AuditEvent.AuditEventAction.R,
        Recorded = DateTimeOffset.UtcNow,
        Outcome = AuditEvent.AuditEventOutcome.N0,
        Agent =
        [
            new AuditEvent.AgentComponent { Type = new CodeableConcept("http://dicom.nema.org/resources/ontology/DCM", "110152", "Destination Role ID"), Who = new ResourceReference { Identifier = new Identifier { Value = "growth-chart-app" } }, Requestor = false, Network = new AuditEvent.NetworkComponent { Address = "10.20.30.40", Type = AuditEvent.AuditEventAgentNetworkType.N2 } },
            new AuditEvent.AgentComponent { Type = new CodeableConcept("http://dicom.nema.org/resources/ontology/DCM", "110153", "Source Role ID"), Who = new ResourceReference { Identifier = new Identifier { Value = "ehr-fhir-01" }, Display = "ehr-fhir-01" }, Requestor = false, Network = new AuditEvent.NetworkComponent { Address = "https://ehr.example.org/fhir", Type = AuditEvent.AuditEventAgentNetworkType.N5 } },
            new AuditEvent.AgentComponent { Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient"), Who = new ResourceReference { Reference = "Practitioner/dr-4711", Identifier = new Identifier { System = "https://idp.example.org", Value = "3d2f0c8e-1b7a-4a51-9d39-5b6c1e2f7a90" } }, Requestor = true, Policy = ["9f86d081884c7d65"] },
            new AuditEvent.AgentComponent { Type = new CodeableConcept("http://dicom.nema.org/resources/ontology/DCM", "110150", "Application"), Who = new ResourceReference { Identifier = new Identifier { Value = "growth-chart-app" } }, Requestor = false },
        ],
        Source = new AuditEvent.SourceComponent { Site = "General Hospital", Observer = new ResourceReference { Identifier = new Identifier { Value = "ehr-fhir-01" }, Display = "ehr-fhir-01" }, Type = [new Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")] },
        Entity =
        [
            new AuditEvent.EntityComponent { What = new ResourceReference("Observation/o17"), Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"), Role = new Coding("http://terminology.hl7.org/CodeSystem/object-role", "4", "Domain Resource") },
            new AuditEvent.EntityComponent { What = new ResourceReference("Patient/p17"), Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"), Role = new Coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient") },
            new AuditEvent.EntityComponent { What = new ResourceReference { Identifier = new Identifier { Value = Guid.NewGuid().ToString() } }, Type = new Coding("https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType", "XrequestId") },
        ],
    });
}

/// <summary>
/// The CPU cost the audit adds to one FHIR read, without I/O: building the BALP PatientRead AuditEvent of an
/// OAuth-authenticated read (caller from the token's claims and the connection, patient found in the stored JSON), then
/// serialising it with the capture's writer, against the Firely serializer.
/// <c>dotnet run -c Release --project benchmarks/Igia.Benchmarks -- --filter '*AuditCapture*'</c>
/// </summary>
[MemoryDiagnoser]
public class AuditCaptureBenchmarks
{
    private AuditEventFactory _factory = null!;
    private Igia.Fhir.Pipeline.FhirInteraction _interaction = null!;
    private string _storedJson = "";
    private AuditEvent _event = null!;

    [GlobalSetup]
    public void Setup()
    {
        _factory = new AuditEventFactory(Options.Create(new AuditOptions { SourceId = "ehr-fhir-01" }), TimeProvider.System);
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        http.Connection.RemoteIpAddress = IPAddress.Parse("10.20.30.40");
        http.Request.Headers["X-Request-Id"] = Guid.NewGuid().ToString();
        var user = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
        [
            new System.Security.Claims.Claim("sub", "3d2f0c8e-1b7a-4a51-9d39-5b6c1e2f7a90", null, "https://idp.example.org"),
            new System.Security.Claims.Claim("iss", "https://idp.example.org"),
            new System.Security.Claims.Claim("fhirUser", "Practitioner/dr-4711"),
            new System.Security.Claims.Claim("client_id", "growth-chart-app"),
            new System.Security.Claims.Claim("jti", "9f86d081884c7d65"),
        ], "Bearer"));
        _interaction = new Igia.Fhir.Pipeline.FhirInteraction
        {
            Kind = Igia.Fhir.Pipeline.FhirInteractionKind.Read,
            ResourceType = "Observation",
            Id = "o17",
            User = user,
            HttpContext = http,
            BaseUrl = "https://ehr.example.org/fhir",
            RelativeUrl = "Observation/o17",
        };
        var observation = SampleData.Observation(17, 0);
        observation.Id = "o17";
        observation.Subject = new ResourceReference("Patient/p17");
        _storedJson = FhirJson.SerializeToString(observation);
        _event = Build();
    }

    private AuditEvent Build()
    {
        var response = new Igia.Fhir.Pipeline.FhirResponse { ResourceType = "Observation", Id = "o17" };
        response.SetStoredJson(_storedJson);
        return _factory.ForInteraction(_interaction, 200, response, null)[0];
    }

    /// <summary>Building the event (caller, patient from the stored JSON, agents, entities).</summary>
    [Benchmark]
    public AuditEvent Capture() => Build();

    /// <summary>What a read costs the capture before this change: build the event, then write its JSON.</summary>
    [Benchmark]
    public byte[] CaptureAndSerialize() => AuditEventJson.Serialize(Build(), known: true);

    /// <summary>The hot path: the same event's JSON written straight from the interaction (no AuditEvent object).</summary>
    [Benchmark]
    public byte[] CaptureJsonDirect()
    {
        var response = new Igia.Fhir.Pipeline.FhirResponse { ResourceType = "Observation", Id = "o17" };
        response.SetStoredJson(_storedJson);
        return _factory.JsonForInteraction(_interaction, 200, response, null)[0];
    }

    /// <summary>The capture's JSON writer.</summary>
    [Benchmark]
    public byte[] Serialize() => AuditEventJson.Serialize(_event);

    /// <summary>Firely's serializer, for comparison.</summary>
    [Benchmark(Baseline = true)]
    public byte[] SerializeFirely() => FhirJson.Serialize(_event);
}
