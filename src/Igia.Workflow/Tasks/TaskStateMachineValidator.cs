using System.Net;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Storage;
using Microsoft.Extensions.Options;

namespace Igia.Workflow.Tasks;

/// <summary>
/// Enforces <see cref="TaskStateMachine"/> on every Task write. Runs as an <see cref="IFhirWriteValidator"/>, i.e.
/// inside the write's store transaction with the version being replaced, so a patch is judged on its result and two
/// racing updates cannot both pass on a stale status.
/// </summary>
internal sealed class TaskStateMachineValidator(IOptions<WorkflowOptions> options) : IFhirWriteValidator
{
    private readonly TaskStateMachine _machine = options.Value.TaskStateMachine;

    public ValueTask ValidateWriteAsync(FhirInteraction interaction, Resource resource, StoredResource? current)
    {
        if (resource is not FhirTask task)
        {
            return ValueTask.CompletedTask;
        }

        if (task.Status is not { } next)
        {
            // Task.status is 1..1; the core parser lets a missing one through, so say it here.
            throw Refuse(HttpStatusCode.BadRequest, OperationOutcome.IssueType.Required, "Task.status is required.");
        }

        var previous = current is { Deleted: false, Json: { } json } ? ReadStatus(json) : null;
        if (previous is null)
        {
            if (!_machine.InitialStatuses.Contains(next))
            {
                throw Refuse(HttpStatusCode.UnprocessableEntity, OperationOutcome.IssueType.BusinessRule,
                    $"A Task cannot be created with status '{next.GetLiteral()}'. Allowed initial statuses: {List(_machine.InitialStatuses)}.");
            }

            return ValueTask.CompletedTask;
        }

        if (!_machine.IsAllowed(previous.Value, next))
        {
            var allowed = _machine.AllowedNext(previous.Value);
            throw Refuse(HttpStatusCode.UnprocessableEntity, OperationOutcome.IssueType.BusinessRule,
                $"Task status cannot change from '{previous.Value.GetLiteral()}' to '{next.GetLiteral()}'. Allowed next statuses from '{previous.Value.GetLiteral()}': {List(allowed)}.");
        }

        return ValueTask.CompletedTask;
    }

    private static string List(IEnumerable<FhirTaskStatus> statuses)
    {
        var codes = statuses.Order().Select(s => s.GetLiteral()).ToList();
        return codes.Count == 0 ? "none" : string.Join(", ", codes);
    }

    private static FhirException Refuse(HttpStatusCode status, OperationOutcome.IssueType code, string message)
    {
        var outcome = FhirResponse.Outcome(OperationOutcome.IssueSeverity.Error, code, message);
        outcome.Issue[0].Expression = ["Task.status"];
        return new FhirException(status, outcome);
    }

    /// <summary>Reads <c>status</c> from stored JSON without parsing the whole Task.</summary>
    internal static FhirTaskStatus? ReadStatus(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String
            ? EnumUtility.ParseLiteral<FhirTaskStatus>(s.GetString()!)
            : null;
    }
}
