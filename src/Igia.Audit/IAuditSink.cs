namespace Igia.Audit;

/// <summary>
/// A destination that receives the audit log's records after they are durable locally (a remote repository, a SIEM).
/// Records are delivered in order, in batches; a batch that throws is retried (from the local log, across restarts)
/// until it succeeds, so <see cref="WriteAsync"/> must be idempotent for a batch it may have partly delivered.
/// Register one with <c>AddIgiaAudit().AddSink&lt;T&gt;()</c>.
/// </summary>
public interface IAuditSink
{
    /// <summary>A unique, stable name (letters, digits, '-', '_'): it names the sink's delivery cursor in the log folder.</summary>
    string Name { get; }

    /// <summary>Delivers <paramref name="records"/> (consecutive, in sequence order). Throw to have the batch retried.</summary>
    ValueTask WriteAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken);
}
