using System.Text;
using Hl7.Fhir.Model;
using Igia.Audit.FileLog;
using Igia.Audit.Internal;
using Microsoft.Extensions.Logging.Abstractions;

namespace Igia.Audit.Tests.FileLog;

/// <summary>Writes local audit logs with the real journal, for the log and verifier tests.</summary>
internal static class TestLogs
{
    public static FileAuditLogOptions Options(string folder, AuditSigningKey? key = null, int checkpointEvery = 10, long maxFileBytes = 64L * 1024 * 1024) => new()
    {
        Folder = folder,
        SigningKey = key,
        CheckpointEveryRecords = checkpointEvery,
        MaxFileBytes = maxFileBytes,
        CheckpointInterval = TimeSpan.FromHours(1),
    };

    public static PendingRecord Record(int n) =>
        new(FhirJson.Serialize(new AuditEvent
        {
            Id = "ev" + n,
            Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest"),
            Action = AuditEvent.AuditEventAction.R,
            Recorded = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(n),
            Outcome = AuditEvent.AuditEventOutcome.N0,
            Agent = [new AuditEvent.AgentComponent { Who = new ResourceReference("Practitioner/dr-" + n), Requestor = true }],
            Source = new AuditEvent.SourceComponent { Observer = new ResourceReference { Display = "test" } },
            Entity = [new AuditEvent.EntityComponent { What = new ResourceReference("Patient/p" + n) }],
        }), awaitDurable: false);

    /// <summary>Writes <paramref name="count"/> records in batches of <paramref name="batch"/>, then closes the log.</summary>
    public static void Write(FileAuditLogOptions options, int count, int batch = 7, int start = 1)
    {
        using var journal = new AuditJournal(options, TimeProvider.System, NullLogger.Instance);
        journal.Open();
        for (var i = start; i < start + count; i += batch)
        {
            journal.Append(Enumerable.Range(i, Math.Min(batch, start + count - i)).Select(Record).ToList());
        }
    }

    /// <summary>The lines of the only (or given) log file.</summary>
    public static (string Path, List<string> Lines) Lines(string folder, int file = 0)
    {
        var path = LogFormat.ListFiles(folder)[file];
        var text = File.ReadAllText(path, Encoding.UTF8);
        return (path, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList());
    }

    public static void WriteLines(string path, IEnumerable<string> lines) =>
        File.WriteAllText(path, string.Concat(lines.Select(l => l + "\n")), new UTF8Encoding(false));

    /// <summary>The 0-based index of the line holding record <paramref name="seq"/>.</summary>
    public static int IndexOf(List<string> lines, long seq) => lines.FindIndex(l => l.StartsWith($"{{\"seq\":{seq},", StringComparison.Ordinal));
}
