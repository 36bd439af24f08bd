using BenchmarkDotNet.Running;
using Igia.Benchmarks.Load;

// Micro benchmarks:  dotnet run -c Release --project benchmarks/Igia.Benchmarks -- --filter '*'
// Load run:          dotnet run -c Release --project benchmarks/Igia.Benchmarks -- load [--help]
// Client run:        dotnet run -c Release --project benchmarks/Igia.Benchmarks -- client [--rounds N] [--reads N] [--out FILE]
// Terminology:       dotnet run -c Release --project benchmarks/Igia.Benchmarks -- terminology [...]
// SMART resource server reads: dotnet run -c Release --project benchmarks/Igia.Benchmarks -- smart-rs [...]
// Workflow:          dotnet run -c Release --project benchmarks/Igia.Benchmarks -- workflow [...]
// Audit CPU/reads:   dotnet run -c Release --project benchmarks/Igia.Benchmarks -- audit-cpu [records=200000] [rounds=5] [concurrency=32] [both|off|guaranteed] [batch sizes=256,1024]
switch (args.Length > 0 ? args[0] : null)
{
    case "load":
        return await LoadRun.RunAsync(args[1..]);
    case "client":
        return await Igia.Benchmarks.Client.ClientRun.RunAsync(args[1..]);
    case "terminology":
        return await Igia.Benchmarks.Terminology.TerminologyRun.RunAsync(args[1..]);
    case "smart-rs":
        return await Igia.Benchmarks.Smart.ResourceServerReadRun.RunAsync(args[1..]);
    case "workflow":
        return await Igia.Benchmarks.Workflow.WorkflowRun.RunAsync(args[1..]);
    case "audit-cpu":
        return await Igia.Benchmarks.Audit.AuditCpuRun.RunAsync(args[1..]);
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
