using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Igia.Benchmarks.Load;

/// <summary>What one wrk run reports (latencies in microseconds).</summary>
internal sealed record WrkResult(
    long Requests, long DurationUs, long Bytes,
    long ConnectErrors, long ReadErrors, long WriteErrors, long StatusErrors, long Timeouts,
    long P50Us, long P90Us, long P99Us, long MaxUs)
{
    public double RequestsPerSecond => Requests / (DurationUs / 1e6);

    public long Errors => ConnectErrors + ReadErrors + WriteErrors + StatusErrors + Timeouts;
}

/// <summary>Runs wrk (a C load generator, so the client takes as little of the 2 cores as possible) with a Lua script.</summary>
internal static class Wrk
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string? Version()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("wrk", "-v") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit(5000);
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    public static async Task<WrkResult> RunAsync(Uri address, string script, IEnumerable<string> scriptArgs, int threads, int connections, int seconds)
    {
        var psi = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-t", I(threads), "-c", I(connections), "-d", I(seconds) + "s", "--timeout", "10s", "-s", script, address.ToString().TrimEnd('/'), "--" })
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var a in scriptArgs)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + 60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException("wrk did not finish in time.");
        }

        var output = await stdout;
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("WRKJSON ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"wrk gave no result (exit {process.ExitCode}): {output} {await stderr}");
        return JsonSerializer.Deserialize<WrkResult>(line["WRKJSON ".Length..], Json)!;
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}
