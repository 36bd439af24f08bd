using System.ComponentModel.DataAnnotations;
using Hl7.Fhir.Rest;

namespace Igia.Fhir.Client;

/// <summary>Settings of one named FHIR client, validated at start-up.</summary>
public sealed class IgiaFhirClientOptions
{
    /// <summary>The FHIR base URL, absolute http(s), e.g. <c>https://ehr.example.org/fhir</c>. Required.</summary>
    [Required]
    public Uri? BaseUrl { get; set; }

    /// <summary>The wire format: JSON (the default, unlike Firely's XML) or XML.</summary>
    public ResourceFormat Format { get; set; } = ResourceFormat.Json;

    /// <summary>
    /// The <c>Prefer: return=</c> sent with create, update, patch and transaction: the full resource (the default),
    /// nothing (<see cref="ReturnPreference.Minimal"/>) or an OperationOutcome. Null sends no <c>Prefer</c> header.
    /// </summary>
    public ReturnPreference? PreferReturn { get; set; } = ReturnPreference.Representation;

    /// <summary>
    /// When true, the searches started by <see cref="IgiaFhirClient.SearchAllAsync{TResource}(SearchParams?, CancellationToken)"/> and
    /// <see cref="IgiaFhirClient.SearchPagesAsync{TResource}(SearchParams?, CancellationToken)"/> are sent as <c>POST [type]/_search</c>
    /// with form-encoded parameters, which keeps search values (often PHI) out of URLs and access logs. Default false.
    /// </summary>
    public bool SearchUsingPost { get; set; }

    /// <summary>How long one attempt may take, from sending the request to reading the whole response body. Default 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an interaction may take in total, including every retry and the waits between them. Default 100 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>How many times <see cref="IgiaFhirClient.UpdateWithRetryAsync{TResource}(string, Action{TResource}, CancellationToken)"/> re-reads and re-applies its change after a version conflict (412/409) before giving up. Default 5.</summary>
    [Range(1, 100)]
    public int MaxUpdateAttempts { get; set; } = 5;

    /// <summary>The <c>User-Agent</c> sent with each request.</summary>
    [Required(AllowEmptyStrings = false)]
    public string UserAgent { get; set; } = "Igia.Fhir.Client/" + (typeof(IgiaFhirClientOptions).Assembly.GetName().Version?.ToString(3) ?? "0");

    /// <summary>Retries of requests that are safe to repeat.</summary>
    public FhirClientRetryOptions Retry { get; } = new();

    /// <summary>The circuit breaker shared by every request of this named client.</summary>
    public FhirClientCircuitBreakerOptions CircuitBreaker { get; } = new();

    /// <summary>
    /// Optional last word on Firely's <see cref="FhirClientSettings"/> of every client created (e.g. a different
    /// <see cref="FhirClientSettings.SerializationEngine"/>). Runs after the settings above are applied.
    /// </summary>
    public Action<FhirClientSettings>? ConfigureSettings { get; set; }
}

/// <summary>
/// Retries of requests that are safe to repeat: GET and HEAD, <c>POST _search</c>, <c>PUT</c> and <c>PATCH</c> with
/// <c>If-Match</c>, <c>POST</c> create with <c>If-None-Exist</c>, <c>DELETE</c> of one id (unless
/// <see cref="RetryDeletes"/> is off) and the side-effect-free operations in <see cref="SafeOperations"/>.
/// A plain <c>POST</c> create, a batch or transaction, a conditional delete and any other operation are never retried.
/// </summary>
public sealed class FhirClientRetryOptions
{
    /// <summary>Whether safe requests are retried at all. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Retries after the first attempt. Default 3.</summary>
    [Range(0, 20)]
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>The first back-off delay; later ones grow exponentially, with jitter. Default 1 second.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest back-off delay. Default 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The longest <c>Retry-After</c> (seconds or an HTTP date) the client will wait for. When the server asks for longer,
    /// the client does not retry and throws, with the requested delay in <see cref="FhirClientException.RetryAfter"/>. Default 30 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether <c>DELETE [type]/[id]</c> is retried (deleting twice leaves the same state). Default true.</summary>
    public bool RetryDeletes { get; set; } = true;

    /// <summary>
    /// Operations (names without <c>$</c>) that change nothing, so a <c>POST</c> to them may be retried.
    /// Default: validate, everything, expand, lookup, validate-code, translate, subsumes, meta.
    /// </summary>
    public ISet<string> SafeOperations { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "validate", "everything", "expand", "lookup", "validate-code", "translate", "subsumes", "meta",
    };
}

/// <summary>The circuit breaker: after too many transient failures it stops sending for a while and fails fast.</summary>
public sealed class FhirClientCircuitBreakerOptions
{
    /// <summary>Whether the circuit breaker is used. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The share of failed attempts within <see cref="SamplingDuration"/> that opens the circuit. Default 0.5.</summary>
    [Range(0.01, 1.0)]
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>The fewest attempts within <see cref="SamplingDuration"/> before the ratio is considered. Default 20.</summary>
    [Range(2, int.MaxValue)]
    public int MinimumThroughput { get; set; } = 20;

    /// <summary>The window over which failures are counted. Default 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "1.00:00:00")]
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the circuit stays open before one trial request is let through. Default 5 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "1.00:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);
}
