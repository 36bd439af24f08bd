using System.Collections.Concurrent;
using System.Diagnostics;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Workflow.Sla;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Workflow.Tests.Infrastructure;

/// <summary>
/// A workflow node in a separate OS process (this test assembly run with <c>dotnet</c> and the <c>workflow-node</c>
/// argument, see <see cref="Program"/>): a real Kestrel FHIR server with Igia.Workflow on a clustered PostgreSQL, that
/// the test can kill with SIGKILL (no shutdown, no clean-up, no last check-in), as a crashed machine would stop.
/// </summary>
public sealed class WorkflowNodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private WorkflowNodeProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                _lines.Enqueue(line);
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                _lines.Enqueue("stderr: " + line);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The node's FHIR base URL.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>True once the node has printed <paramref name="line"/>.</summary>
    public bool HasPrinted(string line) => _lines.Contains(line);

    /// <summary>
    /// Starts a node on its own data folder, the shared FHIR store file and the PostgreSQL cluster. With
    /// <paramref name="blockSlaFirings"/>, the node's SLA timer jobs stop inside their run (before writing anything)
    /// and it prints <c>SLA-BLOCKED</c>: a timer that fired on this node and is in flight when it dies.
    /// </summary>
    public static async Task<WorkflowNodeProcess> StartAsync(string dataFolder, string fhirDatabase, string postgres, bool blockSlaFirings)
    {
        var assembly = typeof(WorkflowNodeProcess).Assembly.Location;
        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { assembly, Program.NodeCommand, dataFolder, fhirDatabase, postgres, blockSlaFirings ? "block-sla" : "-" })
        {
            info.ArgumentList.Add(a);
        }

        var node = new WorkflowNodeProcess(Process.Start(info)!);
        try
        {
            await WorkflowTestHost.WaitForAsync(() => Task.FromResult(node._lines.Any(l => l.StartsWith("URL ", StringComparison.Ordinal)) || node._process.HasExited), "the node process to start", 120);
            var url = node._lines.FirstOrDefault(l => l.StartsWith("URL ", StringComparison.Ordinal))
                ?? throw new InvalidOperationException("The node process exited: " + string.Join(Environment.NewLine, node._lines));
            node.BaseUrl = url[4..];
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    // The test runner itself runs under the dotnet host (dotnet exec testhost.dll); else the CLI's DOTNET_HOST_PATH or PATH.
    private static string DotnetHost() =>
        Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
        : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
        : "dotnet";

    /// <summary>What the node printed (for failure messages).</summary>
    public string Output => string.Join(Environment.NewLine, _lines);

    /// <summary>SIGKILL: the process ends at once, without running any shutdown code.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true); // SIGKILL on Linux
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}

/// <summary>
/// Entry point of the test assembly when run as a program (<c>GenerateProgramFile</c> is off; the test runner does not
/// use it): <c>workflow-node &lt;dataFolder&gt; &lt;fhirDatabase&gt; &lt;postgres&gt; &lt;block-sla|-&gt;</c> starts a
/// node for <see cref="WorkflowNodeProcess"/>, prints <c>URL {base}</c> and runs until killed or until its standard
/// input closes (the test process went away).
/// </summary>
public static class Program
{
    public const string NodeCommand = "workflow-node";

    public static async Task<int> Main(string[] args)
    {
        if (args.Length != 5 || args[0] != NodeCommand)
        {
            Console.Error.WriteLine($"usage: {NodeCommand} <dataFolder> <fhirDatabase> <postgres> <block-sla|->");
            return 2;
        }

        var block = args[4] == "block-sla";
        var host = await WorkflowTestHost.StartAsync(
            dataFolder: args[1],
            fhirDatabase: args[2],
            workflow: o =>
            {
                o.PostgreSqlJobStore = args[3];
                o.ClusterCheckinInterval = TimeSpan.FromSeconds(1);
            },
            configureServices: s =>
            {
                if (block)
                {
                    s.AddSingleton<IFhirInteractionFilter, BlockSlaFilter>();
                }
            });
        Console.WriteLine("URL " + host.BaseUrl);
        await Console.In.ReadToEndAsync(); // the parent holds stdin open; EOF = the test process is gone
        return 0;
    }

    /// <summary>Holds the SLA job's overdue-and-escalate transaction forever, before anything is written.</summary>
    private sealed class BlockSlaFilter : IFhirInteractionFilter
    {
        public async ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next)
        {
            if (interaction.Parent is null && interaction.Kind == FhirInteractionKind.Transaction && interaction.Resource is Bundle bundle
                && bundle.Entry.Any(e => e.Resource is FhirTask t && t.Identifier.Any(i => i.System == SlaService.EscalationIdentifierSystem)))
            {
                Console.WriteLine("SLA-BLOCKED");
                await Task.Delay(Timeout.Infinite);
            }

            return await next(interaction);
        }
    }
}
