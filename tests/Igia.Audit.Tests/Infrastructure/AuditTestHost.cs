using System.Net.Http.Headers;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Audit.FileLog;
using Igia.Fhir.Server;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Audit.Tests.Infrastructure;

/// <summary>
/// A real Kestrel server on 127.0.0.1 (random port) running the Igia FHIR server on a fresh SQLite file with the audit
/// trail writing to a fresh folder, behind a test authentication scheme (<see cref="TestAuthenticationHandler"/>).
/// </summary>
public sealed class AuditTestHost : IAsyncDisposable
{
    public static readonly System.Text.Json.JsonSerializerOptions Json = new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    /// <summary>The HMAC key the test hosts sign checkpoints with.</summary>
    public static readonly AuditSigningKey SigningKey = AuditSigningKey.Hmac("test-key", Encoding.UTF8.GetBytes("an HMAC key for the audit tests, 32+ bytes long"));

    private readonly bool _ownsFolder;

    private AuditTestHost(WebApplication app, string dataFolder, string baseUrl, bool ownsFolder)
    {
        App = app;
        DataFolder = dataFolder;
        BaseUrl = baseUrl;
        _ownsFolder = ownsFolder;
        Client = new HttpClient { BaseAddress = new Uri(baseUrl + "/") };
    }

    public WebApplication App { get; }

    public string DataFolder { get; }

    public string AuditFolder => Path.Combine(DataFolder, "audit");

    /// <summary>The FHIR base, e.g. <c>http://127.0.0.1:5123/fhir</c>.</summary>
    public string BaseUrl { get; }

    /// <summary>The server root, e.g. <c>http://127.0.0.1:5123</c>.</summary>
    public string RootUrl => BaseUrl[..^"/fhir".Length];

    public HttpClient Client { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>Starts a host.</summary>
    public static async Task<AuditTestHost> StartAsync(
        Action<AuditOptions>? audit = null,
        Action<IgiaAuditBuilder>? configureAudit = null,
        Action<FileAuditLogOptions>? file = null,
        bool requireAuthorization = false,
        Action<WebApplication>? configureApp = null,
        Action<IServiceCollection>? configureServices = null,
        Action<FhirServerOptions>? fhir = null,
        string? dataFolder = null)
    {
        var ownsFolder = dataFolder is null;
        dataFolder ??= TestPaths.NewTempFolder("host");
        Directory.CreateDirectory(dataFolder);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter(l => l >= LogLevel.Critical);
        builder.Services.AddAuthentication(TestAuthenticationHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, TestAuthenticationHandler>(TestAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.AddIgiaFhirServer(fhir).UseSqlite(Path.Combine(dataFolder, "fhir.db")).AddFilter<DenyFilter>();
        var auditBuilder = builder.Services
            .AddIgiaAudit(o =>
            {
                o.SourceId = "igia-audit-test";
                o.Site = "test-site";
                o.SinkRetryMaxDelay = TimeSpan.FromMilliseconds(500);
                audit?.Invoke(o);
            })
            .WriteToFile(Path.Combine(dataFolder, "audit"), f =>
            {
                f.SigningKey = SigningKey;
                file?.Invoke(f);
            });
        configureAudit?.Invoke(auditBuilder);
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        var endpoints = app.MapIgiaFhir("/fhir");
        if (requireAuthorization)
        {
            endpoints.RequireAuthorization();
        }

        configureApp?.Invoke(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new AuditTestHost(app, dataFolder, address.TrimEnd('/') + "/fhir", ownsFolder);
    }

    /// <summary>Sends a request as <paramref name="principal"/> (a <see cref="TestAuthenticationHandler.Principal"/> value) with an X-Request-Id.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string relativeUrl, HttpContent? content = null, string? principal = null, string? requestId = null)
    {
        var request = new HttpRequestMessage(method, relativeUrl) { Content = content };
        if (principal is not null)
        {
            request.Headers.Add(TestAuthenticationHandler.Header, principal);
        }

        if (requestId is not null)
        {
            request.Headers.Add("X-Request-Id", requestId);
        }

        return await Client.SendAsync(request);
    }

    /// <summary>PUTs a resource (update-as-create) and fails the test if the server refuses.</summary>
    public async Task PutAsync(Resource resource)
    {
        using var response = await Client.PutAsync($"{resource.TypeName}/{resource.Id}", JsonContent(resource));
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT {resource.TypeName}/{resource.Id} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    public static StringContent JsonContent(Resource resource) =>
        new(System.Text.Json.JsonSerializer.Serialize(resource, Json), Encoding.UTF8, "application/fhir+json");

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response)
        where T : Resource =>
        (T)System.Text.Json.JsonSerializer.Deserialize<Resource>(await response.Content.ReadAsStringAsync(), Json)!;

    /// <summary>The records of the local audit log, in order.</summary>
    public IReadOnlyList<LoggedEvent> ReadAuditLog() => AuditLogContent.Read(AuditFolder);

    /// <summary>The events recorded for the request with <paramref name="requestId"/>.</summary>
    public IReadOnlyList<AuditEvent> EventsFor(string requestId) =>
        ReadAuditLog().Where(e => e.RequestId == requestId).Select(e => e.Event).ToList();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        try
        {
            await App.StopAsync();
        }
        finally
        {
            await App.DisposeAsync();
            if (_ownsFolder)
            {
                TestPaths.TryDelete(DataFolder);
            }
        }
    }
}

/// <summary>A record read back from a log folder.</summary>
public sealed record LoggedEvent(long Sequence, string File, AuditEvent Event)
{
    /// <summary>The X-Request-Id the event names (its BALP transaction entity).</summary>
    public string? RequestId => Event.Entity.FirstOrDefault(e => e.Type?.Code == "XrequestId")?.What?.Identifier?.Value;
}

/// <summary>Reads a log folder's records.</summary>
public static class AuditLogContent
{
    public static IReadOnlyList<LoggedEvent> Read(string folder)
    {
        var result = new List<LoggedEvent>();
        foreach (var file in LogFormat.ListFiles(folder))
        {
            using var reader = new LineReader(file);
            while (reader.ReadLine() is { } line)
            {
                if (LogFormat.TryParseRecord(line.Span, out var record))
                {
                    var ev = (AuditEvent)System.Text.Json.JsonSerializer.Deserialize<Resource>(record.EventJson, AuditTestHost.Json)!;
                    result.Add(new LoggedEvent(record.Seq, Path.GetFileName(file), ev));
                }
            }
        }

        return result;
    }

    /// <summary>Waits (polling) until <paramref name="condition"/> holds, or fails after <paramref name="timeout"/>.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitUntilAsync(() => Task.FromResult(condition()), timeout, what);

    /// <summary>Waits (polling) until <paramref name="condition"/> holds, or fails after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting until " + what);
            }

            await Task.Delay(50);
        }
    }
}
