using System.Collections.Concurrent;
using System.Text;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Fhir.Tests.Client;

/// <summary>One request as the fault server saw it.</summary>
public sealed record RecordedRequest(int Number, string Method, string PathAndQuery, string? Authorization, string? IfMatch, string? IfNoneExist, string? Accept, string? Prefer, string? UserAgent);

/// <summary>
/// A real, deliberately misbehaving HTTP server on 127.0.0.1 (Kestrel): each request is counted and recorded server-side,
/// then handed to a test-supplied delegate that may answer 503 with Retry-After, 429, drop the connection, stall, or send a
/// body that is not FHIR.
/// </summary>
public sealed class FaultServer : IAsyncDisposable
{
    private static readonly System.Text.Json.JsonSerializerOptions Json = new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);
    private readonly WebApplication _app;
    private int _count;

    private FaultServer(WebApplication app) => _app = app;

    /// <summary>The FHIR base, e.g. <c>http://127.0.0.1:5123/fhir</c>.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Requests received so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Every request received, in arrival order.</summary>
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Starts a server; <paramref name="handler"/> gets the context and the 1-based number of the request.</summary>
    public static async Task<FaultServer> StartAsync(Func<HttpContext, int, Task> handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FaultServer(app);
        app.Run(async context =>
        {
            var n = Interlocked.Increment(ref server._count);
            var r = context.Request;
            server.Requests.Enqueue(new RecordedRequest(n, r.Method, r.Path + r.QueryString, r.Headers.Authorization.FirstOrDefault(), r.Headers.IfMatch.FirstOrDefault(), r.Headers["If-None-Exist"].FirstOrDefault(), r.Headers.Accept.ToString(), r.Headers["Prefer"].FirstOrDefault(), r.Headers.UserAgent.ToString()));
            await handler(context, n);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = address.TrimEnd('/') + "/fhir";
        return server;
    }

    /// <summary>Writes <paramref name="resource"/> as FHIR JSON.</summary>
    public static async Task WriteAsync(HttpContext context, Resource resource, int status = 200)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/fhir+json; charset=utf-8";
        if (resource.Meta?.VersionId is { } v)
        {
            context.Response.Headers.ETag = $"W/\"{v}\"";
        }

        await context.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(resource, Json), Encoding.UTF8);
    }

    /// <summary>Writes an OperationOutcome error.</summary>
    public static Task WriteOutcomeAsync(HttpContext context, int status, string message) =>
        WriteAsync(context, new OperationOutcome
        {
            Issue = [new OperationOutcome.IssueComponent { Severity = OperationOutcome.IssueSeverity.Error, Code = OperationOutcome.IssueType.Transient, Diagnostics = message }],
        }, status);

    /// <summary>Reads the request body as a resource.</summary>
    public static async Task<T> ReadAsync<T>(HttpContext context)
        where T : Resource
    {
        using var reader = new StreamReader(context.Request.Body);
        var text = await reader.ReadToEndAsync();
        return (T)System.Text.Json.JsonSerializer.Deserialize<Resource>(text, Json)!;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
