using System.Threading.Channels;

namespace Igia.Workflow.Engine;

/// <summary>Wakes the engine loop early; a singleton with no dependencies, so filters can use it without a DI cycle.</summary>
internal sealed class WorkflowSignal
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Asks the loop to run a round now.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Waits for a wake-up (or cancellation).</summary>
    public ValueTask<bool> WaitAsync(CancellationToken ct) => _wake.Reader.ReadAsync(ct);
}
