using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using Igia.Smart.AuthorizationServer.Tests.Infrastructure;

namespace Igia.Smart.AuthorizationServer.Tests;

/// <summary>
/// A real third-party SMART client: SMART's client-js (<c>fhirclient</c>, npm registry) under Node completes a standalone
/// launch against the authorization server (login, patient picker, PKCE S256) and reads its patient's data.
/// Needs <c>npm ci</c> in the fhirclient folder (tests/run-all.sh does it).
/// </summary>
public sealed class FhirclientTests
{
    private static string Folder => typeof(FhirclientTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "FhirclientFolder").Value!;

    [Fact]
    public async Task Fhirclient_StandaloneLaunch_ReadsPatientData()
    {
        Assert.True(Directory.Exists(Path.Combine(Folder, "node_modules", "fhirclient")), $"Run `npm ci` in {Folder} first (tests/run-all.sh does).");
        var port = AppHost.FreePort();
        await using var host = await AuthzHost.StartAsync(o => o.Clients.Add(new SmartClientRegistration
        {
            ClientId = "fhirclient-js", RedirectUris = { $"http://127.0.0.1:{port}/callback" }, Scopes = { AuthzHost.AppScopes },
        }));

        var start = new ProcessStartInfo("node", ["standalone.mjs", host.FhirBase, port.ToString(System.Globalization.CultureInfo.InvariantCulture), "fhirclient-js", "dr", "dr-password"])
        {
            WorkingDirectory = Folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"node exited {node.ExitCode}\n{await stderr}\n{await stdout}\n{host.AllLogs}");

        var result = JsonNode.Parse((await stdout).Trim().Split('\n').Last())!;
        Assert.Equal("p1", result["patient"]!.GetValue<string>());
        Assert.Equal("Abbott", result["family"]!.GetValue<string>());
        Assert.Equal(1, result["observations"]!.GetValue<int>());
        Assert.True(result["needPatientBanner"]!.GetValue<bool>());
        Assert.True(result["hasIdToken"]!.GetValue<bool>());
        Assert.True(result["hasRefreshToken"]!.GetValue<bool>());
        Assert.Equal("Practitioner/dr-1", result["fhirUser"]!.GetValue<string>()); // client-js reduces the id_token URL to type/id
        Assert.Contains("launch/patient", result["scope"]!.GetValue<string>());
        Assert.Contains("/smart/patient-picker", result["visited"]!.AsArray().Select(v => v!.GetValue<string>()));
    }
}
