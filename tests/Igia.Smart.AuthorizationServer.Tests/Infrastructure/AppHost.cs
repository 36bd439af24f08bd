using Hl7.Fhir.Model;
using Igia.Smart.App;
using Igia.Smart.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Smart.AuthorizationServer.Tests.Infrastructure;

/// <summary>A SMART app built on Igia.Smart's app side, on 127.0.0.1: /launch, /callback, and /me (session + patient read over FHIR).</summary>
public sealed class AppHost : IAsyncDisposable
{
    private AppHost(WebApplication app, Uri baseUrl)
    {
        App = app;
        BaseUrl = baseUrl;
    }

    public WebApplication App { get; }

    public Uri BaseUrl { get; }

    public Uri RedirectUri => new(BaseUrl, "callback");

    /// <summary>A free loopback port, so that the app's redirect URI is known before the authorization server starts.</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts the app on <paramref name="port"/>.</summary>
    public static async Task<AppHost> StartAsync(int port, Uri fhirBase, string clientId, SmartClientAuthentication authentication, string? secret = null, SmartSigningKey? key = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        var self = new Uri($"http://127.0.0.1:{port}/");
        builder.WebHost.UseUrls(self.ToString().TrimEnd('/'));
        builder.Logging.ClearProviders();
        builder.Services.AddIgiaSmartApp().AddServer("ehr", s =>
        {
            s.FhirBaseUrl = fhirBase;
            s.ClientId = clientId;
            s.ClientAuthentication = authentication;
            s.ClientSecret = authentication == SmartClientAuthentication.ClientSecretBasic ? secret : null;
            s.SigningKey = key;
            s.Scopes = "openid fhirUser launch patient/*.rs offline_access";
            s.StandaloneScopes = "openid fhirUser launch/patient patient/*.rs offline_access";
            s.RedirectUri = new Uri(self, "callback");
        }, c => c.Retry.Enabled = false);
        var app = builder.Build();
        app.MapIgiaSmartApp();
        app.MapGet("/me", async (ISmartSessionAccessor sessions, ISmartFhirClientFactory clients, CancellationToken ct) =>
        {
            var session = await sessions.GetCurrentAsync(ct);
            if (session is null)
            {
                return Results.Json(new { check = "no_session" }, statusCode: 401);
            }

            var fhir = await clients.CreateClientAsync(ct);
            var patient = session.Context.Patient is { } id ? await fhir.ReadAsync<Patient>("Patient/" + id) : null;
            return Results.Json(new
            {
                kind = session.LaunchKind.ToString(),
                patient = session.Context.Patient,
                encounter = session.Context.Encounter,
                banner = session.Context.NeedPatientBanner,
                fhirUser = session.FhirUser,
                scopes = session.GrantedScopes.Select(s => s.Value).ToArray(),
                canRefresh = session.CanRefresh,
                family = patient?.Name.FirstOrDefault()?.Family,
            });
        });
        await app.StartAsync();
        return new AppHost(app, self);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
