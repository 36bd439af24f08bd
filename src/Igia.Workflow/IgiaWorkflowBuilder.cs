using Microsoft.Extensions.DependencyInjection;

namespace Igia.Workflow;

/// <summary>Further configuration returned by <c>AddIgiaWorkflow</c>; calls chain.</summary>
/// <param name="Services">The application's service collection.</param>
public sealed record IgiaWorkflowBuilder(IServiceCollection Services)
{
    /// <summary>Changes the Task state machine (starting from the current one, the R4 typical machine by default).</summary>
    public IgiaWorkflowBuilder ConfigureTaskStateMachine(Action<Tasks.TaskStateMachine> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure<WorkflowOptions>(o => configure(o.TaskStateMachine));
        return this;
    }
}
