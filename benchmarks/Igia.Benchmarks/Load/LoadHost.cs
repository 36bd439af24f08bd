using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Benchmarks.Load;

/// <summary>A response captured from the Igia server, replayed byte for byte by the bare endpoint.</summary>
internal sealed record CapturedResponse(int Status, KeyValuePair<string, string>[] Headers, byte[] Body);

/// <summary>
/// One Kestrel app on 127.0.0.1 hosting, side by side, the Igia FHIR server (<c>/fhir</c>, on a fresh SQLite file)
/// and the bare baseline (<c>/bare</c>): endpoints that do no FHIR work and write pre-captured bytes — the same
/// status, FHIR headers and body Igia gave for that URL. Bare POST reads the whole body, then answers 201 with a
/// captured create response. Same process, same Kestrel, same routing, same GC: only the FHIR work differs.
/// </summary>
internal sealed class LoadHost : IAsyncDisposable
{
    /// <summary>Bare GET responses by URL relative to the base (e.g. <c>Patient/p7</c>, <c>Observation?patient=…</c>).</summary>
    public ConcurrentDictionary<string, CapturedResponse> BareGets { get; } = new(StringComparer.Ordinal);

    /// <summary>The bare answer to every POST.</summary>
    public CapturedResponse? BareCreate { get; set; }

    public required WebApplication App { get; init; }

    public required Uri Address { get; init; }

    public static async Task<LoadHost> StartAsync(string databasePath)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = Path.GetDirectoryName(databasePath) });
        // As an app's appsettings.json would have it: no per-request Information logs.
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddIgiaFhirServer().UseSqlite(databasePath);

        var app = builder.Build();
        LoadHost? host = null;
        app.MapIgiaFhir("/fhir");
        app.MapGet("/bare/{**path}", context => host!.ServeBareGetAsync(context));
        app.MapPost("/bare/{**path}", context => host!.ServeBareCreateAsync(context));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        host = new LoadHost { App = app, Address = new Uri(address) };
        return host;
    }

    private Task ServeBareGetAsync(HttpContext context)
    {
        var key = context.Request.Path.Value!["/bare/".Length..] + context.Request.QueryString.Value;
        if (!BareGets.TryGetValue(key, out var captured))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        return WriteAsync(context, captured);
    }

    private async Task ServeBareCreateAsync(HttpContext context)
    {
        // Take the body off the wire as Igia must, but do nothing with it.
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (await context.Request.Body.ReadAsync(buffer, context.RequestAborted) > 0)
            {
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        await WriteAsync(context, BareCreate!);
    }

    private static Task WriteAsync(HttpContext context, CapturedResponse captured)
    {
        var response = context.Response;
        response.StatusCode = captured.Status;
        foreach (var (name, value) in captured.Headers)
        {
            response.Headers[name] = value;
        }

        response.ContentLength = captured.Body.Length;
        return response.Body.WriteAsync(captured.Body, context.RequestAborted).AsTask();
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
