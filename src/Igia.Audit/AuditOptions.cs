using System.ComponentModel.DataAnnotations;

namespace Igia.Audit;

/// <summary>Settings of the audit trail, validated at start-up.</summary>
public sealed class AuditOptions
{
    /// <summary>
    /// When a response is released relative to its audit record. The default, <see cref="AuditDurability.Guaranteed"/>,
    /// holds every audited response until its record is on disk (fsync).
    /// </summary>
    public AuditDurability Durability { get; set; } = AuditDurability.Guaranteed;

    /// <summary>
    /// The identity of this server in every AuditEvent (<c>source.observer</c> and the server agent), for example
    /// <c>ehr-fhir-01</c>. When null, <c>{ApplicationName}@{MachineName}</c> is used.
    /// </summary>
    [StringLength(200, MinimumLength = 1)]
    public string? SourceId { get; set; }

    /// <summary>The enterprise site (<c>source.site</c>), e.g. the hospital or tenant name. Optional.</summary>
    [StringLength(200)]
    public string? Site { get; set; }

    /// <summary>Whether <c>GET /metadata</c> is audited. It carries no patient data, so it is not by default.</summary>
    public bool AuditCapabilities { get; set; }

    /// <summary>
    /// The request header whose value is recorded as the transaction entity (BALP <c>XrequestId</c>). When the client
    /// sends none, one is generated and returned in the response header of the same name.
    /// </summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9-]{1,64}$")]
    public string RequestIdHeader { get; set; } = "X-Request-Id";

    /// <summary>
    /// Whether a delete (or a write answered without a body) looks the resource up in the store to learn which
    /// patient it belonged to, so that the record is a PatientDelete/PatientUpdate. One extra read per such write.
    /// </summary>
    public bool ResolvePatientOfWrites { get; set; } = true;

    /// <summary>How many records may wait for the writer; beyond it, capture waits (back-pressure), nothing is dropped.</summary>
    [Range(64, 10_000_000)]
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>The most records written with one fsync (group commit).</summary>
    [Range(1, 100_000)]
    public int MaxBatchSize { get; set; } = 1024;

    /// <summary>
    /// In guaranteed mode, how long a response waits for its record to become durable before the request fails with 503.
    /// </summary>
    public TimeSpan DurableWriteTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest pause between retries of a sink that fails (FHIR store, syslog, custom); retries start at 100 ms and double.</summary>
    public TimeSpan SinkRetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>What is masked in text logs and syslog ("datamask").</summary>
    public AuditMaskingOptions Masking { get; } = new();
}

/// <summary>When a response is released relative to its audit record.</summary>
public enum AuditDurability
{
    /// <summary>
    /// A response is released only after its audit record is durable in the local log (fsync). If the record cannot be
    /// written, the request fails with 503. The default.
    /// </summary>
    Guaranteed,

    /// <summary>
    /// Records are queued and written in the background (still in order, still never dropped: when the log cannot be
    /// written they wait in the bounded queue and are retried). A crash may lose the records of the last moments.
    /// </summary>
    Buffered,
}

/// <summary>
/// Masking rules for what leaves the protected audit stores (the local log and the FHIR store keep full records):
/// text logs and syslog. By default no names, birth dates, free text, search values or tokens leave.
/// </summary>
public sealed class AuditMaskingOptions
{
    /// <summary>
    /// Search parameters whose values are kept (names compared without modifiers, e.g. <c>patient:Patient</c> is
    /// <c>patient</c>); the values of all others are replaced by <c>***</c>. Holds ids, paging and control parameters by default.
    /// </summary>
    public ISet<string> AllowedSearchParameters { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "_id", "_count", "_sort", "_include", "_revinclude", "_summary", "_elements", "_total", "_format", "_pretty",
        "_lastUpdated", "_since", "_at", "_type", "_offset", "patient", "subject", "encounter", "status", "category",
    };

    /// <summary>Whether display texts and names (of people and of entities) are kept. Off by default.</summary>
    public bool KeepNames { get; set; }

    /// <summary>Whether free text (outcome descriptions, entity descriptions and details) is kept. Off by default.</summary>
    public bool KeepFreeText { get; set; }
}
