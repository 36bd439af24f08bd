// The whole Igia platform in one process on embedded defaults, seeded with sample data on first start.
//   dotnet run --project samples/Igia.Sandbox [-- [--urls http://127.0.0.1:8080] [--data ./data] [--no-auth]]
// --data (configuration key "data") is the folder its files live in; default: ./data under the current folder
// (samples/Igia.Sandbox under `dotnet run`).
// By default the FHIR API at /fhir is protected by SMART on FHIR: a SMART authorization server runs in the same process
// (login page with demo users "practitioner"/"practitioner" and "patient"/"patient", patient picker, EHR launch), and the
// launcher page at / starts a sample SMART app (/app). --no-auth keeps the FHIR API open for local scripting (loopback only!).
// Igia.Workflow runs too: a diabetes follow-up care program is applied to three diabetic patients on first start; and
// Igia.Audit records every interaction and security event (data/audit, and AuditEvent resources in the store).
using Igia.Sandbox;
using Igia.Smart.App;
using Igia.Smart.AuthorizationServer;
using Igia.Smart.Protocol;

var noAuth = args.Contains("--no-auth", StringComparer.Ordinal);
var builder = WebApplication.CreateBuilder(args.Where(a => a != "--no-auth").ToArray());
// ASP.NET's request log prints query strings (authorization codes, states): keep it at Warning.
builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
var dataFolder = Path.GetFullPath(builder.Configuration["data"] is { Length: > 0 } data ? data : "data");
Directory.CreateDirectory(dataFolder);
var baseUrl = SandboxAuth.PublicBaseUrl(builder.Configuration);
var fhirBase = new Uri(baseUrl, "fhir");

builder.Services.AddIgiaFhirServer(o => o.ServerName = "Igia Sandbox").UseSqlite(Path.Combine(dataFolder, "fhir.db"));
// Audit: every FHIR interaction (and the SMART server's logins, logouts and tokens) as IHE BALP AuditEvents, durable
// in a hash-chained local log (data/audit) before the response leaves, and copied into the FHIR store so that
// `AuditEvent?patient=Patient/…` answers "who looked at this record". Registered before the seeders: its pipeline must
// be running when they write (hosted services start in order).
builder.Services.AddIgiaAudit(o => o.SourceId = "igia-sandbox")
    .WriteToFile(Path.Combine(dataFolder, "audit"))
    .WriteToFhirStore(SandboxAuth.System("system/AuditEvent.cru"));
builder.Services.AddSingleton<ISmartAuthorizationEventSink, SandboxAuditBridge>();
builder.Services.AddHostedService<SandboxSeeder>();

// Care workflow: the Task state machine, care programs, SLA timers and subscriptions; a diabetes follow-up program is
// applied to some diabetic patients on first start (after SandboxSeeder: hosted services start in order).
builder.Services.AddIgiaWorkflow(o =>
{
    o.DatabasePath = Path.Combine(dataFolder, "workflow.db");
    o.FhirBaseUrl = fhirBase.ToString().TrimEnd('/');
    o.SystemUser = SandboxAuth.System("system/*.cruds"); // the engine writes overdue marks, escalations, Subscription status
});
builder.Services.AddHostedService<CareProgramSeeder>();

// The SMART authorization server (OpenIddict): the demo users, the demo app, tokens for the FHIR base.
builder.Services.AddIgiaSmartAuthorizationServer(o =>
{
    o.Issuer = baseUrl;
    o.FhirBaseUrl = fhirBase;
    o.ConnectionString = "Data Source=" + Path.Combine(dataFolder, "authorization.db");
    o.SigningKeyFile = Path.Combine(dataFolder, "signing-key.pem");
    o.AllowHttp = true; // a local sandbox: keep it on loopback
    o.LoginPageNote = "Sandbox demo users: practitioner / practitioner (picks any patient), patient / patient (sees only their own record).";
    o.PatientPickerPrincipal = SandboxAuth.System("system/Patient.rs");
    o.Clients.Add(new SmartClientRegistration
    {
        ClientId = SandboxAuth.DemoAppClientId,
        DisplayName = "Igia sample SMART app",
        RedirectUris = { new Uri(baseUrl, "app/callback").ToString() },
        LaunchUrl = new Uri(baseUrl, "app/launch"),
        Scopes = { "openid fhirUser profile launch launch/patient launch/encounter patient/*.rs user/*.rs offline_access online_access" },
    });
}).UseUserStore<SandboxUserStore>();

if (!noAuth)
{
    builder.Services.AddIgiaSmartResourceServer(o =>
    {
        o.Authority = baseUrl;
        o.Audience = fhirBase.ToString();
        // The CapabilityStatement's security section (oauth-uris) names these.
        o.Metadata.AuthorizationEndpoint = new Uri(baseUrl, "connect/authorize");
        o.Metadata.TokenEndpoint = new Uri(baseUrl, "connect/token");
        o.Metadata.IntrospectionEndpoint = new Uri(baseUrl, "connect/introspect");
        o.Metadata.RevocationEndpoint = new Uri(baseUrl, "connect/revoke");
    });
}

// The sample SMART app (Igia.Smart's app side), at /app: a public client of the authorization server above.
builder.Services.AddIgiaSmartApp(o =>
{
    o.LaunchPath = "/app/launch";
    o.CallbackPath = "/app/callback";
    o.DefaultReturnUrl = "/app";
}).AddServer("sandbox", s =>
{
    s.FhirBaseUrl = fhirBase;
    s.ClientId = SandboxAuth.DemoAppClientId;
    s.ClientAuthentication = SmartClientAuthentication.Public;
    s.Scopes = "openid fhirUser launch patient/*.rs online_access";
    s.StandaloneScopes = "openid fhirUser launch/patient patient/*.rs online_access";
    s.RedirectUri = new Uri(baseUrl, "app/callback");
});

var app = builder.Build();
app.Logger.LogInformation("Sandbox data folder: {DataFolder}", dataFolder);
app.Logger.LogInformation(noAuth
    ? "The FHIR API is OPEN (--no-auth): keep the sandbox on loopback."
    : "The FHIR API is protected by SMART on FHIR; open {BaseUrl} for the launcher.", baseUrl);

app.MapIgiaSmartAuthorizationServer();
// The SMART configuration comes from the authorization server's own description (its issuer verbatim, with the trailing
// slash OpenIddict puts on it: apps compare the RFC 9207 'iss' of the authorization response with it exactly).
app.MapIgiaSmartAuthorizationServerDiscovery("/fhir");
if (!noAuth)
{
    app.UseCors();
}

app.MapIgiaSmartApp();
SandboxPages.Map(app, fhirBase, noAuth);
app.MapIgiaFhir("/fhir");
app.Run();

/// <summary>Entry point type, for tests that host the sandbox.</summary>
public partial class Program;
