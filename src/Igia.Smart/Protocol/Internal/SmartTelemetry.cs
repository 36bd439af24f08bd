using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Igia.Smart.Protocol.Internal;

/// <summary>The <c>Igia.Smart</c> ActivitySource and Meter. Tags never carry tokens, codes or user data.</summary>
internal sealed class SmartTelemetry
{
    public const string Name = "Igia.Smart";

    public static readonly ActivitySource ActivitySource = new(Name, typeof(SmartTelemetry).Assembly.GetName().Version?.ToString(3));

    public SmartTelemetry(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(new MeterOptions(Name) { Version = typeof(SmartTelemetry).Assembly.GetName().Version?.ToString(3) });
        Launches = meter.CreateCounter<long>("igia.smart.launches", description: "SMART launches started (tags: igia.smart.server, igia.smart.launch_kind).");
        Callbacks = meter.CreateCounter<long>("igia.smart.callbacks", description: "SMART callbacks handled (tags: igia.smart.server, igia.smart.outcome = ok or the failed check).");
        TokenRequests = meter.CreateCounter<long>("igia.smart.token_requests", description: "Token endpoint requests (tags: oauth.grant_type, igia.smart.outcome).");
        TokenRequestDuration = meter.CreateHistogram<double>("igia.smart.token_request.duration", unit: "s", description: "Duration of token endpoint requests.");
    }

    public Counter<long> Launches { get; }

    public Counter<long> Callbacks { get; }

    public Counter<long> TokenRequests { get; }

    public Histogram<double> TokenRequestDuration { get; }
}
