using System.Net;
using Hl7.Fhir.Model;

namespace Igia.Terminology;

/// <summary>
/// A terminology operation failed in a way that is an answer, not a crash: an unknown value set, malformed parameters, an
/// expansion too large, a remote server error. Carries the HTTP status and the OperationOutcome a FHIR server returns for it.
/// </summary>
public sealed class TerminologyOperationException : Hl7.Fhir.Rest.FhirOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong (also in the outcome).</param>
    /// <param name="status">The HTTP status that fits.</param>
    /// <param name="outcome">The OperationOutcome describing it.</param>
    public TerminologyOperationException(string message, HttpStatusCode status, OperationOutcome outcome)
        : base(message, status, outcome)
    {
    }
}
