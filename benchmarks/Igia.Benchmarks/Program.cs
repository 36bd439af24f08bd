using BenchmarkDotNet.Running;
using Igia.Benchmarks.Load;

// Micro benchmarks:  dotnet run -c Release --project benchmarks/Igia.Benchmarks -- --filter '*'
// Load run:          dotnet run -c Release --project benchmarks/Igia.Benchmarks -- load [--help]
if (args.Length > 0 && args[0] == "load")
{
    return await LoadRun.RunAsync(args[1..]);
}

// Run the benchmarks inside this (already built, Release) process rather than letting BenchmarkDotNet generate and
// build a project per run: that build would write into the shared tree's obj/ folders. Pass --outOfProcess to opt out.
var inProcess = !args.Contains("--outOfProcess");
var bdnArgs = args.Where(a => a != "--outOfProcess").ToList();
if (inProcess && !bdnArgs.Contains("--inProcess"))
{
    bdnArgs.Add("--inProcess");
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run([.. bdnArgs]);
return 0;
