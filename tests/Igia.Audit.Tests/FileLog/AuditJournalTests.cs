using System.Security.Cryptography;
using System.Text;
using Igia.Audit.FileLog;
using Igia.Audit.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Igia.Audit.Tests.FileLog;

/// <summary>The local log: hash chain, group commit, checkpoints, rotation, restart and crash recovery.</summary>
public sealed class AuditJournalTests : IDisposable
{
    private readonly string _folder = TestPaths.NewTempFolder("journal");

    public void Dispose() => TestPaths.TryDelete(_folder);

    [Fact]
    public void Append_Batches_ChainEveryRecordToThePreviousOne()
    {
        TestLogs.Write(TestLogs.Options(_folder, AuditTestHost.SigningKey), 50);

        var (_, lines) = TestLogs.Lines(_folder);
        var prev = new string('0', 64);
        var seq = 0L;
        foreach (var line in lines.Where(l => l.StartsWith("{\"seq\":", StringComparison.Ordinal)))
        {
            Assert.True(LogFormat.TryParseRecord(Encoding.UTF8.GetBytes(line), out var record));
            Assert.Equal(++seq, record.Seq);
            Assert.Equal(prev, Encoding.ASCII.GetString(record.Prev));
            var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(line[..line.LastIndexOf(",\"hash\":\"", StringComparison.Ordinal)])));
            Assert.Equal(expected, Encoding.ASCII.GetString(record.Hash));
            prev = expected;
        }

        Assert.Equal(50, seq);
        var result = AuditLogVerifier.Verify(_folder, [AuditTestHost.SigningKey]);
        Assert.True(result.IsValid, string.Join("\n", result.Problems));
        Assert.Equal(50, result.RecordCount);
        Assert.True(result.VerifiedSignatureCount >= 3, $"{result.VerifiedSignatureCount} signatures");
        Assert.Equal(result.CheckpointCount, result.VerifiedSignatureCount);
    }

    [Fact]
    public void Append_PastMaxFileBytes_RotatesAndKeepsTheChainAcrossFiles()
    {
        TestLogs.Write(TestLogs.Options(_folder, AuditTestHost.SigningKey, maxFileBytes: 64 * 1024), 400);

        var files = LogFormat.ListFiles(_folder);
        Assert.True(files.Length > 2, $"{files.Length} files");
        var records = AuditLogContent.Read(_folder);
        Assert.Equal(Enumerable.Range(1, 400).Select(i => (long)i), records.Select(r => r.Sequence));
        foreach (var file in files)
        {
            Assert.Equal(LogFormat.FirstSeqOf(file), records.First(r => r.File == Path.GetFileName(file)).Sequence);
            Assert.StartsWith("{\"checkpoint\":", File.ReadAllLines(file)[^1]);
        }

        Assert.True(AuditLogVerifier.Verify(_folder, [AuditTestHost.SigningKey]).IsValid);
    }

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Append_PastMaxFileAge_RotatesAndKeepsTheChainAcrossFiles()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = TestLogs.Options(_folder, AuditTestHost.SigningKey, checkpointEvery: 1000);
        options.MaxFileAge = TimeSpan.FromHours(1);
        using (var journal = new AuditJournal(options, time, NullLogger.Instance))
        {
            journal.Open();
            for (var hour = 0; hour < 3; hour++)
            {
                journal.Append(Enumerable.Range(hour * 10 + 1, 10).Select(TestLogs.Record).ToList());
                time.Now = time.Now.AddMinutes(61);
            }
        }

        var files = LogFormat.ListFiles(_folder);
        Assert.Equal(3, files.Length);
        Assert.Equal([1L, 11L, 21L], files.Select(LogFormat.FirstSeqOf));
        var result = AuditLogVerifier.Verify(_folder, [AuditTestHost.SigningKey]);
        Assert.True(result.IsValid, string.Join("\n", result.Problems));
        Assert.Equal(30, result.RecordCount);
        Assert.Equal(3, result.VerifiedSignatureCount);
    }

    [Fact]
    public void Checkpoint_AfterTheInterval_IsWrittenWithTheNextBatchOrWhenDue()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = TestLogs.Options(_folder, AuditTestHost.SigningKey, checkpointEvery: 1000);
        options.CheckpointInterval = TimeSpan.FromMinutes(1);
        using var journal = new AuditJournal(options, time, NullLogger.Instance);
        journal.Open();
        time.Now = time.Now.AddMinutes(5);
        Assert.False(journal.CheckpointDue);

        // The interval has passed: the batch carries a checkpoint.
        journal.Append([TestLogs.Record(1)]);
        Assert.False(journal.CheckpointDue);
        Assert.Equal(1, TestLogs.Lines(_folder).Lines.Count(l => l.StartsWith("{\"checkpoint\":", StringComparison.Ordinal)));

        // Within the interval: none; once it has passed with records uncovered, one is due (the pipeline writes it when idle).
        journal.Append([TestLogs.Record(2)]);
        Assert.False(journal.CheckpointDue);
        time.Now = time.Now.AddSeconds(61);
        Assert.True(journal.CheckpointDue);
        journal.WriteCheckpointNow();
        Assert.False(journal.CheckpointDue);
        Assert.Equal(2, TestLogs.Lines(_folder).Lines.Count(l => l.StartsWith("{\"checkpoint\":", StringComparison.Ordinal)));
    }

    [Fact]
    public void Open_AfterRestart_ContinuesTheChain()
    {
        var options = TestLogs.Options(_folder, AuditTestHost.SigningKey);
        TestLogs.Write(options, 25);
        TestLogs.Write(options, 25, start: 26);

        var records = AuditLogContent.Read(_folder);
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), records.Select(r => r.Sequence));
        Assert.Equal("ev1", records[0].Event.Id);
        Assert.Equal("ev50", records[^1].Event.Id);
        Assert.True(AuditLogVerifier.Verify(_folder, [AuditTestHost.SigningKey]).IsValid);
    }

    [Fact]
    public void Open_AfterCrashInTheMiddleOfAWrite_TrimsTheTornLineAndContinues()
    {
        var options = TestLogs.Options(_folder, AuditTestHost.SigningKey, checkpointEvery: 1000);
        TestLogs.Write(options, 20);
        var (path, _) = TestLogs.Lines(_folder);
        var whole = File.ReadAllBytes(path);
        File.WriteAllBytes(path, [.. whole, .. "{\"seq\":21,\"prev\":\"0123"u8.ToArray()]);

        TestLogs.Write(options, 5, start: 21);

        var result = AuditLogVerifier.Verify(_folder, [AuditTestHost.SigningKey]);
        Assert.True(result.IsValid, string.Join("\n", result.Problems));
        Assert.Equal(25, result.LastSequence);
    }

    [Fact]
    public void Open_FolderInUse_Throws()
    {
        using var first = new AuditJournal(TestLogs.Options(_folder), TimeProvider.System, NullLogger.Instance);
        first.Open();
        using var second = new AuditJournal(TestLogs.Options(_folder), TimeProvider.System, NullLogger.Instance);

        var e = Assert.Throws<InvalidOperationException>(second.Open);
        Assert.Contains("in use", e.Message);
    }

    [Fact]
    public void Open_TailChangedWhileStopped_StillReportsTheAlteredRecord()
    {
        var options = TestLogs.Options(_folder, AuditTestHost.SigningKey, checkpointEvery: 10);
        TestLogs.Write(options, 15, batch: 15);
        var (path, lines) = TestLogs.Lines(_folder);
        // Records 11-15 come after the last checkpoint (written with record 10... then 15 at close). Remove the closing checkpoint
        // and alter record 14, as if changed while the process was down.
        lines.RemoveAt(lines.Count - 1);
        var i = TestLogs.IndexOf(lines, 14);
        lines[i] = lines[i].Replace("dr-14", "dr-99", StringComparison.Ordinal);
        TestLogs.WriteLines(path, lines);

        TestLogs.Write(options, 1, start: 16);

        var result = AuditLogVerifier.Verify(_folder, [AuditTestHost.SigningKey]);
        var problem = Assert.Single(result.Problems);
        Assert.Equal(AuditProblemKind.Altered, problem.Kind);
        Assert.Equal(14, problem.Sequence);
    }
}
