using Hl7.Fhir.Model;
using Igia.Fhir.Capabilities;
using Igia.Fhir.Pipeline;

namespace Igia.Terminology.Capabilities;

/// <summary>
/// Answers <c>GET /metadata?mode=terminology</c> with the server's <c>TerminologyCapabilities</c>. It is an interaction filter,
/// innermost on the pipeline, so audit and authorization see the request as they see any other; every other interaction
/// (and <c>/metadata</c> without that mode) passes through untouched.
/// </summary>
internal sealed class TerminologyMetadataFilter(TerminologyCapabilitiesBuilder builder) : IFhirInteractionFilter
{
    /// <summary>After the business rules: the last filter before the handler.</summary>
    public int Order => FhirFilterOrder.Rules + 100;

    public ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next)
    {
        if (interaction.Kind == FhirInteractionKind.Capabilities && interaction.GetParameter("mode") == "terminology")
        {
            return ValueTask.FromResult(new FhirResponse { Resource = builder.Build(interaction.BaseUrl) });
        }

        return next(interaction);
    }
}

/// <summary>Declares in the server's CapabilityStatement that it is a terminology server.</summary>
internal sealed class TerminologyCapabilityContributor : ICapabilityStatementContributor
{
    /// <summary>The canonical of the HL7 terminology server capability statement.</summary>
    public const string TerminologyServer = "http://hl7.org/fhir/CapabilityStatement/terminology-server";

    public void Contribute(CapabilityStatement statement)
    {
        if (!statement.Instantiates.Contains(TerminologyServer))
        {
            statement.InstantiatesElement.Add(new Canonical(TerminologyServer));
        }
    }
}
