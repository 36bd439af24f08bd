using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Igia.Fhir.Client.Internal;

/// <summary>
/// The client's traces and metrics. One <see cref="Activity"/> per FHIR interaction and the instruments below, all
/// tagged with the interaction and resource type only — never ids, search values, URLs or tokens.
/// </summary>
internal sealed class FhirClientTelemetry : IDisposable
{
    /// <summary>The name of the ActivitySource and the Meter.</summary>
    public const string Name = "Igia.Fhir.Client";

    /// <summary>Tag names.</summary>
    public const string ClientTag = "fhir.client.name";
    public const string InteractionTag = "fhir.interaction";
    public const string ResourceTypeTag = "fhir.resource_type";
    public const string OperationTag = "fhir.operation";
    public const string StatusCodeTag = "http.response.status_code";
    public const string ErrorTypeTag = "error.type";
    public const string AttemptsTag = "fhir.attempts";
    public const string ReasonTag = "fhir.retry.reason";

    public static readonly ActivitySource ActivitySource = new(Name, typeof(FhirClientTelemetry).Assembly.GetName().Version?.ToString(3));

    private readonly Meter _meter;

    public FhirClientTelemetry(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(new MeterOptions(Name) { Version = typeof(FhirClientTelemetry).Assembly.GetName().Version?.ToString(3) });
        Requests = _meter.CreateCounter<long>("igia.fhir.client.requests", "{request}", "FHIR interactions completed, by interaction, resource type and outcome.");
        Duration = _meter.CreateHistogram<double>("igia.fhir.client.request.duration", "s", "Duration of FHIR interactions, including retries.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60] });
        Retries = _meter.CreateCounter<long>("igia.fhir.client.retries", "{retry}", "Retries of FHIR requests, by interaction, resource type and reason.");
        TokenRefreshes = _meter.CreateCounter<long>("igia.fhir.client.token_refreshes", "{refresh}", "Access tokens refreshed after the server answered 401.");
    }

    public Counter<long> Requests { get; }

    public Histogram<double> Duration { get; }

    public Counter<long> Retries { get; }

    public Counter<long> TokenRefreshes { get; }

    public void Dispose() => _meter.Dispose();
}
