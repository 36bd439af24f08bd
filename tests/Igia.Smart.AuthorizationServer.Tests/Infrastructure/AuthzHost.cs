using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Smart.AuthorizationServer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Smart.AuthorizationServer.Tests.Infrastructure;

/// <summary>
/// A real Kestrel host on 127.0.0.1 with the Igia FHIR server at <c>/fhir</c> (SQLite in a temp folder, three patients) and
/// the SMART authorization server with two users and one client of each kind. Every log line is captured.
/// </summary>
public sealed class AuthzHost : IAsyncDisposable
{
    public const string RedirectUri = "http://127.0.0.1:9/callback";
    public const string Secret = "s3cr3t-for-tests-only-0123456789";
    public const string AppScopes = "openid fhirUser profile launch launch/patient launch/encounter patient/*.rs user/*.rs offline_access online_access";

    private readonly string _folder;

    private AuthzHost(WebApplication app, Uri baseUrl, string folder, ConcurrentQueue<string> logs)
    {
        App = app;
        BaseUrl = baseUrl;
        _folder = folder;
        Logs = logs;
    }

    public WebApplication App { get; }

    public Uri BaseUrl { get; }

    public ConcurrentQueue<string> Logs { get; }

    /// <summary>The connection string of this host's authorization-server database (a second host may share it).</summary>
    public string AuthzConnectionString => "Data Source=" + Path.Combine(_folder, "authz.db");

    public string FhirBase => new Uri(BaseUrl, "fhir").ToString();

    public string TokenUrl => new Uri(BaseUrl, "connect/token").ToString();

    public Uri Url(string relative) => new(BaseUrl, relative);

    public static ClientKey JwtAppKey { get; } = ClientKey.Rsa("jwt-app-rs384");

    public static ClientKey BackendRsa { get; } = ClientKey.Rsa("backend-rs384");

    public static ClientKey BackendEc { get; } = ClientKey.Ec("backend-es384");

    public static ClientKey BackendByUrl { get; } = ClientKey.Ec("backend-url-es384");

    public static async Task<AuthzHost> StartAsync(Action<SmartAuthorizationServerOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), "igia-smartas-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var logs = new ConcurrentQueue<string>();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(new QueueLoggerProvider(logs));
        builder.Services.AddIgiaFhirServer(o => o.ServerName = "Authz test").UseSqlite(Path.Combine(folder, "fhir.db"));
        builder.Services.AddIgiaSmartAuthorizationServer(o =>
        {
            o.ConnectionString = "Data Source=" + Path.Combine(folder, "authz.db");
            o.SigningKeyFile = Path.Combine(folder, "signing.pem");
            o.AllowHttp = true;
            o.SmartStyleUrl = new Uri("http://127.0.0.1:9/smart-style.json");
            o.Users.Add(new SmartUser { Username = "dr", Password = "dr-password", DisplayName = "Dr Ada Quinn", FhirUser = "Practitioner/dr-1" });
            o.Users.Add(new SmartUser { Username = "pat", Password = "pat-password", DisplayName = "Pat Two", FhirUser = "Patient/p2" });
            o.Clients.Add(new SmartClientRegistration { ClientId = "public-app", RedirectUris = { RedirectUri }, Scopes = { AppScopes } });
            o.Clients.Add(new SmartClientRegistration { ClientId = "secret-app", Type = SmartClientType.ConfidentialSymmetric, ClientSecret = Secret, RedirectUris = { RedirectUri }, Scopes = { AppScopes } });
            o.Clients.Add(new SmartClientRegistration { ClientId = "jwt-app", Type = SmartClientType.ConfidentialAsymmetric, Jwks = ClientKey.Jwks(JwtAppKey), RedirectUris = { RedirectUri }, Scopes = { AppScopes } });
            o.Clients.Add(new SmartClientRegistration { ClientId = "backend", Type = SmartClientType.BackendService, Jwks = ClientKey.Jwks(BackendRsa, BackendEc), Scopes = { "system/*.rs" } });
            o.Clients.Add(new SmartClientRegistration { ClientId = "backend-url", Type = SmartClientType.BackendService, JwksUrl = new Uri("http://127.0.0.1:9/placeholder"), Scopes = { "system/Patient.rs" } });
            o.Clients.Add(new SmartClientRegistration { ClientId = "resource-server", Type = SmartClientType.ConfidentialSymmetric, ClientSecret = Secret, RedirectUris = { RedirectUri }, CanIntrospectAnyToken = true });
            configure?.Invoke(o);
        });
        services?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapIgiaSmartAuthorizationServer();
        app.MapIgiaSmartAuthorizationServerDiscovery();
        app.MapIgiaFhir("/fhir");
        app.MapGet("/test/jwks", () => Results.Content(ClientKey.Jwks(BackendByUrl), "application/json"));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var baseUrl = new Uri(address.TrimEnd('/') + "/");
        // The port is only known now: point the JWKS-URL client at this host's /test/jwks.
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SmartAuthorizationServerOptions>>().Value;
        foreach (var c in options.Clients.Where(c => c.ClientId == "backend-url"))
        {
            c.JwksUrl = new Uri(baseUrl, "test/jwks");
        }

        var executor = app.Services.GetRequiredService<IFhirInteractionExecutor>();
        foreach (var (id, family, given) in new[] { ("p1", "Abbott", "Ann"), ("p2", "Two", "Pat"), ("p3", "Chen", "Carl") })
        {
            var patient = new Patient { Id = id, BirthDate = "1980-01-0" + id[1], Name = [new HumanName { Family = family, Given = [given] }] };
            var response = await executor.ExecuteAsync(new FhirInteraction { Kind = FhirInteractionKind.Update, ResourceType = "Patient", Id = id, Method = "PUT", RelativeUrl = "Patient/" + id, Resource = patient, User = SystemUser });
            Assert.True(response.IsSuccess, $"Seeding {id}: {response.StatusCode}\n{string.Join("\n", logs)}");
        }

        var obs = new Observation { Id = "o1", Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4", "Heart rate"), Subject = new ResourceReference("Patient/p1"), Value = new Quantity(72, "/min") };
        await executor.ExecuteAsync(new FhirInteraction { Kind = FhirInteractionKind.Update, ResourceType = "Observation", Id = "o1", Method = "PUT", RelativeUrl = "Observation/o1", Resource = obs, User = SystemUser });
        return new AuthzHost(app, baseUrl, folder, logs);
    }

    internal static System.Security.Claims.ClaimsPrincipal SystemUser { get; } = new(new System.Security.Claims.ClaimsIdentity(
        [new System.Security.Claims.Claim("sub", "test-seed"), new System.Security.Claims.Claim("scope", "system/*.cruds")], "Test"));

    public string AllLogs => string.Join("\n", Logs);

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class QueueLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(lines, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> lines, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : " | " + exception)}");
        }
    }
}

/// <summary>JSON helpers.</summary>
public static class Json
{
    public static async Task<JsonObject> ReadObjectAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
}
