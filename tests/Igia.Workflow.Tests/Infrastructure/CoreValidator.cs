using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;

namespace Igia.Workflow.Tests.Infrastructure;

/// <summary>Validates resources against the FHIR R4 core specification with Firely.Fhir.Validation, offline.</summary>
public static class CoreValidator
{
    private static readonly Lazy<Validator> Instance = new(() =>
    {
        var resolver = new CachedResolver(new SnapshotSource(ZipSource.CreateValidationSource()));
        return new Validator(resolver, LocalTerminologyService.CreateDefaultForCore(resolver));
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly Lock Gate = new();

    public static IReadOnlyList<string> Errors(Resource resource)
    {
        OperationOutcome outcome;
        lock (Gate)
        {
            outcome = Instance.Value.Validate(resource);
        }

        return outcome.Issue
            .Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)
            .Select(i => $"{i.Details?.Text ?? i.Diagnostics} @ {string.Join(",", i.Expression ?? [])}")
            .ToList();
    }

    public static void AssertValid(Resource resource)
    {
        var errors = Errors(resource);
        Assert.True(errors.Count == 0, $"{resource.TypeName}/{resource.Id} is not valid against the core spec:\n{string.Join("\n", errors)}\n{WorkflowTestHost.Serialize(resource)}");
    }
}
