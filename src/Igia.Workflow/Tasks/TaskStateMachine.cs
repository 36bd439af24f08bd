using Hl7.Fhir.Utility;

namespace Igia.Workflow.Tasks;

/// <summary>
/// The allowed <c>Task.status</c> transitions, enforced on every create, update and patch of a Task (transaction
/// entries included). <see cref="CreateDefault"/> is the R4 "typical" state machine (task.html#statemachine);
/// change it per deployment with <see cref="Allow"/>, <see cref="Forbid"/> and <see cref="InitialStatuses"/>.
/// A write that keeps the status is always allowed (<c>businessStatus</c> is free within a status).
/// </summary>
public sealed class TaskStateMachine
{
    private readonly Dictionary<FhirTaskStatus, HashSet<FhirTaskStatus>> _next = [];

    /// <summary>The statuses a Task may be created with. Default: draft, requested, ready.</summary>
    public HashSet<FhirTaskStatus> InitialStatuses { get; } = [];

    /// <summary>When true (default), any status may go to <c>entered-in-error</c>.</summary>
    public bool EnteredInErrorFromAnywhere { get; set; } = true;

    /// <summary>The R4 typical Task state machine.</summary>
    public static TaskStateMachine CreateDefault()
    {
        var m = new TaskStateMachine();
        m.InitialStatuses.UnionWith([FhirTaskStatus.Draft, FhirTaskStatus.Requested, FhirTaskStatus.Ready]);
        m.Allow(FhirTaskStatus.Draft, FhirTaskStatus.Requested, FhirTaskStatus.Ready, FhirTaskStatus.Cancelled);
        m.Allow(FhirTaskStatus.Requested, FhirTaskStatus.Received, FhirTaskStatus.Accepted, FhirTaskStatus.Rejected, FhirTaskStatus.Cancelled);
        m.Allow(FhirTaskStatus.Received, FhirTaskStatus.Accepted, FhirTaskStatus.Rejected, FhirTaskStatus.Cancelled);
        m.Allow(FhirTaskStatus.Accepted, FhirTaskStatus.InProgress, FhirTaskStatus.Cancelled);
        m.Allow(FhirTaskStatus.Ready, FhirTaskStatus.InProgress, FhirTaskStatus.Cancelled);
        m.Allow(FhirTaskStatus.InProgress, FhirTaskStatus.OnHold, FhirTaskStatus.Completed, FhirTaskStatus.Failed);
        m.Allow(FhirTaskStatus.OnHold, FhirTaskStatus.InProgress);
        return m;
    }

    /// <summary>Allows <paramref name="from"/> → each of <paramref name="to"/>. Returns this for chaining.</summary>
    public TaskStateMachine Allow(FhirTaskStatus from, params FhirTaskStatus[] to)
    {
        if (!_next.TryGetValue(from, out var set))
        {
            _next[from] = set = [];
        }

        set.UnionWith(to);
        return this;
    }

    /// <summary>Forbids <paramref name="from"/> → each of <paramref name="to"/>. Returns this for chaining.</summary>
    public TaskStateMachine Forbid(FhirTaskStatus from, params FhirTaskStatus[] to)
    {
        if (_next.TryGetValue(from, out var set))
        {
            set.ExceptWith(to);
        }

        return this;
    }

    /// <summary>True when a Task may go from <paramref name="from"/> to <paramref name="to"/> (or stays).</summary>
    public bool IsAllowed(FhirTaskStatus from, FhirTaskStatus to) =>
        from == to || AllowedNext(from).Contains(to);

    /// <summary>The statuses reachable in one step from <paramref name="from"/>, in the enum's order.</summary>
    public IReadOnlyList<FhirTaskStatus> AllowedNext(FhirTaskStatus from)
    {
        var result = new SortedSet<FhirTaskStatus>(_next.TryGetValue(from, out var set) ? set : []);
        if (EnteredInErrorFromAnywhere && from != FhirTaskStatus.EnteredInError)
        {
            result.Add(FhirTaskStatus.EnteredInError);
        }

        return [.. result];
    }

    /// <summary>True for a status with no way out but entered-in-error (completed, failed, rejected, cancelled by default).</summary>
    public bool IsTerminal(FhirTaskStatus status) => AllowedNext(status).All(s => s == FhirTaskStatus.EnteredInError);

    /// <summary>The FHIR code of a status, e.g. <c>in-progress</c>.</summary>
    public static string Code(FhirTaskStatus status) => status.GetLiteral();
}
