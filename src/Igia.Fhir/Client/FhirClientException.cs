using System.Net;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;

namespace Igia.Fhir.Client;

/// <summary>What went wrong in a <see cref="FhirClientException"/>.</summary>
public enum FhirClientErrorKind
{
    /// <summary>The server answered with a non-success status (4xx, 5xx, or 304 to a conditional read); see <see cref="FhirClientException.StatusCode"/> and <see cref="FhirOperationException.Outcome"/>.</summary>
    HttpError,

    /// <summary>No answer within the per-attempt timeout (and no retry was allowed or left), or the overall timeout ran out.</summary>
    Timeout,

    /// <summary>The circuit breaker is open after repeated failures; the request was not sent.</summary>
    CircuitOpen,

    /// <summary>The connection failed or was dropped before a complete response arrived.</summary>
    Transport,

    /// <summary>The server answered, but not with FHIR (for example an HTML page, or a body that does not parse).</summary>
    InvalidResponse,
}

/// <summary>
/// The one exception an <see cref="IgiaFhirClient"/> throws when a FHIR interaction fails: an error status with its
/// <see cref="OperationOutcome"/>, a timeout, an open circuit, a dropped connection or a body that is not FHIR.
/// It derives from Firely's <see cref="FhirOperationException"/>, so existing <c>catch (FhirOperationException)</c> blocks keep working.
/// Cancellation through the caller's token is not an error and surfaces as <see cref="OperationCanceledException"/>.
/// </summary>
public sealed class FhirClientException : FhirOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="kind">What went wrong.</param>
    /// <param name="message">A message naming the problem (never containing resource ids, search values or tokens).</param>
    /// <param name="statusCode">The HTTP status, when the server answered.</param>
    /// <param name="outcome">The OperationOutcome the server returned, if any.</param>
    /// <param name="innerException">The underlying exception, if any.</param>
    public FhirClientException(FhirClientErrorKind kind, string message, HttpStatusCode? statusCode = null, OperationOutcome? outcome = null, Exception? innerException = null)
        : base(message, statusCode ?? 0, outcome!, innerException!)
    {
        Kind = kind;
        StatusCode = statusCode;
    }

    /// <summary>What went wrong.</summary>
    public FhirClientErrorKind Kind { get; }

    /// <summary>The HTTP status the server answered with, or null when no (usable) response arrived. <see cref="FhirOperationException.Status"/> is 0 in that case.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The FHIR interaction that failed (e.g. <c>read</c>, <c>search-type</c>, <c>create</c>), when known.</summary>
    public string? Interaction { get; init; }

    /// <summary>The resource type of the interaction, when known.</summary>
    public string? ResourceType { get; init; }

    /// <summary>How many times the request was sent (1 when it was not retried, 0 when it was never sent).</summary>
    public int Attempts { get; init; }

    /// <summary>The delay the server asked for in <c>Retry-After</c>, or the time until an open circuit is tried again.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The first characters (at most 4 KiB) of a response body that was not FHIR, for diagnostics. Not part of <see cref="Exception.Message"/>.</summary>
    public string? ResponseText { get; init; }
}
