using System.Collections.Concurrent;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Workflow.Tests.Infrastructure;

/// <summary>A real Kestrel rest-hook receiver on 127.0.0.1 that records every notification; it can be stopped and started again on the same port.</summary>
public sealed class NotificationReceiver : IAsyncDisposable
{
    private WebApplication? _app;

    public int Port { get; private set; }

    public ConcurrentQueue<Received> Notifications { get; } = new();

    /// <summary>
    /// When set and true for a notification, the receiver records it in <see cref="Held"/> and never answers (until the
    /// sender goes away or the receiver stops): a delivery in flight for the hard-kill tests.
    /// </summary>
    public Func<Received, bool>? Hold { get; set; }

    /// <summary>Notifications taken but never answered (see <see cref="Hold"/>); not in <see cref="Notifications"/>.</summary>
    public ConcurrentQueue<Received> Held { get; } = new();

    private CancellationTokenSource _stopping = new();

    /// <summary>When set, answers this status instead of 200 (to simulate a failing receiver that is up).</summary>
    public int? FailWith { get; set; }

    public string Url(string path = "hook") => $"http://127.0.0.1:{Port}/{path}";

    public sealed record Received(string Path, string ContentType, IReadOnlyDictionary<string, string> Headers, Bundle Bundle, DateTimeOffset ReceivedAt)
    {
        public Parameters Status => (Parameters)Bundle.Entry[0].Resource;

        public string Type => ((Code)Status.GetSingle("type").Value).Value;

        public long EventsSinceStart => long.Parse(((FhirString)Status.GetSingle("events-since-subscription-start").Value).Value);

        public string SubscriptionReference => ((ResourceReference)Status.GetSingle("subscription").Value).Reference;

        public long? EventNumber => Status.Parameter.FirstOrDefault(p => p.Name == "notification-event")?.Part.Where(p => p.Name == "event-number").Select(p => long.Parse(((FhirString)p.Value).Value)).FirstOrDefault();
    }

    public static async Task<NotificationReceiver> StartAsync()
    {
        var receiver = new NotificationReceiver();
        await receiver.StartAsync(0);
        return receiver;
    }

    public async Task StartAsync(int port)
    {
        _stopping = new CancellationTokenSource();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/{**path}", async (HttpContext context, string? path) =>
        {
            if (FailWith is { } status)
            {
                return Results.StatusCode(status);
            }

            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var bundle = WorkflowTestHost.Parse<Bundle>(body);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var received = new Received(path ?? "", context.Request.ContentType ?? "", headers, bundle, DateTimeOffset.UtcNow);
            if (Hold?.Invoke(received) == true)
            {
                Held.Enqueue(received);
                using var held = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
                await Task.Delay(Timeout.Infinite, held.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                return Results.StatusCode(503);
            }

            Notifications.Enqueue(received);
            return Results.Ok();
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(address).Port;
        _app = app;
    }

    public async Task StopAsync()
    {
        await _stopping.CancelAsync();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public Task RestartAsync() => StartAsync(Port);

    public IReadOnlyList<Received> For(string subscriptionId, string? type = null) =>
        Notifications.Where(n => n.SubscriptionReference.EndsWith("/Subscription/" + subscriptionId, StringComparison.Ordinal) && (type is null || n.Type == type)).ToList();

    public async ValueTask DisposeAsync() => await StopAsync();
}
