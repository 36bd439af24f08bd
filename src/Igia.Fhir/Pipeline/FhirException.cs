using System.Net;
using Hl7.Fhir.Model;

namespace Igia.Fhir.Pipeline;

/// <summary>
/// Thrown anywhere on the server side of the pipeline to end an interaction with an HTTP status and an
/// OperationOutcome. The message must not contain PHI: it is returned to the client and may be logged.
/// </summary>
public class FhirException : Exception
{
    /// <summary>Creates the exception with one error issue.</summary>
    public FhirException(HttpStatusCode status, OperationOutcome.IssueType code, string message)
        : base(message)
    {
        StatusCode = status;
        Outcome = FhirResponse.Outcome(OperationOutcome.IssueSeverity.Error, code, message);
    }

    /// <summary>Creates the exception with a full OperationOutcome.</summary>
    public FhirException(HttpStatusCode status, OperationOutcome outcome)
        : base(outcome.Issue.FirstOrDefault()?.Diagnostics ?? status.ToString())
    {
        StatusCode = status;
        Outcome = outcome;
    }

    /// <summary>The HTTP status to answer with.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The OperationOutcome to answer with.</summary>
    public OperationOutcome Outcome { get; }

    /// <summary>400 Bad Request, issue code invalid.</summary>
    public static FhirException BadRequest(string message) => new(HttpStatusCode.BadRequest, OperationOutcome.IssueType.Invalid, message);

    /// <summary>404 Not Found.</summary>
    public static FhirException NotFound(string message) => new(HttpStatusCode.NotFound, OperationOutcome.IssueType.NotFound, message);
}
