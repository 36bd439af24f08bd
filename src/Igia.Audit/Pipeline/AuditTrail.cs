using Hl7.Fhir.Model;
using Igia.Audit.Capture;
using Igia.Audit.Internal;
using Microsoft.Extensions.Options;

namespace Igia.Audit.Pipeline;

/// <summary>Serialises captured AuditEvents, queues them, and (guaranteed mode) waits until they are durable.</summary>
internal sealed class AuditTrail(AuditPipeline pipeline, AuditEventFactory factory, IOptions<AuditOptions> options) : IAuditTrail
{
    private readonly AuditOptions _options = options.Value;

    public bool Guaranteed => _options.Durability == AuditDurability.Guaranteed;

    public AuditEventFactory Factory => factory;

    /// <summary>Null while records can be written; otherwise the reason they cannot.</summary>
    public string? Failure => pipeline.Failure;

    public ValueTask RecordAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        factory.Complete(auditEvent);
        return SubmitAsync([auditEvent], Guaranteed, cancellationToken, known: false);
    }

    public ValueTask RecordAsync(SecurityEvent securityEvent, CancellationToken cancellationToken = default) =>
        SubmitAsync([factory.ForSecurityEvent(securityEvent)], Guaranteed, cancellationToken);

    /// <summary>
    /// Queues <paramref name="events"/> in order; when <paramref name="waitDurable"/>, completes once all are durable and
    /// throws <see cref="AuditUnavailableException"/> if they cannot be made durable in time. Cancelling stops the wait,
    /// never the record: a queued record is written. <paramref name="known"/>: the events were built by the factory
    /// (see <see cref="AuditEventJson.Serialize"/>); false for an application's own AuditEvent.
    /// </summary>
    public ValueTask SubmitAsync(IReadOnlyList<AuditEvent> events, bool waitDurable, CancellationToken cancellationToken, bool known = true)
    {
        if (events.Count == 0)
        {
            return default;
        }

        var records = new byte[events.Count][];
        for (var i = 0; i < records.Length; i++)
        {
            records[i] = AuditEventJson.Serialize(events[i], known);
        }

        return SubmitJsonAsync(records, waitDurable, cancellationToken);
    }

    /// <summary>Like <see cref="SubmitAsync"/>, for events already serialised (FHIR JSON, UTF-8, one line each).</summary>
    public async ValueTask SubmitJsonAsync(IReadOnlyList<byte[]> events, bool waitDurable, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return;
        }

        PendingRecord? last = null;
        List<Task>? waits = null;
        foreach (var json in events)
        {
            var record = new PendingRecord(json, waitDurable);
            await pipeline.EnqueueAsync(record).ConfigureAwait(false);
            if (record.Durable is not null)
            {
                if (last?.Durable is not null)
                {
                    (waits ??= []).Add(last.Durable.Task);
                }

                last = record;
            }
        }

        if (last?.Durable is null)
        {
            return;
        }

        var all = waits is null ? last.Durable.Task : Task.WhenAll([.. waits, last.Durable.Task]);
        try
        {
            await all.WaitAsync(_options.DurableWriteTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw new AuditUnavailableException("The audit record was not made durable in time.", e);
        }
    }
}
