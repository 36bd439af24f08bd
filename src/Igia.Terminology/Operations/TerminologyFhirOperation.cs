using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Operations;
using Igia.Fhir.Pipeline;

namespace Igia.Terminology.Operations;

/// <summary>
/// Base of the terminology operation endpoints: reads the Parameters the FHIR server built (query for GET, body for POST),
/// passes the instance id and Accept-Language, and turns errors into OperationOutcome responses (4xx, never 500).
/// </summary>
internal abstract class TerminologyFhirOperation(IgiaTerminologyService service) : IFhirOperation
{
    public abstract string Name { get; }

    public FhirOperationLevel Levels => FhirOperationLevel.Type | FhirOperationLevel.Instance;

    public abstract IReadOnlyCollection<string> ResourceTypes { get; }

    public bool AffectsState => false;

    public abstract string? Definition { get; }

    /// <summary>
    /// Request bodies are read leniently where the server supports it: <c>tx-resource</c> parameters carry value sets and
    /// code systems that may be invalid on purpose (a filter without a value), which the operation reports as issues.
    /// </summary>
    public bool LenientBody => true;

    protected abstract TerminologyOperation OperationFor(string? resourceType);

    public async ValueTask<FhirResponse> ExecuteAsync(FhirOperationContext context)
    {
        var interaction = context.Interaction;
        var parameters = context.Parameters;
        var callContext = new TerminologyCallContext
        {
            Id = interaction.Id,
            AcceptLanguage = interaction.HttpContext?.Request.Headers.AcceptLanguage.ToString() is { Length: > 0 } lang ? lang : null,
        };
        try
        {
            var result = await service.ExecuteAsync(OperationFor(interaction.ResourceType), parameters, callContext, interaction.CancellationToken).ConfigureAwait(false);
            return new FhirResponse { Resource = result };
        }
        catch (TerminologyOperationException e)
        {
            var status = e.Status is HttpStatusCode.InternalServerError ? HttpStatusCode.BadRequest : e.Status;
            return new FhirResponse { StatusCode = status, Resource = e.Outcome };
        }
    }
}

/// <summary><c>ValueSet/$expand</c> and <c>ValueSet/[id]/$expand</c>.</summary>
internal sealed class ExpandOperation(IgiaTerminologyService service) : TerminologyFhirOperation(service)
{
    public override string Name => "expand";

    public override IReadOnlyCollection<string> ResourceTypes { get; } = ["ValueSet"];

    public override string Definition => "http://hl7.org/fhir/OperationDefinition/ValueSet-expand";

    protected override TerminologyOperation OperationFor(string? resourceType) => TerminologyOperation.Expand;
}

/// <summary><c>ValueSet/$validate-code</c> and <c>CodeSystem/$validate-code</c> (type and instance level).</summary>
internal sealed class ValidateCodeOperation(IgiaTerminologyService service) : TerminologyFhirOperation(service)
{
    public override string Name => "validate-code";

    public override IReadOnlyCollection<string> ResourceTypes { get; } = ["ValueSet", "CodeSystem"];

    public override string Definition => "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code";

    protected override TerminologyOperation OperationFor(string? resourceType) =>
        resourceType == "CodeSystem" ? TerminologyOperation.CodeSystemValidateCode : TerminologyOperation.ValidateCode;
}

/// <summary><c>CodeSystem/$lookup</c>.</summary>
internal sealed class LookupOperation(IgiaTerminologyService service) : TerminologyFhirOperation(service)
{
    public override string Name => "lookup";

    public override IReadOnlyCollection<string> ResourceTypes { get; } = ["CodeSystem"];

    public override string Definition => "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup";

    protected override TerminologyOperation OperationFor(string? resourceType) => TerminologyOperation.Lookup;
}

/// <summary><c>CodeSystem/$subsumes</c>.</summary>
internal sealed class SubsumesOperation(IgiaTerminologyService service) : TerminologyFhirOperation(service)
{
    public override string Name => "subsumes";

    public override IReadOnlyCollection<string> ResourceTypes { get; } = ["CodeSystem"];

    public override string Definition => "http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes";

    protected override TerminologyOperation OperationFor(string? resourceType) => TerminologyOperation.Subsumes;
}

/// <summary><c>ConceptMap/$translate</c>.</summary>
internal sealed class TranslateOperation(IgiaTerminologyService service) : TerminologyFhirOperation(service)
{
    public override string Name => "translate";

    public override IReadOnlyCollection<string> ResourceTypes { get; } = ["ConceptMap"];

    public override string Definition => "http://hl7.org/fhir/OperationDefinition/ConceptMap-translate";

    protected override TerminologyOperation OperationFor(string? resourceType) => TerminologyOperation.Translate;
}

/// <summary><c>ValueSet/$batch-validate-code</c>.</summary>
internal sealed class BatchValidateCodeOperation(IgiaTerminologyService service) : TerminologyFhirOperation(service)
{
    public override string Name => "batch-validate-code";

    public override IReadOnlyCollection<string> ResourceTypes { get; } = ["ValueSet"];

    public override string Definition => "http://hl7.org/fhir/tools/OperationDefinition/ValueSet-batch-validate-code";

    protected override TerminologyOperation OperationFor(string? resourceType) => TerminologyOperation.BatchValidateCode;
}
