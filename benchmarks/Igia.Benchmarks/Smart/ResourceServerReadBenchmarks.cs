using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Benchmarks.Smart;

/// <summary>
/// FHIR read throughput over real HTTP (Kestrel on 127.0.0.1, HttpClient with 8 concurrent callers) with the SMART resource
/// server on (a signed RS256 JWT validated against the issuer's JWKS on every request, <c>patient/*.read</c> scope
/// enforcement with the patient-compartment check) against the same server without it (baseline), in one run. Two reads:
/// the token's own Patient (decided from the id alone) and one of the patient's Observations (its compartment membership is
/// evaluated). Each invocation is 64 requests; compare the Ratio column (on / off; throughput ratio = 1 / Ratio).
/// Run: <c>dotnet run -c Release --project benchmarks/Igia.Benchmarks --artifacts-path /tmp/art-x -- --filter '*ResourceServerRead*'</c>.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ResourceServerReadBenchmarks
{
    private const int Callers = 8;
    private const int PerCaller = 8;

    private WebApplication _issuer = null!;
    private WebApplication _open = null!;
    private WebApplication _smart = null!;
    private WebApplication _openAuth = null!;
    private HttpClient _http = null!;
    private string _openBase = "";
    private string _smartBase = "";
    private string _openAuthBase = "";
    private string _token = "";
    private string _dataFolder = "";

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _dataFolder = Path.Combine(Path.GetTempPath(), "igia-bench-smart-rs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(_dataFolder, "content"));
        var key = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "bench-key" };
        var issuerUrl = $"http://127.0.0.1:{FreePort()}";
        _issuer = StartIssuer(issuerUrl, key);
        await _issuer.StartAsync();

        _openBase = $"http://127.0.0.1:{FreePort()}/fhir";
        _smartBase = $"http://127.0.0.1:{FreePort()}/fhir";
        _openAuthBase = $"http://127.0.0.1:{FreePort()}/fhir";
        _open = Fhir(_openBase, "open.db", null);
        _smart = Fhir(_smartBase, "smart.db", issuerUrl);
        _openAuth = Fhir(_openAuthBase, "open-auth.db", null, authenticationServices: true);
        await _open.StartAsync();
        await _smart.StartAsync();
        await _openAuth.StartAsync();
        _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Callers }) { Timeout = TimeSpan.FromSeconds(60) };

        var handler = new JsonWebTokenHandler();
        string Token(string audience, string scope, string? patient) => handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuerUrl,
            Audience = audience,
            Claims = patient is null ? new Dictionary<string, object> { ["scope"] = scope } : new Dictionary<string, object> { ["scope"] = scope, ["patient"] = patient },
            Expires = DateTime.UtcNow.AddHours(2),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });
        var seed = Token(_smartBase, "system/*.cruds", null);
        _token = Token(_smartBase, "launch/patient patient/*.read", "bench-a");
        foreach (var (b, t) in new[] { (_openBase, (string?)null), (_smartBase, seed), (_openAuthBase, null) })
        {
            await Put(b, t, "Patient/bench-a", """{"resourceType":"Patient","id":"bench-a","name":[{"family":"Bench"}]}""");
            await Put(b, t, "Patient/bench-b", """{"resourceType":"Patient","id":"bench-b","name":[{"family":"Other"}]}""");
            for (var i = 0; i < 20; i++)
            {
                var who = i % 2 == 0 ? "bench-a" : "bench-b";
                await Put(b, t, $"Observation/o{i}", $$$"""{"resourceType":"Observation","id":"o{{{i}}}","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/{{{who}}}"},"performer":[{"reference":"Practitioner/p1"}],"valueQuantity":{"value":{{{60 + i}}},"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}""");
            }
        }

        // Both servers answer the same reads before measuring (and the SMART one has its keys).
        await RunAsync(_openBase, "Observation/o2", null);
        await RunAsync(_smartBase, "Observation/o2", _token);
        await RunAsync(_openAuthBase, "Observation/o2", null);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _http.Dispose();
        foreach (var app in new[] { _smart, _open, _openAuth, _issuer })
        {
            app.StopAsync().GetAwaiter().GetResult();
            ((IAsyncDisposable)app).DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        try
        {
            Directory.Delete(_dataFolder, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may hold the files for a moment.
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Callers * PerCaller), BenchmarkCategory("Read own Patient")]
    public Task PatientOpen() => RunAsync(_openBase, "Patient/bench-a", null);

    [Benchmark(OperationsPerInvoke = Callers * PerCaller), BenchmarkCategory("Read own Patient")]
    public Task PatientSmart() => RunAsync(_smartBase, "Patient/bench-a", _token);

    [Benchmark(Baseline = true, OperationsPerInvoke = Callers * PerCaller), BenchmarkCategory("Read own Observation")]
    public Task ObservationOpen() => RunAsync(_openBase, "Observation/o2", null);

    [Benchmark(OperationsPerInvoke = Callers * PerCaller), BenchmarkCategory("Read own Observation")]
    public Task ObservationSmart() => RunAsync(_smartBase, "Observation/o2", _token);

    private Task RunAsync(string baseUrl, string path, string? token) => RunAsync(baseUrl, path, token, PerCaller);

    /// <summary>
    /// The on/off pairs the interleaved run measures: (label, open base, smart base, path, token). With
    /// <paramref name="tokenToBoth"/> the off arm sends the same Authorization header (the open server ignores it), so both
    /// arms carry the same request bytes and the ratio is the cost of validating and enforcing the token alone, not of
    /// sending ~1 KB more per request through the client and Kestrel.
    /// </summary>
    internal IEnumerable<(string Label, Func<int, Task> Open, Func<int, Task> Smart)> Pairs(bool tokenToBoth = false)
    {
        var offToken = tokenToBoth ? _token : null;
        return
        [
            ("Control: off vs off (noise floor)", n => RunAsync(_openBase, "Patient/bench-a", offToken, n), n => RunAsync(_openBase, "Patient/bench-a", offToken, n)),
            // The "on" side here is the open server with ASP.NET Core authentication services registered (JwtBearer schemes, no
            // default scheme, no SMART filter): WebApplication then adds the authentication middleware by itself, which resolves a scoped service
            // and so creates a DI scope per request. This isolates that part of the SMART arm's cost from the filter's own.
            ("Control: off vs off + ASP.NET authentication middleware", n => RunAsync(_openBase, "Patient/bench-a", offToken, n), n => RunAsync(_openAuthBase, "Patient/bench-a", offToken, n)),
            ("Read own Patient", n => RunAsync(_openBase, "Patient/bench-a", offToken, n), n => RunAsync(_smartBase, "Patient/bench-a", _token, n)),
            ("Read own Observation", n => RunAsync(_openBase, "Observation/o2", offToken, n), n => RunAsync(_smartBase, "Observation/o2", _token, n)),
            ("Search own Observations", n => RunAsync(_openBase, "Observation?patient=bench-a&_count=5", offToken, n), n => RunAsync(_smartBase, "Observation?patient=bench-a&_count=5", _token, n)),
        ];
    }

    /// <summary>8 concurrent callers, <paramref name="perCaller"/> sequential requests each.</summary>
    internal Task RunAsync(string baseUrl, string path, string? token, int perCaller) =>
        Task.WhenAll(Enumerable.Range(0, Callers).Select(async _ =>
        {
            for (var i = 0; i < perCaller; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"{baseUrl}/{path}");
                if (token is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                }

                using var response = await _http.SendAsync(request);
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"{baseUrl}/{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }

                await response.Content.CopyToAsync(Stream.Null);
            }
        }));

    private async Task Put(string baseUrl, string? token, string path, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"{baseUrl}/{path}") { Content = new StringContent(body, Encoding.UTF8, "application/fhir+json") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var http = new HttpClient();
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Seeding {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private WebApplication Fhir(string baseUrl, string file, string? issuer, bool authenticationServices = false)
    {
        var builder = WebApplication.CreateSlimBuilder(Options());
        builder.WebHost.UseUrls(baseUrl[..baseUrl.LastIndexOf('/')]);
        builder.Logging.ClearProviders();
        // Errors only (a 500 must never be silent in a benchmark).
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Error);
        builder.Services.AddIgiaFhirServer().UseSqlite(Path.Combine(_dataFolder, file));
        if (issuer is not null)
        {
            builder.Services.AddIgiaSmartResourceServer(o =>
            {
                o.Authority = new Uri(issuer);
                o.Audience = baseUrl;
            });
        }
        else if (authenticationServices)
        {
            // Two schemes, as AddIgiaSmartResourceServer registers (with one, ASP.NET would make it the default and authenticate
            // every request with it).
            builder.Services.AddAuthentication().AddJwtBearer("a", _ => { }).AddJwtBearer("b", _ => { });
        }

        var app = builder.Build();
        app.MapIgiaFhir("/fhir"); // the SMART filter authenticates FHIR requests itself (UseAuthentication is for other endpoints)
        return app;
    }

    /// <summary>
    /// An empty content root: the default (the working directory) is watched recursively for appsettings changes, and on a
    /// shared machine the builds under it would make the watcher's work fall on whichever arm happens to run.
    /// </summary>
    private WebApplicationOptions Options() => new() { ContentRootPath = Path.Combine(_dataFolder, "content") };

    private WebApplication StartIssuer(string url, RsaSecurityKey key)
    {
        var builder = WebApplication.CreateSlimBuilder(Options());
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/.well-known/openid-configuration", () => Results.Text(new JsonObject { ["issuer"] = url, ["jwks_uri"] = url + "/jwks" }.ToJsonString(), "application/json"));
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(key);
        app.MapGet("/jwks", () => Results.Text(new JsonObject { ["keys"] = new JsonArray(new JsonObject { ["kty"] = "RSA", ["kid"] = jwk.Kid, ["use"] = "sig", ["alg"] = "RS256", ["n"] = jwk.N, ["e"] = jwk.E }) }.ToJsonString(), "application/json"));
        return app;
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
