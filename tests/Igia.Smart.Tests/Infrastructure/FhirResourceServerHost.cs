using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Smart.Tests.Infrastructure;

/// <summary>
/// The resource server of the tests: the Igia FHIR server on a fresh SQLite file on 127.0.0.1, serving
/// <c>.well-known/smart-configuration</c> (relayed from the OpenID provider) and requiring a bearer token that the provider's
/// introspection endpoint says is active (401 otherwise). Every token it accepted or refused is recorded.
/// </summary>
public sealed class FhirResourceServerHost : IAsyncDisposable
{
    public const string SeedToken = "seed-token-for-test-data";
    public const string IntrospectionClientId = "fhir-resource-server";
    public const string IntrospectionSecret = "resource-server-secret-0123456789";

    private static readonly JsonSerializerOptions Json = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);
    private readonly HttpClient _introspection;

    private FhirResourceServerHost(WebApplication app, string dataFolder, string baseUrl, HttpClient introspection)
    {
        App = app;
        DataFolder = dataFolder;
        BaseUrl = baseUrl;
        _introspection = introspection;
    }

    public WebApplication App { get; }

    public string DataFolder { get; }

    /// <summary>The FHIR base, e.g. http://127.0.0.1:5123/fhir.</summary>
    public string BaseUrl { get; }

    /// <summary>Where to introspect tokens (set once the OpenID providers are running).</summary>
    public List<Uri> IntrospectionEndpoints { get; } = [];

    /// <summary>The SMART configuration document to serve (set once the provider is running); null answers 404.</summary>
    public string? SmartConfigurationJson { get; set; }

    /// <summary>Bearer tokens received on FHIR requests, with whether introspection found them active.</summary>
    public ConcurrentQueue<(string Token, bool Active, string Path)> Tokens { get; } = new();

    public static async Task<FhirResourceServerHost> StartAsync(Func<HttpMessageHandler>? introspectionHandler = null)
    {
        var dataFolder = Path.Combine(Path.GetTempPath(), "igia-smart-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataFolder);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddIgiaFhirServer().UseSqlite(Path.Combine(dataFolder, "fhir.db"));
        var app = builder.Build();
        var introspection = new HttpClient(introspectionHandler?.Invoke() ?? new HttpClientHandler()) { Timeout = TimeSpan.FromSeconds(30) };
        FhirResourceServerHost? host = null;
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? "";
            if (host is null || !path.StartsWith("/fhir", StringComparison.Ordinal) || path.StartsWith("/fhir/.well-known/", StringComparison.Ordinal) || path == "/fhir/metadata")
            {
                await next(context);
                return;
            }

            var header = context.Request.Headers.Authorization.ToString();
            var token = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..] : null;
            var active = token == SeedToken || (token is not null && await host.IsActiveAsync(token, context.RequestAborted));
            if (token is not null && token != SeedToken)
            {
                host.Tokens.Enqueue((token, active, path));
            }

            if (!active)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
                return;
            }

            await next(context);
        });
        app.MapGet("/fhir/.well-known/smart-configuration", () =>
            host?.SmartConfigurationJson is { } json ? Results.Text(json, "application/json") : Results.NotFound());
        app.MapIgiaFhir("/fhir");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        host = new FhirResourceServerHost(app, dataFolder, address.TrimEnd('/') + "/fhir", introspection);
        return host;
    }

    /// <summary>Creates (PUTs) a resource with the seed token.</summary>
    public async System.Threading.Tasks.Task PutAsync(Resource resource)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Put, $"{BaseUrl}/{resource.TypeName}/{resource.Id}")
        {
            Content = new StringContent(JsonSerializer.Serialize(resource, Json), Encoding.UTF8, "application/fhir+json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SeedToken);
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Seeding {resource.TypeName}/{resource.Id} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private async Task<bool> IsActiveAsync(string token, CancellationToken cancellationToken)
    {
        foreach (var endpoint in IntrospectionEndpoints)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
            {
                Content = new FormUrlEncodedContent([new("token", token)]),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes($"{IntrospectionClientId}:{IntrospectionSecret}")));
            using var response = await _introspection.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode && JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))?["active"]?.GetValue<bool>() == true)
            {
                return true;
            }
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        _introspection.Dispose();
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
