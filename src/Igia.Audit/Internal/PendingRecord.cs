namespace Igia.Audit.Internal;

/// <summary>A captured AuditEvent on its way to the local log.</summary>
/// <remarks>It holds only the JSON: the AuditEvent object is left to die young (a record may wait milliseconds for its fsync).</remarks>
internal sealed class PendingRecord(byte[] json, bool awaitDurable)
{
    /// <summary>The AuditEvent as FHIR JSON (UTF-8, one line).</summary>
    public byte[] Json { get; } = json;

    /// <summary>
    /// Completed when the record is durable; faulted when writing it failed. Null when nobody waits. Its continuations run
    /// synchronously: the pipeline completes it on a thread-pool thread, never on a writer thread (see
    /// <c>AuditPipeline.Release</c>).
    /// </summary>
    public TaskCompletionSource? Durable { get; } = awaitDurable ? new TaskCompletionSource() : null;

    /// <summary>Assigned by the journal.</summary>
    public long Sequence { get; set; }

    /// <summary>Assigned by the journal.</summary>
    public string? Hash { get; set; }
}
