using Hl7.Fhir.Model;
using Igia.Fhir.Operations;
using Igia.Fhir.Pipeline;

namespace Igia.Fhir.Tests.Client;

/// <summary>A small <c>Patient/[id]/$everything</c> for the client tests: the patient, read through the pipeline, in a searchset Bundle.</summary>
public sealed class TestEverythingOperation : IFhirOperation
{
    public string Name => "everything";

    public FhirOperationLevel Levels => FhirOperationLevel.Instance;

    public IReadOnlyCollection<string> ResourceTypes => ["Patient"];

    public async ValueTask<FhirResponse> ExecuteAsync(FhirOperationContext context)
    {
        var read = await context.Executor.ExecuteAsync(new FhirInteraction
        {
            Kind = FhirInteractionKind.Read,
            ResourceType = "Patient",
            Id = context.Interaction.Id,
            Parent = context.Interaction,
            BaseUrl = context.Interaction.BaseUrl,
            CancellationToken = context.Interaction.CancellationToken,
        });
        if (!read.IsSuccess)
        {
            return read;
        }

        var bundle = new Bundle { Type = Bundle.BundleType.Searchset, Total = 1 };
        bundle.Entry.Add(new Bundle.EntryComponent
        {
            FullUrl = $"{context.Interaction.BaseUrl}/Patient/{context.Interaction.Id}",
            Resource = read.Resource,
            Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Match },
        });
        var since = context.Parameters.GetSingleValue<FhirString>("_since") ?? context.Parameters.GetSingleValue<FhirDateTime>("_since") as DataType;
        if (since is not null)
        {
            bundle.Meta = new Meta { Tag = [new Coding("urn:test", "since-received")] };
        }

        return new FhirResponse { Resource = bundle };
    }
}

/// <summary>A small <c>[type]/$validate</c>: a Patient needs a name; anything else is fine. Invalid → 200 with error issues, as R4 says.</summary>
public sealed class TestValidateOperation : IFhirOperation
{
    public string Name => "validate";

    public FhirOperationLevel Levels => FhirOperationLevel.Type;

    public ValueTask<FhirResponse> ExecuteAsync(FhirOperationContext context)
    {
        var resource = context.Parameters.Parameter.FirstOrDefault(p => p.Name == "resource")?.Resource;
        var outcome = resource switch
        {
            null => FhirResponse.Outcome(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Required, "No resource to validate."),
            Patient { Name.Count: 0 } => FhirResponse.Outcome(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Required, "Patient.name: minimum required = 1"),
            _ => FhirResponse.Outcome(OperationOutcome.IssueSeverity.Information, OperationOutcome.IssueType.Informational, "All OK"),
        };
        var status = resource is null ? System.Net.HttpStatusCode.BadRequest : System.Net.HttpStatusCode.OK;
        return ValueTask.FromResult(new FhirResponse { StatusCode = status, Resource = outcome });
    }
}

/// <summary><c>$wrap</c> at system level: returns its input <c>resource</c> parameter inside a Parameters <c>return</c>.</summary>
public sealed class TestWrapOperation : IFhirOperation
{
    public string Name => "wrap";

    public FhirOperationLevel Levels => FhirOperationLevel.System;

    public bool AffectsState => true;

    public ValueTask<FhirResponse> ExecuteAsync(FhirOperationContext context)
    {
        var output = new Parameters();
        output.Parameter.Add(new Parameters.ParameterComponent { Name = "return", Resource = context.Parameters.Parameter.FirstOrDefault(p => p.Name == "resource")?.Resource });
        return ValueTask.FromResult(new FhirResponse { Resource = output });
    }
}
