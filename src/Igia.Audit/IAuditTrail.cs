using Hl7.Fhir.Model;

namespace Igia.Audit;

/// <summary>
/// Records AuditEvents in the audit trail. FHIR interactions are captured automatically; use this for security events
/// (authentication, authorization, tokens, login and logout — e.g. from a SMART authorization server) and for any other
/// auditable event of the application. Registered by <c>AddIgiaAudit</c>.
/// </summary>
public interface IAuditTrail
{
    /// <summary>
    /// Records <paramref name="auditEvent"/>. A missing <c>id</c>, <c>recorded</c> or <c>source</c> is filled in. In
    /// <see cref="AuditDurability.Guaranteed"/> mode this completes when the record is durable and throws
    /// <see cref="AuditUnavailableException"/> when it cannot be written; otherwise when it is queued.
    /// </summary>
    ValueTask RecordAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default);

    /// <summary>Builds the AuditEvent for <paramref name="securityEvent"/> (see <see cref="SecurityEventKind"/>) and records it.</summary>
    ValueTask RecordAsync(SecurityEvent securityEvent, CancellationToken cancellationToken = default);
}

/// <summary>Thrown when an audit record could not be made durable (guaranteed mode), so the action it describes must not be confirmed.</summary>
public sealed class AuditUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AuditUnavailableException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
