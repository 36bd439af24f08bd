using Igia.Fhir.Operations;
using Igia.Fhir.Pipeline;
using Igia.Workflow.CarePrograms;
using Igia.Workflow.Engine;
using Igia.Workflow.Sla;
using Igia.Workflow.Subscriptions;
using Igia.Workflow;
using Igia.Workflow.Tasks;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Igia.Workflow.</summary>
public static class IgiaWorkflowServiceCollectionExtensions
{
    /// <summary>
    /// Adds FHIR care workflow to an Igia FHIR server (call <c>AddIgiaFhirServer</c> too): the Task state machine,
    /// <c>PlanDefinition/$apply</c> and <c>ActivityDefinition/$apply</c>, SLA timers with escalation, and R4 Subscriptions
    /// Backport rest-hook notifications, run by an embedded durable engine whose state lives in a SQLite file.
    /// </summary>
    public static IgiaWorkflowBuilder AddIgiaWorkflow(this IServiceCollection services, Action<WorkflowOptions>? configure = null)
    {
        var options = services.AddOptions<WorkflowOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirWriteValidator, TaskStateMachineValidator>());
        services.TryAddSingleton<CareProgramApplier>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirOperation, PlanDefinitionApplyOperation>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirOperation, ActivityDefinitionApplyOperation>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirWriteValidator, SubscriptionValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirOperation, SubscriptionStatusOperation>());
        services.TryAddSingleton<SlaService>();
        services.TryAddSingleton<WorkflowSignal>();
        services.TryAddSingleton<WorkflowEngine>();
        services.AddHostedService(sp => sp.GetRequiredService<WorkflowEngine>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirInteractionFilter, WakeFilter>());
        services.AddHttpClient(WorkflowEngine.HttpClientName);
        return new IgiaWorkflowBuilder(services);
    }
}
