using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;

namespace Igia.Audit.Tests.Infrastructure;

/// <summary>An authorization filter for tests: refuses (403) any interaction on a resource whose id starts with <c>forbidden-</c>.</summary>
public sealed class DenyFilter : IFhirInteractionFilter
{
    public int Order => FhirFilterOrder.Authorization;

    public ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next) =>
        interaction.Id?.StartsWith("forbidden-", StringComparison.Ordinal) == true
            ? ValueTask.FromResult(FhirResponse.Error(HttpStatusCode.Forbidden, OperationOutcome.IssueType.Forbidden, "Refused by the test authorization filter."))
            : next(interaction);
}
