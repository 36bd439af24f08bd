using System.Net.Http.Headers;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Workflow;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Workflow.Tests.Infrastructure;

/// <summary>A real Kestrel server on 127.0.0.1 running the Igia FHIR server with Igia.Workflow on fresh SQLite files.</summary>
public sealed class WorkflowTestHost : IAsyncDisposable
{
    private static readonly System.Text.Json.JsonSerializerOptions Json = new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);
    private readonly bool _keepData;

    private WorkflowTestHost(WebApplication app, string dataFolder, string baseUrl, bool keepData)
    {
        App = app;
        DataFolder = dataFolder;
        BaseUrl = baseUrl;
        _keepData = keepData;
        Client = new HttpClient { BaseAddress = new Uri(baseUrl + "/") };
    }

    public WebApplication App { get; }

    public string DataFolder { get; }

    public string BaseUrl { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>
    /// Starts a host; <paramref name="dataFolder"/> reuses a folder (restart tests), which is then not deleted on dispose.
    /// <paramref name="fhirDatabase"/> puts the FHIR store in another file than the data folder's (nodes sharing one store).
    /// </summary>
    public static async Task<WorkflowTestHost> StartAsync(
        Action<WorkflowOptions>? workflow = null,
        Action<IgiaWorkflowBuilder>? configureWorkflow = null,
        Action<IServiceCollection>? configureServices = null,
        string? dataFolder = null,
        bool keepData = false,
        string? fhirDatabase = null)
    {
        keepData |= dataFolder is not null;
        dataFolder ??= Path.Combine(Path.GetTempPath(), "igia-wf-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataFolder);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter(l => l >= LogLevel.Warning);
        if (Environment.GetEnvironmentVariable("IGIA_TEST_LOG") is { Length: > 0 } level)
        {
            builder.Logging.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ").AddFilter(l => l >= Enum.Parse<LogLevel>(level));
        }
        builder.Services.AddIgiaFhirServer().UseSqlite(fhirDatabase ?? Path.Combine(dataFolder, "fhir.db"));
        var wf = builder.Services.AddIgiaWorkflow(o =>
        {
            o.DatabasePath = Path.Combine(dataFolder, "workflow.db");
            o.PollInterval = TimeSpan.FromMilliseconds(100);
            o.RetryDelay = TimeSpan.FromMilliseconds(100);
            o.MaxRetryDelay = TimeSpan.FromMilliseconds(500);
            // A POST the receiver took but answered after the timeout is sent again (at-least-once): on a loaded machine
            // 10 s can pass, and the tests count every delivery, so the in-process receivers get a generous timeout.
            o.NotificationTimeout = TimeSpan.FromSeconds(90);
            // The receivers run on 127.0.0.1 over http: an explicit opt-in (deny by default). Tests of the allow-list clear it.
            o.Subscriptions.Allow("http://127.0.0.1:*", allowPrivateAddresses: true);
            workflow?.Invoke(o);
        });
        configureWorkflow?.Invoke(wf);
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapIgiaFhir("/fhir");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new WorkflowTestHost(app, dataFolder, address.TrimEnd('/') + "/fhir", keepData);
    }

    public static StringContent JsonContent(Resource resource) =>
        new(System.Text.Json.JsonSerializer.Serialize(resource, Json), Encoding.UTF8, "application/fhir+json");

    public static StringContent JsonContent(string json, string mediaType = "application/fhir+json") => new(json, Encoding.UTF8, mediaType);

    public static T Parse<T>(string json)
        where T : Resource => (T)System.Text.Json.JsonSerializer.Deserialize<Resource>(json, Json)!;

    public static string Serialize(Resource resource) => System.Text.Json.JsonSerializer.Serialize(resource, Json);

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response)
        where T : Resource => Parse<T>(await response.Content.ReadAsStringAsync());

    public async Task<T> CreateAsync<T>(T resource)
        where T : Resource
    {
        using var response = await Client.PostAsync(resource.TypeName, JsonContent(resource));
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Create failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        return await ReadAsync<T>(response);
    }

    public async Task<T> PutAsync<T>(T resource)
        where T : Resource
    {
        using var response = await Client.PutAsync($"{resource.TypeName}/{resource.Id}", JsonContent(resource));
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        return await ReadAsync<T>(response);
    }

    public async Task<T> GetAsync<T>(string relativeUrl)
        where T : Resource
    {
        using var response = await Client.GetAsync(relativeUrl);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET {relativeUrl} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        return await ReadAsync<T>(response);
    }

    /// <summary>
    /// Runs a scalar query (a count) on the engine's <c>workflow.db</c> in <paramref name="dataFolder"/>, on a connection of
    /// its own outside the pool; <paramref name="id"/>, when given, is the query's <c>@id</c>.
    /// </summary>
    public static async Task<long> WorkflowScalarAsync(string dataFolder, string sql, string? id = null)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dataFolder, "workflow.db")};Pooling=False");
        await connection.OpenAsync();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        if (id is not null)
        {
            cmd.Parameters.AddWithValue("@id", id);
        }

        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>Polls <paramref name="condition"/> until true or the (generous) deadline passes; never asserts on timings.</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, string what, int seconds = 120)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Gave up waiting for: " + what);
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Igia.Workflow.Engine.SerializedSqliteConnection.ClearAllPoolsSerialized();
        if (!_keepData)
        {
            try
            {
                Directory.Delete(DataFolder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
