using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Igia.Fhir.Client;
using Igia.Smart.App;
using Igia.Smart.App.Internal;
using Igia.Smart.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Smart.Tests.Infrastructure;

/// <summary>How one app under test is registered with the SMART server.</summary>
public sealed record AppClient(
    string ClientId,
    SmartClientAuthentication Authentication,
    string? Secret = null,
    SmartSigningKey? Key = null,
    SmartAuthorizeMethod AuthorizeMethod = SmartAuthorizeMethod.Auto,
    bool DistributedStore = false,
    bool ManualClock = false,
    string Scopes = "openid fhirUser launch patient/*.rs offline_access",
    string? StandaloneScopes = "openid fhirUser launch/patient patient/*.rs offline_access");

/// <summary>
/// A SMART app under test: a real Kestrel app on 127.0.0.1 with <c>AddIgiaSmartApp</c>, one server ("ehr") and a few
/// endpoints that show the session and read FHIR data through the session's authorised client. Every log line is captured.
/// </summary>
public sealed class SmartAppHost : IAsyncDisposable
{
    private SmartAppHost(WebApplication app, Uri baseUrl, AppClient client, CapturingLoggerProvider logs, ManualTimeProvider? clock)
    {
        App = app;
        BaseUrl = baseUrl;
        Client = client;
        Logs = logs;
        Clock = clock;
    }

    public WebApplication App { get; }

    public Uri BaseUrl { get; }

    public AppClient Client { get; }

    public CapturingLoggerProvider Logs { get; }

    public ManualTimeProvider? Clock { get; }

    public Uri RedirectUri => new(BaseUrl, "/callback");

    public Uri Url(string relative) => new(BaseUrl, relative);

    internal SmartSessionManager SessionManager => App.Services.GetRequiredService<SmartSessionManager>();

    public static async Task<SmartAppHost> StartAsync(string fhirBase, AppClient client, Action<IgiaSmartAppBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var logs = new CapturingLoggerProvider();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddProvider(logs);
        ManualTimeProvider? clock = null;
        if (client.ManualClock)
        {
            clock = new ManualTimeProvider();
            builder.Services.AddSingleton<TimeProvider>(clock);
        }

        if (client.DistributedStore)
        {
            builder.Services.AddDistributedMemoryCache();
        }

        var smart = builder.Services.AddIgiaSmartApp()
            .AddServer("ehr", s =>
            {
                s.FhirBaseUrl = new Uri(fhirBase);
                s.ClientId = client.ClientId;
                s.ClientAuthentication = client.Authentication;
                s.ClientSecret = client.Secret;
                s.SigningKey = client.Key;
                s.Scopes = client.Scopes;
                s.StandaloneScopes = client.StandaloneScopes;
                s.AuthorizeMethod = client.AuthorizeMethod;
            }, c => c.Retry.Enabled = false);
        if (client.DistributedStore)
        {
            smart.UseDistributedCacheTokenStore();
        }

        configure?.Invoke(smart);
        var app = builder.Build();
        app.MapIgiaSmartApp();
        MapTestEndpoints(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SmartAppHost(app, new Uri(address.TrimEnd('/') + "/"), client, logs, clock);
    }

    private static void MapTestEndpoints(WebApplication app)
    {
        app.MapGet("/", () => Results.Text("home"));

        app.MapGet("/me", async (ISmartSessionAccessor sessions, CancellationToken ct) =>
        {
            var session = await sessions.GetCurrentAsync(ct);
            if (session is null)
            {
                return Results.Json(new { check = "no_session" }, statusCode: 401);
            }

            return Results.Json(new
            {
                id = session.Id,
                server = session.ServerName,
                fhirBase = session.FhirBaseUrl.OriginalString,
                kind = session.LaunchKind.ToString(),
                patient = session.Context.Patient,
                encounter = session.Context.Encounter,
                needPatientBanner = session.Context.NeedPatientBanner,
                smartStyleUrl = session.Context.SmartStyleUrl?.OriginalString,
                intent = session.Context.Intent,
                tenant = session.Context.Tenant,
                fhirContext = session.Context.FhirContext.Select(i => new { i.Reference, i.Canonical, identifier = i.Identifier?.Value, i.Type, i.Role }).ToArray(),
                fhirUser = session.FhirUser,
                subject = session.Subject,
                scopes = session.GrantedScopes.Select(s => s.Value).ToArray(),
                canRefresh = session.CanRefresh,
                expiresAt = session.AccessTokenExpiresAt,
            });
        });

        app.MapGet("/token", async (ISmartSessionAccessor sessions, CancellationToken ct) =>
        {
            try
            {
                return Results.Text(await sessions.GetAccessTokenAsync(ct));
            }
            catch (SmartException e)
            {
                return Results.Json(new { check = e.CheckName }, statusCode: 401);
            }
        });

        app.MapGet("/patient", async (ISmartSessionAccessor sessions, ISmartFhirClientFactory clients, CancellationToken ct) =>
        {
            try
            {
                var session = await sessions.GetCurrentAsync(ct) ?? throw new SmartException(SmartErrorCode.NoSession, "no session");
                var client = await clients.CreateClientAsync(ct);
                var patient = await client.ReadAsync<Patient>("Patient/" + session.Context.Patient, ct: ct);
                return Results.Json(new { id = patient!.Id, family = patient.Name.FirstOrDefault()?.Family });
            }
            catch (SmartException e)
            {
                return Results.Json(new { check = e.CheckName }, statusCode: 401);
            }
            catch (FhirClientException e)
            {
                return Results.Json(new { fhirStatus = (int?)e.StatusCode }, statusCode: 502);
            }
        });

        app.MapGet("/parallel", async (ISmartSessionAccessor sessions, ISmartFhirClientFactory clients, int n, CancellationToken ct) =>
        {
            var session = await sessions.GetCurrentAsync(ct);
            var client = await clients.CreateClientAsync(ct);
            var reads = Enumerable.Range(0, n).Select(_ => client.ReadAsync<Patient>("Patient/" + session!.Context.Patient, ct: ct));
            var patients = await System.Threading.Tasks.Task.WhenAll(reads);
            return Results.Json(new { ok = patients.Count(p => p is not null) });
        });

        app.MapGet("/end", async (ISmartSessionAccessor sessions, CancellationToken ct) =>
        {
            await sessions.EndAsync(ct);
            return Results.Text("ended");
        });
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
