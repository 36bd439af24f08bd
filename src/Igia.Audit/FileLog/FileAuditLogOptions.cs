using System.ComponentModel.DataAnnotations;

namespace Igia.Audit.FileLog;

/// <summary>
/// Settings of the local audit log: append-only JSON-lines files, hash-chained, with signed checkpoints, rotated by
/// size and age. It is the journal every other sink is fed from, so it is always on.
/// </summary>
public sealed class FileAuditLogOptions
{
    /// <summary>The folder holding the log files (created if missing). One process writes a folder at a time.</summary>
    [Required]
    public string Folder { get; set; } = Path.Combine("data", "audit");

    /// <summary>A file is closed (with a checkpoint) and a new one started when it reaches this size.</summary>
    [Range(64 * 1024, long.MaxValue)]
    public long MaxFileBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>A file is closed (with a checkpoint) and a new one started when it is this old.</summary>
    public TimeSpan MaxFileAge { get; set; } = TimeSpan.FromDays(1);

    /// <summary>A signed checkpoint is written after this many records.</summary>
    [Range(1, int.MaxValue)]
    public int CheckpointEveryRecords { get; set; } = 10_000;

    /// <summary>A signed checkpoint is written at least this often while records arrive (and on rotation and shutdown).</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The key checkpoints are signed with (HMAC-SHA256 or ECDSA P-256). Without one, checkpoints carry the chain hash
    /// unsigned, a warning is logged at start-up, and a rewrite of the whole chain cannot be detected.
    /// </summary>
    public AuditSigningKey? SigningKey { get; set; }

    /// <summary>
    /// Whether each batch is forced to disk (fsync) before its records count as durable. Only turn this off where losing
    /// the last records on power loss is acceptable (tests, benchmarks of the rest of the pipeline).
    /// </summary>
    public bool FlushToDisk { get; set; } = true;
}
