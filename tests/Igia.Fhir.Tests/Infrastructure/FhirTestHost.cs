using System.Net.Http.Headers;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Fhir.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Fhir.Tests.Infrastructure;

/// <summary>A real Kestrel server on 127.0.0.1 (random port) running the Igia FHIR server on a fresh SQLite file.</summary>
public sealed class FhirTestHost : IAsyncDisposable
{
    private static readonly System.Text.Json.JsonSerializerOptions Json = new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    private readonly LogCollector _errors;

    private FhirTestHost(WebApplication app, string dataFolder, string baseUrl, LogCollector errors)
    {
        _errors = errors;
        App = app;
        DataFolder = dataFolder;
        BaseUrl = baseUrl;
        Client = new HttpClient { BaseAddress = new Uri(baseUrl + "/") };
    }

    /// <summary>The running app.</summary>
    public WebApplication App { get; }

    /// <summary>The folder holding this host's database.</summary>
    public string DataFolder { get; }

    /// <summary>The FHIR base, e.g. <c>http://127.0.0.1:5123/fhir</c>.</summary>
    public string BaseUrl { get; }

    /// <summary>A client whose BaseAddress is the FHIR base with a trailing slash (use relative URLs like <c>Patient/1</c>).</summary>
    public HttpClient Client { get; }

    /// <summary>Starts a host. <paramref name="configureServices"/> may add filters, operations, or change the store.</summary>
    public static async Task<FhirTestHost> StartAsync(Action<FhirServerOptions>? options = null, Action<IgiaFhirServerBuilder>? configureFhir = null, Action<IServiceCollection>? configureServices = null, string? dataFolder = null)
    {
        dataFolder ??= Path.Combine(Path.GetTempPath(), "igia-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataFolder);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter(l => l >= LogLevel.Warning);
        var errors = new LogCollector(LogLevel.Error);
        builder.Logging.AddProvider(errors);
        var fhir = builder.Services.AddIgiaFhirServer(options).UseSqlite(Path.Combine(dataFolder, "fhir.db"));
        configureFhir?.Invoke(fhir);
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapIgiaFhir("/fhir");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new FhirTestHost(app, dataFolder, address.TrimEnd('/') + "/fhir", errors);
    }

    /// <summary>What the server logged at Error level so far (empty when all went well), for failure messages.</summary>
    public string LoggedErrors => _errors.Messages.IsEmpty ? "" : "\nServer logged:\n" + string.Join("\n", _errors.Messages);

    /// <summary>Serialises a resource to FHIR JSON content.</summary>
    public static StringContent JsonContent(Resource resource) =>
        new(System.Text.Json.JsonSerializer.Serialize(resource, Json), Encoding.UTF8, "application/fhir+json");

    /// <summary>Raw FHIR JSON content.</summary>
    public static StringContent JsonContent(string json) => new(json, Encoding.UTF8, "application/fhir+json");

    /// <summary>Parses a FHIR JSON response body.</summary>
    public static async Task<T> ReadAsync<T>(HttpResponseMessage response)
        where T : Resource
    {
        var text = await response.Content.ReadAsStringAsync();
        return (T)System.Text.Json.JsonSerializer.Deserialize<Resource>(text, Json)!;
    }

    /// <summary>POSTs a resource and returns the created one.</summary>
    public async Task<T> CreateAsync<T>(T resource)
        where T : Resource
    {
        using var response = await Client.PostAsync(resource.TypeName, JsonContent(resource));
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Create failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}{LoggedErrors}");
        }

        return await ReadAsync<T>(response);
    }

    /// <summary>GETs a relative URL and parses the body.</summary>
    public async Task<T> GetAsync<T>(string relativeUrl)
        where T : Resource
    {
        using var response = await Client.GetAsync(relativeUrl);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET {relativeUrl} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}{LoggedErrors}");
        }

        return await ReadAsync<T>(response);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(DataFolder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
