using System.Diagnostics;
using System.Globalization;

namespace Igia.Benchmarks.Smart;

/// <summary>
/// Read throughput with the SMART resource server on vs off, interleaved: the same servers as
/// <see cref="ResourceServerReadBenchmarks"/>, measured in alternating batches (on/off order alternating per round) so that the
/// load of a shared machine falls on both arms alike. Prints requests/s per arm, the median of the per-round throughput ratios
/// (on/off), and the same ratio from this process's CPU time (client and servers run in this process), which other processes'
/// load on a shared machine disturbs far less than wall time.
/// Run: <c>dotnet run -c Release --project benchmarks/Igia.Benchmarks -- smart-rs [--rounds N] [--batch N]</c>.
/// </summary>
public static class ResourceServerReadRun
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = Arg(args, "--rounds", 20);
        var batch = Arg(args, "--batch", 25); // per caller; 8 callers
        var bench = new ResourceServerReadBenchmarks();
        bench.Setup();
        try
        {
            Console.WriteLine($"SMART resource server read throughput, on vs off, {rounds} interleaved rounds of {batch * 8} requests per arm (8 concurrent callers)");
            Console.WriteLine($"load average at start: {LoadAverage()}");
            Console.WriteLine("| Interaction | off (req/s) | on (req/s) | on/off (median of rounds) | on/off (totals) | off CPU (us/req) | on CPU (us/req) | on/off by CPU |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var (label, open, smart) in bench.Pairs())
            {
                await open(batch);
                await smart(batch);
                var ratios = new List<double>();
                double openTime = 0, smartTime = 0, openCpu = 0, smartCpu = 0;
                for (var r = 0; r < rounds; r++)
                {
                    (double Wall, double Cpu) o, s;
                    if (r % 2 == 0)
                    {
                        o = await TimeAsync(open, batch);
                        s = await TimeAsync(smart, batch);
                    }
                    else
                    {
                        s = await TimeAsync(smart, batch);
                        o = await TimeAsync(open, batch);
                    }

                    openTime += o.Wall;
                    smartTime += s.Wall;
                    openCpu += o.Cpu;
                    smartCpu += s.Cpu;
                    ratios.Add(o.Wall / s.Wall);
                }

                ratios.Sort();
                var n = batch * 8.0 * rounds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {label} | {n / openTime:F0} | {n / smartTime:F0} | {ratios[ratios.Count / 2]:F2} | {openTime / smartTime:F2} | {openCpu / n * 1e6:F0} | {smartCpu / n * 1e6:F0} | {openCpu / smartCpu:F2} |"));
            }

            Console.WriteLine($"load average at end: {LoadAverage()}");
        }
        finally
        {
            bench.Cleanup();
        }

        return 0;
    }

    private static async Task<(double Wall, double Cpu)> TimeAsync(Func<int, Task> run, int batch)
    {
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        await run(batch);
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        process.Refresh();
        return (wall, (process.TotalProcessorTime - cpu).TotalSeconds);
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }
}
