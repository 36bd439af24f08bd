using System.Diagnostics;
using System.Globalization;
using System.Runtime;

namespace Igia.Benchmarks.Smart;

/// <summary>
/// Read throughput with the SMART resource server on vs off, interleaved: the same servers as
/// <see cref="ResourceServerReadBenchmarks"/>, measured in alternating batches (on/off order alternating per round) so that the
/// load of a shared machine falls on both arms alike. Prints requests/s per arm, the median of the per-round throughput ratios
/// (on/off), and the same ratio from this process's CPU time (client and servers run in this process), which other processes'
/// load on a shared machine disturbs far less than wall time.
/// Run: <c>dotnet run -c Release --project benchmarks/Igia.Benchmarks -- smart-rs [--rounds N] [--batch N] [--only &lt;label part&gt;]</c>
/// (<c>--warmup S</c>: at least S seconds of warm-up over all selected pairs, default 5, and then until JIT tiering has settled; <c>--only</c>: just the pairs whose label contains it, e.g. <c>--only "Read own"</c>; <c>--token-to-both</c>: the off arm
/// sends the same Authorization header, so both arms carry the same request bytes; <c>--arm on|off</c>: run one arm alone,
/// for a profiler).
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
            Console.WriteLine("| Interaction | off (req/s) | on (req/s) | on/off (median of rounds) | on/off (totals) | off CPU (us/req) | on CPU (us/req) | on/off by CPU | off alloc (KB/req) | on alloc (KB/req) | off ctx sw/req | on ctx sw/req |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            var only = ArgText(args, "--only");
            var tokenToBoth = args.Contains("--token-to-both");
            if (tokenToBoth)
            {
                Console.WriteLine("(--token-to-both: the off arm sends the same Authorization header, which the open server ignores)");
            }

            // For profiling one arm alone (the other does nothing, so its columns and the ratios mean nothing).
            var arm = ArgText(args, "--arm");
            var pairs = bench.Pairs(tokenToBoth)
                .Where(p => only is null || p.Label.Contains(only, StringComparison.OrdinalIgnoreCase))
                .Select(p => (p.Label, Open: arm == "on" ? _ => Task.CompletedTask : p.Open, Smart: arm == "off" ? _ => Task.CompletedTask : p.Smart))
                .ToList();

            // Warm-up: every selected pair, both arms, in turn until tiered compilation has settled.
            await JitWarmup.UntilSettledAsync(async () =>
            {
                foreach (var (_, open, smart) in pairs)
                {
                    await open(batch);
                    await smart(batch);
                }
            }, Arg(args, "--warmup", 5));
            foreach (var (label, open, smart) in pairs)
            {
                var ratios = new List<double>();
                double openTime = 0, smartTime = 0, openCpu = 0, smartCpu = 0, openBytes = 0, smartBytes = 0, openSwitches = 0, smartSwitches = 0;
                for (var r = 0; r < rounds; r++)
                {
                    (double Wall, double Cpu, long Allocated, long Switches) o, s;
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
                    openBytes += o.Allocated;
                    smartBytes += s.Allocated;
                    openSwitches += o.Switches;
                    smartSwitches += s.Switches;
                    ratios.Add(o.Wall / s.Wall);
                }

                ratios.Sort();
                var n = batch * 8.0 * rounds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {label} | {n / openTime:F0} | {n / smartTime:F0} | {ratios[ratios.Count / 2]:F2} | {openTime / smartTime:F2} | {openCpu / n * 1e6:F0} | {smartCpu / n * 1e6:F0} | {openCpu / smartCpu:F2} | {openBytes / n / 1024:F1} | {smartBytes / n / 1024:F1} | {openSwitches / n:F2} | {smartSwitches / n:F2} |"));
            }

            Console.WriteLine($"load average at end: {LoadAverage()}");
        }
        finally
        {
            bench.Cleanup();
        }

        return 0;
    }

    private static async Task<(double Wall, double Cpu, long Allocated, long Switches)> TimeAsync(Func<int, Task> run, int batch)
    {
        var switches = VoluntaryContextSwitches();
        // Environment.CpuUsage (getrusage) is exact to the microsecond; Process.TotalProcessorTime counts 10 ms clock ticks on Linux.
        var cpu = Environment.CpuUsage.TotalTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        await run(batch);
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return (wall, (Environment.CpuUsage.TotalTime - cpu).TotalSeconds, GC.GetTotalAllocatedBytes(precise: true) - allocated, VoluntaryContextSwitches() - switches);
    }

    /// <summary>
    /// The process's voluntary context switches so far (getrusage: a thread blocked, e.g. a thread-pool worker going idle
    /// and being woken for the next work item), all threads included; -1 where getrusage is not available. Preemption by other
    /// processes (involuntary switches) is left out, so a loaded machine disturbs it little.
    /// </summary>
    private static long VoluntaryContextSwitches()
    {
        if (!OperatingSystem.IsLinux())
        {
            return -1;
        }

        var usage = new RUsage();
        return GetRUsage(0, ref usage) == 0 ? usage.VoluntarySwitches : -1;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getrusage")]
    private static extern int GetRUsage(int who, ref RUsage usage);

    /// <summary>struct rusage (64-bit Linux): two timevals, then 14 longs; ru_nvcsw is the 13th of them.</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct RUsage
    {
        public long UserSeconds, UserMicroseconds, SystemSeconds, SystemMicroseconds;
        public long MaxRss, SharedRss, UnsharedData, UnsharedStack, MinorFaults, MajorFaults, Swaps, BlockIn, BlockOut, MessagesSent, MessagesReceived, Signals;
        public long VoluntarySwitches, InvoluntarySwitches;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string? ArgText(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }
}
