using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Fhir.Operations;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Storage;
using Igia.Smart.ResourceServer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Smart.Tests.ResourceServer;

/// <summary>
/// The Igia FHIR server protected by <c>AddIgiaSmartResourceServer</c>, on real Kestrel at 127.0.0.1, trusting a
/// <see cref="SmartTestIssuer"/>. Registers two operations for the tests: <c>Patient/[id]/$everything</c> (runs a compartment
/// search through the pipeline) and <c>Observation/$careless</c> (returns every Observation straight from the store, as a
/// careless operation might, to show that output is redacted whatever an operation does).
/// </summary>
public sealed class ProtectedFhirHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ProtectedFhirHost(WebApplication app, string baseUrl, string dataFolder)
    {
        _app = app;
        BaseUrl = baseUrl;
        DataFolder = dataFolder;
    }

    /// <summary>The FHIR base (the tokens' audience), e.g. http://127.0.0.1:5123/fhir.</summary>
    public string BaseUrl { get; }

    public string DataFolder { get; }

    public IServiceProvider Services => _app.Services;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public static async Task<ProtectedFhirHost> StartAsync(SmartTestIssuer issuer, Action<SmartResourceServerOptions>? configure = null,
        Action<IServiceCollection>? services = null, bool smart = true, ILoggerProvider? logs = null)
    {
        var port = SmartTestIssuer.FreePort();
        var root = $"http://127.0.0.1:{port}";
        var baseUrl = root + "/fhir";
        var dataFolder = Path.Combine(Path.GetTempPath(), "igia-smart-rs-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataFolder);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(root);
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
            builder.Logging.SetMinimumLevel(LogLevel.Trace);

            // ASP.NET's request log writes full URLs (a token wrongly sent in a query string with them): keep it at Warning, as docs/smart-server.md says.
            builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        }

        builder.Services.AddIgiaFhirServer().UseSqlite(Path.Combine(dataFolder, "fhir.db"))
            .AddOperation<EverythingOperation>()
            .AddOperation<CarelessOperation>();
        if (smart)
        {
            builder.Services.AddIgiaSmartResourceServer(o =>
            {
                o.Authority = new Uri(issuer.Issuer);
                o.Audience = baseUrl;
                o.KeyRefreshInterval = TimeSpan.FromSeconds(1);
                o.Introspection = new SmartIntrospectionOptions
                {
                    Endpoint = new Uri(issuer.Issuer + "/introspect"),
                    ClientId = SmartTestIssuer.IntrospectionClientId,
                    ClientSecret = SmartTestIssuer.IntrospectionSecret,
                };
                o.Metadata.Capabilities.Add("launch-standalone");
                o.Metadata.Capabilities.Add("client-public");
                configure?.Invoke(o);
            });
        }

        services?.Invoke(builder.Services);
        var app = builder.Build();
        if (smart)
        {
            app.UseCors();
            app.UseAuthentication();
            app.MapIgiaSmartConfiguration("/fhir");
            app.MapIgiaFhir("/fhir").RequireCors(SmartResourceServerDefaults.CorsPolicy);
        }
        else
        {
            app.MapIgiaFhir("/fhir");
        }

        await app.StartAsync();
        return new ProtectedFhirHost(app, baseUrl, dataFolder);
    }

    /// <summary>Sends a FHIR request with an optional bearer token and JSON body.</summary>
    public async Task<FhirReply> SendAsync(HttpMethod method, string relative, string? token, string? body = null, IDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, relative.StartsWith("http", StringComparison.Ordinal) ? relative : $"{BaseUrl}/{relative}");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, method == HttpMethod.Patch && body.TrimStart().StartsWith('[') ? "application/json-patch+json" : "application/fhir+json");
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new FhirReply(response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), text,
            response.Headers.WwwAuthenticate.ToString(), response.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase));
    }

    public Task<FhirReply> GetAsync(string relative, string? token) => SendAsync(HttpMethod.Get, relative, token);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(DataFolder, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold the file for a moment; the temp folder is cleaned by the OS.
        }
    }

    /// <summary><c>Patient/[id]/$everything</c>: the patient's compartment, searched through the pipeline on behalf of the caller.</summary>
    private sealed class EverythingOperation : IFhirOperation
    {
        public string Name => "everything";

        public FhirOperationLevel Levels => FhirOperationLevel.Instance;

        public IReadOnlyCollection<string> ResourceTypes => ["Patient"];

        public async ValueTask<FhirResponse> ExecuteAsync(FhirOperationContext context)
        {
            var i = context.Interaction;
            var search = await context.Executor.ExecuteAsync(new FhirInteraction
            {
                Kind = FhirInteractionKind.Search,
                CompartmentType = "Patient",
                CompartmentId = i.Id,
                Parameters = [new("_count", "500")],
                User = i.User,
                HttpContext = i.HttpContext,
                Parent = i,
                BaseUrl = i.BaseUrl,
                RelativeUrl = $"Patient/{i.Id}/*",
                CancellationToken = i.CancellationToken,
            });
            return search;
        }
    }

    /// <summary><c>Observation/$careless</c>: every Observation in the store, no questions asked (the filter must redact the output).</summary>
    private sealed class CarelessOperation(IFhirStore store) : IFhirOperation
    {
        public string Name => "careless";

        public FhirOperationLevel Levels => FhirOperationLevel.Type;

        public IReadOnlyCollection<string> ResourceTypes => ["Observation"];

        public async ValueTask<FhirResponse> ExecuteAsync(FhirOperationContext context)
        {
            await using var session = await store.OpenSessionAsync(FhirSessionMode.Read, context.Interaction.CancellationToken);
            var history = await session.HistoryAsync(new HistoryQuery { ResourceType = "Observation", Count = 1000 }, context.Interaction.CancellationToken);
            var bundle = new Bundle { Type = Bundle.BundleType.Collection };
            var json = new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);
            foreach (var entry in history.Entries.Where(e => !e.Deleted).GroupBy(e => e.Id).Select(g => g.First()))
            {
                bundle.Entry.Add(new Bundle.EntryComponent { Resource = System.Text.Json.JsonSerializer.Deserialize<Resource>(entry.Json!, json) });
            }

            return new FhirResponse { Resource = bundle };
        }
    }
}

/// <summary>A FHIR reply as the tests look at it.</summary>
public sealed record FhirReply(HttpStatusCode Status, JsonNode? Json, string Text, string WwwAuthenticate, IDictionary<string, string> Headers)
{
    /// <summary>The resource ids (Type/id) of a Bundle's entries.</summary>
    public IReadOnlyList<string> EntryKeys() =>
        Json?["entry"]?.AsArray().Select(e => e?["resource"] is { } r ? $"{r["resourceType"]}/{r["id"]}" : "").Where(k => k.Length > 0).ToList() ?? [];

    /// <summary>Every "Type/id" reference and key anywhere in the body, for leak checks.</summary>
    public override string ToString() => $"{(int)Status} {Text[..Math.Min(Text.Length, 600)]}";
}
