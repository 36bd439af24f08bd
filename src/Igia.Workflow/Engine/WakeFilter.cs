using Igia.Fhir.Pipeline;

namespace Igia.Workflow.Engine;

/// <summary>
/// After-commit nudge: when a top-level write interaction succeeds (its store transaction is committed by then), wakes
/// the engine so notifications go out at once instead of at the next poll. Correctness never depends on it: the
/// engine also polls the change feed.
/// </summary>
internal sealed class WakeFilter(WorkflowSignal signal) : IFhirInteractionFilter
{
    public int Order => FhirFilterOrder.Audit - 100;

    public async ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next)
    {
        var response = await next(interaction);
        if (interaction.Parent is null && response.IsSuccess && interaction.Kind is FhirInteractionKind.Create or FhirInteractionKind.Update
                or FhirInteractionKind.Patch or FhirInteractionKind.Delete or FhirInteractionKind.Transaction or FhirInteractionKind.Batch or FhirInteractionKind.Operation)
        {
            signal.Wake();
        }

        return response;
    }
}
