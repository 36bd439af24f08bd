using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Igia.Audit.Pipeline;

/// <summary>Traces and metrics of the audit pipeline, named after the package (<c>Igia.Audit</c>).</summary>
internal sealed class AuditTelemetry : IDisposable
{
    /// <summary>Traces: one span per group-commit batch and per sink delivery.</summary>
    public static readonly ActivitySource ActivitySource = new("Igia.Audit");

    private readonly Meter _meter;

    public AuditTelemetry(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create("Igia.Audit") ?? new Meter("Igia.Audit");
        RecordsWritten = _meter.CreateCounter<long>("igia.audit.records.written", "{record}", "Audit records made durable in the local log.");
        WriteFailures = _meter.CreateCounter<long>("igia.audit.write.failures", "{failure}", "Failed attempts to write a batch to the local log.");
        BatchSize = _meter.CreateHistogram<int>("igia.audit.batch.size", "{record}", "Records per group commit (one fsync).");
        SinkDelivered = _meter.CreateCounter<long>("igia.audit.sink.delivered", "{record}", "Records delivered to a sink.");
        SinkFailures = _meter.CreateCounter<long>("igia.audit.sink.failures", "{failure}", "Failed deliveries to a sink (retried).");
    }

    public Counter<long> RecordsWritten { get; }

    public Counter<long> WriteFailures { get; }

    public Histogram<int> BatchSize { get; }

    public Counter<long> SinkDelivered { get; }

    public Counter<long> SinkFailures { get; }

    /// <summary>Registers the gauges that read live state.</summary>
    public void ObserveQueue(Func<int> queueLength, Func<IEnumerable<Measurement<long>>> sinkLag)
    {
        _meter.CreateObservableGauge("igia.audit.queue.length", queueLength, "{record}", "Records waiting for the writer.");
        _meter.CreateObservableGauge("igia.audit.sink.lag", sinkLag, "{record}", "Durable records not yet delivered to a sink.");
    }

    public void Dispose() => _meter.Dispose();
}
