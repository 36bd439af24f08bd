using Hl7.Fhir.Model;
using Igia.Audit.Internal;

namespace Igia.Audit;

/// <summary>
/// One durable record of the audit log as a sink receives it: its place in the hash chain and its AuditEvent.
/// Records reach every sink in <see cref="Sequence"/> order.
/// </summary>
public sealed class AuditRecord
{
    private AuditEvent? _event;

    internal AuditRecord(long sequence, string hash, ReadOnlyMemory<byte> json, AuditEvent? auditEvent)
    {
        Sequence = sequence;
        Hash = hash;
        Json = json;
        _event = auditEvent;
    }

    /// <summary>The record's position in the log, from 1, without gaps.</summary>
    public long Sequence { get; }

    /// <summary>The record's chain hash (SHA-256, lower-case hex).</summary>
    public string Hash { get; }

    /// <summary>The AuditEvent as FHIR JSON (UTF-8), exactly as stored in the log.</summary>
    public ReadOnlyMemory<byte> Json { get; }

    /// <summary>The AuditEvent. Treat it as read-only: the same instance may be handed to several sinks.</summary>
    public AuditEvent Event => _event ??= FhirJson.ParseAuditEvent(Json.Span);
}
