using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Smart.Tests.Infrastructure;

/// <summary>A tiny Kestrel server on 127.0.0.1 that answers from a table of paths and records every request it gets (a rogue or minimal server).</summary>
public sealed class RecordingHost : IAsyncDisposable
{
    private RecordingHost(WebApplication app, Uri baseUrl)
    {
        App = app;
        BaseUrl = baseUrl;
    }

    public WebApplication App { get; }

    public Uri BaseUrl { get; }

    public ConcurrentQueue<string> Requests { get; } = new();

    public static async Task<RecordingHost> StartAsync(IReadOnlyDictionary<string, (string ContentType, string Body)>? responses = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        RecordingHost? host = null;
        app.Run(async context =>
        {
            host?.Requests.Enqueue(context.Request.Method + " " + context.Request.Path + context.Request.QueryString);
            if (responses is not null && responses.TryGetValue(context.Request.Path.Value ?? "", out var response))
            {
                context.Response.ContentType = response.ContentType;
                await context.Response.WriteAsync(response.Body);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status404NotFound;
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        host = new RecordingHost(app, new Uri(address.TrimEnd('/') + "/"));
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
