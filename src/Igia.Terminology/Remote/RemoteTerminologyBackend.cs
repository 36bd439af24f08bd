using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Client;
using Igia.Terminology.Internal;

namespace Igia.Terminology.Remote;

/// <summary>
/// A remote FHIR terminology server reached through an Igia FHIR client (retries of these read-only operations, timeouts, a
/// circuit breaker, access tokens, traces). Its answers are returned as they are; its errors become
/// <see cref="TerminologyOperationException"/>s with the server's status and OperationOutcome, and a server that cannot be
/// reached gives 502/503/504 (which the router may answer locally instead).
/// </summary>
internal sealed class RemoteTerminologyBackend(string name, string clientName, IIgiaFhirClientFactory clients) : ITerminologyBackend
{
    public string Name => name;

    public string ClientName => clientName;

    public async Task<Resource> ExecuteAsync(TerminologyOperation operation, Parameters parameters, TerminologyCallContext context, CancellationToken cancellationToken)
    {
        var (resourceType, op) = Endpoint(operation);
        var input = parameters;
        if (context.AcceptLanguage is { } language && !parameters.Parameter.Any(p => p.Name == "displayLanguage"))
        {
            // The client sends no per-request headers: the caller's Accept-Language travels as displayLanguage.
            input = (Parameters)parameters.DeepCopy();
            input.Add("displayLanguage", new Code(language));
        }

        using var client = clients.CreateClient(clientName);
        try
        {
            return await client.InvokeOperationAsync(op, input, resourceType, context.Id, useGet: false, cancellationToken).ConfigureAwait(false)
                ?? throw Failure(HttpStatusCode.BadGateway, OperationOutcome.IssueType.Exception, $"The terminology server '{name}' returned nothing for ${op}.");
        }
        catch (FhirClientException e) when (e.Kind == FhirClientErrorKind.HttpError && e.StatusCode is { } status && (int)status is >= 400 and < 500)
        {
            throw new TerminologyOperationException(e.Message, status, e.Outcome ?? Outcome(OperationOutcome.IssueType.Processing, e.Message));
        }
        catch (FhirClientException e)
        {
            var status = e.Kind switch
            {
                FhirClientErrorKind.Timeout => HttpStatusCode.GatewayTimeout,
                FhirClientErrorKind.CircuitOpen => HttpStatusCode.ServiceUnavailable,
                _ => HttpStatusCode.BadGateway,
            };
            throw Failure(status, OperationOutcome.IssueType.Transient, $"The terminology server '{name}' failed: {e.Message}");
        }
    }

    /// <summary>The resource type and operation name of each terminology operation.</summary>
    internal static (string ResourceType, string Operation) Endpoint(TerminologyOperation operation) => operation switch
    {
        TerminologyOperation.Expand => ("ValueSet", "expand"),
        TerminologyOperation.ValidateCode => ("ValueSet", "validate-code"),
        TerminologyOperation.CodeSystemValidateCode => ("CodeSystem", "validate-code"),
        TerminologyOperation.Lookup => ("CodeSystem", "lookup"),
        TerminologyOperation.Subsumes => ("CodeSystem", "subsumes"),
        TerminologyOperation.Translate => ("ConceptMap", "translate"),
        TerminologyOperation.BatchValidateCode => ("ValueSet", "batch-validate-code"),
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, "Unknown terminology operation."),
    };

    private static TerminologyOperationException Failure(HttpStatusCode status, OperationOutcome.IssueType type, string message) =>
        new(message, status, Outcome(type, message));

    private static OperationOutcome Outcome(OperationOutcome.IssueType type, string message) => new()
    {
        Issue = [new OperationOutcome.IssueComponent { Severity = OperationOutcome.IssueSeverity.Error, Code = type, Details = new CodeableConcept { Text = message } }],
    };
}
