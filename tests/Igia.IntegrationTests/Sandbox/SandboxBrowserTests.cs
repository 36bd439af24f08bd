using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using Igia.IntegrationTests.Infrastructure;

namespace Igia.IntegrationTests.Sandbox;

/// <summary>
/// The standalone launch in a real browser: Debian's headless Chromium (driven by playwright-core from the npm fixture in
/// tests/Igia.Smart.AuthorizationServer.Tests/fhirclient; the browser is never downloaded) goes through the sandbox's
/// launcher, login page, patient picker and sample app. The screenshot is kept under tests/Igia.IntegrationTests/TestResults/.
/// </summary>
public sealed class SandboxBrowserTests
{
    private static string RepositoryRoot => typeof(SandboxBrowserTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;

    [Fact]
    public async Task Sandbox_StandaloneLaunch_InHeadlessChromium_ShowsPatientBanner()
    {
        const string chromium = "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), "Debian's chromium is needed (apt-get install -y chromium; .ci/run installs it).");
        var fixture = Path.Combine(RepositoryRoot, "tests", "Igia.Smart.AuthorizationServer.Tests", "fhirclient");
        Assert.True(Directory.Exists(Path.Combine(fixture, "node_modules", "playwright-core")), $"Run `npm ci` in {fixture} first (tests/run-all.sh does).");
        var screenshots = Path.Combine(RepositoryRoot, "tests", "Igia.IntegrationTests", "TestResults", "screenshots");
        Directory.CreateDirectory(screenshots);
        var screenshot = Path.Combine(screenshots, "sandbox-standalone-launch.png");
        File.Delete(screenshot);

        using var data = new TempFolder("igia-sandbox-browser");
        await using var sandbox = await SandboxHost.StartAsync(data.Path, noAuth: false);
        var start = new ProcessStartInfo("node", ["sandbox-browser.mjs", sandbox.Server.BaseAddress.ToString(), screenshot, chromium])
        {
            WorkingDirectory = fixture, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        // Generous: Chromium is slow to start on a busy machine (the script's own waits are 2 minutes each).
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        try
        {
            await node.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            node.Kill(entireProcessTree: true);
            Assert.Fail($"node did not finish within 8 minutes\n{sandbox.Server.Output}");
        }

        Assert.True(node.ExitCode == 0, $"node exited {node.ExitCode}\n{await stderr}\n{await stdout}\n{sandbox.Server.Output}");

        var result = JsonNode.Parse((await stdout).Trim().Split('\n').Last())!;
        var picked = result["picked"]!.GetValue<string>();
        var banner = result["banner"]!.GetValue<string>();
        Assert.StartsWith(picked.Split(" — ")[0], banner);
        Assert.True(result["rows"]!.GetValue<int>() > 1, "no observation rows shown");
        var visited = result["visited"]!.AsArray().Select(v => v!.GetValue<string>()).ToList();
        Assert.Contains("/smart/login", visited);
        Assert.Contains("/smart/patient-picker", visited);
        Assert.Equal("/app", new Uri(result["url"]!.GetValue<string>()).AbsolutePath);

        var png = await File.ReadAllBytesAsync(screenshot);
        Assert.True(png.Length > 1000 && png[0] == 0x89 && png[1] == (byte)'P', "the screenshot is not a PNG");
    }
}
