using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;

namespace Igia.Workflow.Internal;

/// <summary>Helpers to run in-process interactions through the FHIR pipeline (filters, authorization and audit apply).</summary>
internal static class Interactions
{
    public static FhirInteraction Read(string type, string id, FhirInteraction? parent, WorkflowOptions options, CancellationToken ct) => new()
    {
        Kind = FhirInteractionKind.Read,
        ResourceType = type,
        Id = id,
        Method = "GET",
        BaseUrl = parent?.BaseUrl ?? options.FhirBaseUrl,
        RelativeUrl = $"{type}/{id}",
        User = parent?.User ?? options.SystemUser,
        HttpContext = parent?.HttpContext,
        CancellationToken = ct,
    };

    public static FhirInteraction Search(string type, IEnumerable<KeyValuePair<string, string>> parameters, FhirInteraction? parent, WorkflowOptions options, CancellationToken ct) => new()
    {
        Kind = FhirInteractionKind.Search,
        ResourceType = type,
        Method = "GET",
        Parameters = [.. parameters],
        BaseUrl = parent?.BaseUrl ?? options.FhirBaseUrl,
        RelativeUrl = type,
        User = parent?.User ?? options.SystemUser,
        HttpContext = parent?.HttpContext,
        CancellationToken = ct,
    };

    public static FhirInteraction Transaction(Bundle bundle, FhirInteraction? parent, WorkflowOptions options, CancellationToken ct) => new()
    {
        Kind = FhirInteractionKind.Transaction,
        Method = "POST",
        Resource = bundle,
        BaseUrl = parent?.BaseUrl ?? options.FhirBaseUrl,
        RelativeUrl = "",
        User = parent?.User ?? options.SystemUser,
        HttpContext = parent?.HttpContext,
        CancellationToken = ct,
    };

    public static FhirInteraction Update(Resource resource, string? ifMatch, WorkflowOptions options, CancellationToken ct) => new()
    {
        Kind = FhirInteractionKind.Update,
        ResourceType = resource.TypeName,
        Id = resource.Id,
        Method = "PUT",
        Resource = resource,
        Headers = new FhirRequestHeaders { IfMatch = ifMatch },
        BaseUrl = options.FhirBaseUrl,
        RelativeUrl = $"{resource.TypeName}/{resource.Id}",
        User = options.SystemUser,
        CancellationToken = ct,
    };

    public static FhirInteraction Create(Resource resource, WorkflowOptions options, CancellationToken ct) => new()
    {
        Kind = FhirInteractionKind.Create,
        ResourceType = resource.TypeName,
        Method = "POST",
        Resource = resource,
        BaseUrl = options.FhirBaseUrl,
        RelativeUrl = resource.TypeName,
        User = options.SystemUser,
        CancellationToken = ct,
    };

    /// <summary>Throws the response's error as a <see cref="FhirException"/> unless it succeeded.</summary>
    public static FhirResponse EnsureSuccess(this FhirResponse response)
    {
        if (!response.IsSuccess)
        {
            throw new FhirException(response.StatusCode, response.Resource as OperationOutcome
                ?? FhirResponse.Outcome(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Processing, $"An in-process interaction failed with {(int)response.StatusCode}."));
        }

        return response;
    }

    public static FhirException Unprocessable(string message) => new(HttpStatusCode.UnprocessableEntity, OperationOutcome.IssueType.Processing, message);
}
