using System.Net.Http.Headers;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Fhir.Server;
using Igia.Terminology;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Terminology.Tests.Infrastructure;

/// <summary>
/// A real Kestrel server on 127.0.0.1 (random port) running the Igia FHIR server on a fresh SQLite file, with the terminology
/// service and its operations. Adapted from tests/Igia.Fhir.Tests/Infrastructure/FhirTestHost.cs.
/// </summary>
public sealed class TerminologyTestHost : IAsyncDisposable
{
    private static readonly System.Text.Json.JsonSerializerOptions Json = new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    private TerminologyTestHost(WebApplication app, string dataFolder, string baseUrl)
    {
        App = app;
        DataFolder = dataFolder;
        BaseUrl = baseUrl;
        Client = new HttpClient { BaseAddress = new Uri(baseUrl + "/") };
        Client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
    }

    /// <summary>The running app.</summary>
    public WebApplication App { get; }

    /// <summary>The folder holding this host's database.</summary>
    public string DataFolder { get; }

    /// <summary>The FHIR base, e.g. <c>http://127.0.0.1:5123/fhir</c>.</summary>
    public string BaseUrl { get; }

    /// <summary>A client whose BaseAddress is the FHIR base with a trailing slash.</summary>
    public HttpClient Client { get; }

    /// <summary>The terminology service of the app.</summary>
    public IgiaTerminologyService Terminology => App.Services.GetRequiredService<IgiaTerminologyService>();

    /// <summary>Starts a host; <paramref name="content"/> adds terminology content (none by default).</summary>
    public static async Task<TerminologyTestHost> StartAsync(
        Action<IgiaTerminologyBuilder>? content = null,
        Action<TerminologyOptions>? options = null,
        Action<IgiaFhirServerBuilder>? configureFhir = null,
        Action<IServiceCollection>? configureServices = null,
        bool waitForContent = true)
    {
        var dataFolder = Path.Combine(Path.GetTempPath(), "igia-tx-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataFolder);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter(l => l >= LogLevel.Warning);
        var fhir = builder.Services.AddIgiaFhirServer(o => o.MaxBodyBytes = 64 * 1024 * 1024).UseSqlite(Path.Combine(dataFolder, "fhir.db")).AddTerminologyOperations();
        configureFhir?.Invoke(fhir);
        var terminology = builder.Services.AddIgiaTerminology(options);
        content?.Invoke(terminology);
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapIgiaFhir("/fhir");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var host = new TerminologyTestHost(app, dataFolder, address.TrimEnd('/') + "/fhir");
        if (waitForContent)
        {
            await host.App.Services.GetRequiredService<ITerminologyContent>().WhenLoadedAsync().WaitAsync(TimeSpan.FromMinutes(5));
        }

        return host;
    }

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

    /// <summary>POSTs a resource to a relative URL.</summary>
    public Task<HttpResponseMessage> PostAsync(string relativeUrl, Resource resource) => Client.PostAsync(relativeUrl, JsonContent(resource));

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
