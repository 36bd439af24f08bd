using Hl7.Fhir.Model;

namespace Igia.Audit.Internal;

/// <summary>A captured AuditEvent on its way to the local log.</summary>
internal sealed class PendingRecord(byte[] json, AuditEvent? auditEvent, bool awaitDurable)
{
    /// <summary>The AuditEvent as FHIR JSON (UTF-8, one line).</summary>
    public byte[] Json { get; } = json;

    /// <summary>The AuditEvent object, when the capture has it (saves sinks a parse).</summary>
    public AuditEvent? Event { get; } = auditEvent;

    /// <summary>Completed when the record is durable; faulted when writing it failed. Null when nobody waits.</summary>
    public TaskCompletionSource? Durable { get; } = awaitDurable ? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) : null;

    /// <summary>Assigned by the journal.</summary>
    public long Sequence { get; set; }

    /// <summary>Assigned by the journal.</summary>
    public string? Hash { get; set; }
}
