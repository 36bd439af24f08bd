using Igia.Audit.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Audit.Tests.Crash;

/// <summary>
/// The server the crash test runs in a child process (so that it can be killed with SIGKILL): the FHIR server and the
/// audit trail in guaranteed mode on a given data folder. Prints <c>LISTENING &lt;fhir base&gt;</c> when ready.
/// </summary>
public static class CrashHost
{
    public static async Task<int> RunAsync(string dataFolder)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole();
        builder.Logging.AddFilter(l => l >= LogLevel.Warning);
        builder.Services.AddAuthentication(TestAuthenticationHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, TestAuthenticationHandler>(TestAuthenticationHandler.SchemeName, null);
        builder.Services.AddIgiaFhirServer().UseSqlite(Path.Combine(dataFolder, "fhir.db"));
        builder.Services.AddIgiaAudit(o => o.SourceId = "crash-host")
            .WriteToFile(Path.Combine(dataFolder, "audit"), f =>
            {
                f.SigningKey = AuditTestHost.SigningKey;
                f.CheckpointEveryRecords = 200;
            });
        var app = builder.Build();
        app.UseAuthentication();
        app.MapIgiaFhir("/fhir");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.Out.WriteLine("LISTENING " + address.TrimEnd('/') + "/fhir");
        Console.Out.Flush();

        // Runs until killed, or until the parent closes stdin (then stops cleanly).
        await Task.Run(() => Console.In.ReadToEnd());
        await app.StopAsync();
        return 0;
    }
}
