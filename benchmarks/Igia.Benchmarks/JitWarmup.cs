using System.Diagnostics;
using System.Globalization;
using System.Runtime;

namespace Igia.Benchmarks;

/// <summary>
/// Warm-up for the side-by-side load runs: repeats a pass over every arm until tiered compilation has settled. On a
/// 2-core machine the tiering backlog (~12,000 methods) was still being compiled 30 s into a run, so one arm's code ran
/// unoptimised in measured rounds and the JIT's CPU fell into whichever arm happened to be running.
/// </summary>
internal static class JitWarmup
{
    /// <summary>
    /// Runs <paramref name="pass"/> in 2-second stretches until fewer than 5 methods are JIT-compiled in one stretch, for
    /// at least <paramref name="minimumSeconds"/> and at most 180 s; prints how long that took.
    /// </summary>
    public static async Task UntilSettledAsync(Func<Task> pass, double minimumSeconds = 5)
    {
        var warmup = Stopwatch.StartNew();
        while (true)
        {
            var compiled = JitInfo.GetCompiledMethodCount();
            var stretch = Stopwatch.StartNew();
            do
            {
                await pass();
            }
            while (stretch.Elapsed.TotalSeconds < 2);

            if ((warmup.Elapsed.TotalSeconds >= minimumSeconds && JitInfo.GetCompiledMethodCount() - compiled < 5) || warmup.Elapsed.TotalSeconds >= 180)
            {
                break;
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm-up: {warmup.Elapsed.TotalSeconds:F0} s ({JitInfo.GetCompiledMethodCount()} methods JIT-compiled in all)"));
    }
}
