using System.Diagnostics;
using System.Text;

namespace Igia.IntegrationTests.Infrastructure;

/// <summary>Runs the <c>dotnet</c> CLI as a child process, the way a developer would from a shell.</summary>
internal static class DotNet
{
    /// <summary>The <c>dotnet</c> executable running these tests (or the one on PATH).</summary>
    public static string Executable { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>Runs <c>dotnet args…</c> in <paramref name="workingDirectory"/> and returns its output; throws with the output when it fails or times out.</summary>
    public static async Task<string> RunAsync(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var startInfo = CreateStartInfo(workingDirectory, args);
        using var process = new Process { StartInfo = startInfo };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            throw new TimeoutException($"'dotnet {string.Join(' ', args)}' did not finish within {timeout}.\n{Snapshot(output)}");
        }

        process.WaitForExit(); // drain the output
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'dotnet {string.Join(' ', args)}' exited with {process.ExitCode}.\n{Snapshot(output)}");
        }

        return Snapshot(output);
    }

    /// <summary>
    /// A start-info for <c>dotnet</c> with the environment of a plain shell: the MSBuild and test-host variables
    /// that <c>dotnet test</c> puts into this process are removed, and build servers are off so no child process
    /// outlives the test.
    /// </summary>
    public static ProcessStartInfo CreateStartInfo(string workingDirectory, IEnumerable<string> args)
    {
        var startInfo = new ProcessStartInfo(Executable)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        foreach (var name in startInfo.Environment.Keys.ToArray())
        {
            if (name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase)
                || name.Equals("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase)
                || name.Equals("ASPNETCORE_URLS", StringComparison.OrdinalIgnoreCase)
                || name.Equals("ASPNETCORE_HTTP_PORTS", StringComparison.OrdinalIgnoreCase)
                || name.Equals("ASPNETCORE_HTTPS_PORTS", StringComparison.OrdinalIgnoreCase))
            {
                startInfo.Environment.Remove(name);
            }
        }

        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["DOTNET_NOLOGO"] = "1";
        startInfo.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        startInfo.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        startInfo.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        startInfo.Environment["UseSharedCompilation"] = "false";
        return startInfo;
    }

    /// <summary>Kills a process and its children, ignoring one that already exited.</summary>
    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
