using Hl7.Fhir.Model;
using Igia.Fhir.Operations;
using Igia.Fhir.Pipeline;
using Igia.Workflow.Internal;

namespace Igia.Workflow.CarePrograms;

/// <summary>
/// <c>PlanDefinition/[id]/$apply</c> (or type level with a <c>planDefinition</c> resource parameter): applies a care program
/// to a subject, storing its CarePlan, Goals and the Tasks/requests of its actions in one transaction; returns the CarePlan.
/// </summary>
internal sealed class PlanDefinitionApplyOperation(CareProgramApplier applier) : IFhirOperation
{
    public string Name => "apply";

    public FhirOperationLevel Levels => FhirOperationLevel.Type | FhirOperationLevel.Instance;

    public IReadOnlyCollection<string> ResourceTypes => ["PlanDefinition"];

    public bool AffectsState => true;

    public string? Definition => "http://hl7.org/fhir/OperationDefinition/PlanDefinition-apply";

    public async ValueTask<FhirResponse> ExecuteAsync(FhirOperationContext context)
    {
        var plan = await ApplyDefinitions.ResolveAsync<PlanDefinition>(context, "planDefinition");
        var ctx = await CareProgramApplier.ReadContextAsync(context);
        var carePlan = await applier.ApplyAsync(plan, ctx);
        return new FhirResponse { Resource = carePlan, Id = carePlan.Id, ResourceType = "CarePlan" };
    }
}

/// <summary><c>ActivityDefinition/[id]/$apply</c>: stores the Task or request the definition describes for a subject and returns it.</summary>
internal sealed class ActivityDefinitionApplyOperation(CareProgramApplier applier) : IFhirOperation
{
    public string Name => "apply";

    public FhirOperationLevel Levels => FhirOperationLevel.Type | FhirOperationLevel.Instance;

    public IReadOnlyCollection<string> ResourceTypes => ["ActivityDefinition"];

    public bool AffectsState => true;

    public string? Definition => "http://hl7.org/fhir/OperationDefinition/ActivityDefinition-apply";

    public async ValueTask<FhirResponse> ExecuteAsync(FhirOperationContext context)
    {
        var definition = await ApplyDefinitions.ResolveAsync<ActivityDefinition>(context, "activityDefinition");
        var ctx = await CareProgramApplier.ReadContextAsync(context);
        var created = await applier.ApplyAsync(definition, ctx);
        return new FhirResponse { Resource = created, Id = created.Id, ResourceType = created.TypeName };
    }
}

internal static class ApplyDefinitions
{
    public static async Task<T> ResolveAsync<T>(FhirOperationContext context, string parameterName)
        where T : Resource
    {
        var interaction = context.Interaction;
        if (interaction.Id is { } id)
        {
            var read = await context.Executor.ExecuteAsync(Interactions.Read(typeof(T).Name, id, interaction, new WorkflowOptions(), interaction.CancellationToken));
            return read.EnsureSuccess().Resource as T ?? throw FhirException.NotFound($"{typeof(T).Name}/{id} was not found.");
        }

        return context.Parameters.GetSingle(parameterName)?.Resource as T
            ?? throw FhirException.BadRequest($"At type level, $apply needs a '{parameterName}' parameter holding the {typeof(T).Name}.");
    }
}
