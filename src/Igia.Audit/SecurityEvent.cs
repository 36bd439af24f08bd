using System.Security.Claims;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;

namespace Igia.Audit;

/// <summary>The security events the audit trail knows how to record.</summary>
public enum SecurityEventKind
{
    /// <summary>A caller failed to authenticate (bad, expired or missing credentials): DICOM 110113 Security Alert, subtype 110126 Node Authentication.</summary>
    AuthenticationFailure,

    /// <summary>An authenticated caller was refused: DICOM 110113 Security Alert, subtype 110132 Use of Restricted Function.</summary>
    AuthorizationDenied,

    /// <summary>An access token was issued (or refused): DICOM 110114 User Authentication, subtype IHE ITI-71 (profile IHE.IUA.71 on success).</summary>
    TokenIssued,

    /// <summary>A user logged in (or failed to): DICOM 110114 User Authentication, subtype 110122 Login.</summary>
    Login,

    /// <summary>A user logged out: DICOM 110114 User Authentication, subtype 110123 Logout.</summary>
    Logout,
}

/// <summary>
/// A security event to record through <see cref="IAuditTrail.RecordAsync(SecurityEvent, CancellationToken)"/>. Nothing
/// here may hold a secret: no passwords, codes, client secrets or tokens (a token's <c>jti</c> is fine).
/// </summary>
public sealed class SecurityEvent
{
    /// <summary>What happened.</summary>
    public required SecurityEventKind Kind { get; init; }

    /// <summary>
    /// Whether the action succeeded (a login, a token issued). Authentication failures and authorization denials are
    /// always recorded as failures (outcome 4).
    /// </summary>
    public bool Success { get; init; } = true;

    /// <summary>The user, when known: <c>sub</c>, <c>fhirUser</c>, <c>client_id</c>/<c>azp</c> and <c>jti</c> are read from it.</summary>
    public ClaimsPrincipal? User { get; init; }

    /// <summary>The user's id when there is no principal (e.g. the login name that failed to log in).</summary>
    public string? UserId { get; init; }

    /// <summary>The OAuth client id, when not in <see cref="User"/>.</summary>
    public string? ClientId { get; init; }

    /// <summary>The HTTP request, for the client's address and the request id.</summary>
    public HttpContext? HttpContext { get; init; }

    /// <summary>The patient concerned, if any (a logical id, e.g. the launch context patient).</summary>
    public string? PatientId { get; init; }

    /// <summary>A short reason or description without PHI or secrets (recorded as <c>outcomeDesc</c>).</summary>
    public string? Description { get; init; }

    /// <summary>
    /// For <see cref="SecurityEventKind.TokenIssued"/>: the token request, sanitised — e.g. <c>grant_type=authorization_code&amp;scope=…</c>,
    /// never a code, secret or assertion. Recorded (base64) as the token-request entity's query.
    /// </summary>
    public string? TokenRequest { get; init; }

    /// <summary>Overrides the outcome derived from <see cref="Success"/> and <see cref="Kind"/>.</summary>
    public AuditEvent.AuditEventOutcome? Outcome { get; init; }
}
