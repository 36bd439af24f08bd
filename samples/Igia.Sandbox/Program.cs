// The whole Igia platform in one process on embedded defaults.
//   dotnet run --project samples/Igia.Sandbox [--urls http://127.0.0.1:8080] [--data ./data]
using Igia.Sandbox;

var builder = WebApplication.CreateBuilder(args);
var dataFolder = Path.GetFullPath(builder.Configuration["data"] ?? "data");
Directory.CreateDirectory(dataFolder);

builder.Services.AddIgiaFhirServer().UseSqlite(Path.Combine(dataFolder, "fhir.db"));
builder.Services.AddHostedService<SandboxSeeder>();

var app = builder.Build();
app.MapGet("/", () => Results.Text(
    "Igia sandbox. FHIR R4 API at /fhir (try /fhir/metadata, /fhir/Patient?_count=5).\n", "text/plain"));
app.MapIgiaFhir("/fhir");
app.Run();

/// <summary>Entry point type, for tests that host the sandbox.</summary>
public partial class Program;
