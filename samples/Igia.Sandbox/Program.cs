// The whole Igia platform in one process on embedded defaults, seeded with sample data on first start.
//   dotnet run --project samples/Igia.Sandbox [-- [--urls http://127.0.0.1:8080] [--data ./data]]
// --data (configuration key "data") is the folder its files live in; default: ./data under the current folder
// (samples/Igia.Sandbox under `dotnet run`).
// Its FHIR API is open (no authorization yet): keep it on loopback.
using Igia.Sandbox;

var builder = WebApplication.CreateBuilder(args);
var dataFolder = Path.GetFullPath(builder.Configuration["data"] is { Length: > 0 } data ? data : "data");
Directory.CreateDirectory(dataFolder);

builder.Services.AddIgiaFhirServer(o => o.ServerName = "Igia Sandbox").UseSqlite(Path.Combine(dataFolder, "fhir.db"));
builder.Services.AddHostedService<SandboxSeeder>();

var app = builder.Build();
app.Logger.LogInformation("Sandbox data folder: {DataFolder}", dataFolder);
app.MapGet("/", () => Results.Text(
    "Igia sandbox. FHIR R4 API at /fhir (try /fhir/metadata, /fhir/Patient?_count=5).\n", "text/plain"));
app.MapIgiaFhir("/fhir");
app.Run();

/// <summary>Entry point type, for tests that host the sandbox.</summary>
public partial class Program;
