using System.Security.Cryptography;
using System.Text;
using Igia.Audit.FileLog;
using Igia.Audit.Tests.Infrastructure;

namespace Igia.Audit.Tests.FileLog;

/// <summary>
/// Tamper tests: altering, deleting, inserting or swapping one record, rewriting the chain, forging a checkpoint or
/// removing a file makes the verifier fail at that record, with its file, line and sequence number.
/// </summary>
public sealed class AuditLogVerifierTests : IDisposable
{
    private readonly string _folder = TestPaths.NewTempFolder("verify");

    public AuditLogVerifierTests() => TestLogs.Write(TestLogs.Options(_folder, AuditTestHost.SigningKey, checkpointEvery: 10), 40, batch: 1);

    public void Dispose() => TestPaths.TryDelete(_folder);

    private AuditVerificationResult Verify() => AuditLogVerifier.Verify(_folder, [AuditTestHost.SigningKey]);

    [Fact]
    public void Verify_UntouchedLog_IsValid()
    {
        var result = Verify();

        Assert.True(result.IsValid, string.Join("\n", result.Problems));
        Assert.Equal(40, result.RecordCount);
        Assert.Equal((1, 40), (result.FirstSequence, result.LastSequence));
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Verify_RecordAltered_FailsAtThatRecord()
    {
        var (path, lines) = TestLogs.Lines(_folder);
        var i = TestLogs.IndexOf(lines, 17);
        lines[i] = lines[i].Replace("Patient/p17", "Patient/p99", StringComparison.Ordinal);
        TestLogs.WriteLines(path, lines);

        var problem = Assert.Single(Verify().Problems);
        Assert.Equal(AuditProblemKind.Altered, problem.Kind);
        Assert.Equal(17, problem.Sequence);
        Assert.Equal(i + 1, problem.Line);
        Assert.Equal(Path.GetFileName(path), problem.File);
    }

    [Fact]
    public void Verify_RecordAlteredAndRehashed_FailsAtTheNextLinkAndTheCheckpoint()
    {
        var (path, lines) = TestLogs.Lines(_folder);
        var i = TestLogs.IndexOf(lines, 23);
        var altered = lines[i].Replace("Patient/p23", "Patient/p99", StringComparison.Ordinal);
        var body = altered[..altered.LastIndexOf(",\"hash\":\"", StringComparison.Ordinal)];
        lines[i] = body + ",\"hash\":\"" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body))) + "\"}";
        TestLogs.WriteLines(path, lines);

        var problem = Assert.Single(Verify().Problems);
        Assert.Equal(AuditProblemKind.ChainBroken, problem.Kind);
        Assert.Equal(24, problem.Sequence);
        Assert.Contains("record 23", problem.Message);
    }

    [Fact]
    public void Verify_RecordDeleted_ReportsItMissingWhereItWas()
    {
        var (path, lines) = TestLogs.Lines(_folder);
        var i = TestLogs.IndexOf(lines, 12);
        lines.RemoveAt(i);
        TestLogs.WriteLines(path, lines);

        var problems = Verify().Problems;
        var missing = Assert.Single(problems, p => p.Kind == AuditProblemKind.Removed && p.Sequence == 12);
        Assert.Equal(i + 1, missing.Line);
        Assert.All(problems, p => Assert.Equal(12, p.Sequence));
    }

    [Fact]
    public void Verify_TwoRecordsSwapped_ReportsTheReorderedRecord()
    {
        var (path, lines) = TestLogs.Lines(_folder);
        var i = TestLogs.IndexOf(lines, 5);
        var j = TestLogs.IndexOf(lines, 6);
        (lines[i], lines[j]) = (lines[j], lines[i]);
        TestLogs.WriteLines(path, lines);

        var problem = Assert.Single(Verify().Problems);
        Assert.Equal(AuditProblemKind.Reordered, problem.Kind);
        Assert.Equal(5, problem.Sequence);
        Assert.Equal(j + 1, problem.Line);
    }

    [Fact]
    public void Verify_RecordInserted_ReportsTheInsertedLine()
    {
        var (path, lines) = TestLogs.Lines(_folder);
        var i = TestLogs.IndexOf(lines, 30);
        lines.Insert(i + 1, lines[TestLogs.IndexOf(lines, 8)]);
        TestLogs.WriteLines(path, lines);

        var problem = Assert.Single(Verify().Problems);
        Assert.Equal(AuditProblemKind.Inserted, problem.Kind);
        Assert.Equal(8, problem.Sequence);
        Assert.Equal(i + 2, problem.Line);
    }

    [Fact]
    public void Verify_ChainRewrittenFromARecordOn_FailsAtTheCheckpoint()
    {
        // An attacker alters record 33 and recomputes every hash after it: only the signed checkpoint can tell.
        var (path, lines) = TestLogs.Lines(_folder);
        var prev = "";
        for (var k = 0; k < lines.Count; k++)
        {
            if (!LogFormat.TryParseRecord(Encoding.UTF8.GetBytes(lines[k]), out var record))
            {
                continue;
            }

            if (record.Seq >= 33)
            {
                var line = lines[k];
                if (record.Seq == 33)
                {
                    line = line.Replace("Patient/p33", "Patient/p99", StringComparison.Ordinal);
                }

                var body = line[..line.LastIndexOf(",\"hash\":\"", StringComparison.Ordinal)];
                body = body[..(body.IndexOf(",\"prev\":\"", StringComparison.Ordinal) + 9)] + prev + body[(body.IndexOf(",\"prev\":\"", StringComparison.Ordinal) + 9 + 64)..];
                var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
                lines[k] = body + ",\"hash\":\"" + hash + "\"}";
                prev = hash;
            }
            else
            {
                prev = Encoding.ASCII.GetString(record.Hash);
            }
        }

        TestLogs.WriteLines(path, lines);

        var problems = Verify().Problems;
        Assert.NotEmpty(problems);
        Assert.All(problems, p => Assert.Equal(AuditProblemKind.CheckpointMismatch, p.Kind));
        Assert.Contains(problems, p => p.Sequence == 40 && p.Message.Contains("after record 30", StringComparison.Ordinal));
    }

    [Fact]
    public void Verify_CheckpointForgedWithoutTheKey_FailsItsSignature()
    {
        var (path, lines) = TestLogs.Lines(_folder);
        var i = lines.FindIndex(l => l.StartsWith("{\"checkpoint\":{\"seq\":20,", StringComparison.Ordinal));
        lines[i] = lines[i].Replace("\"seq\":20,", "\"seq\":19,", StringComparison.Ordinal);
        TestLogs.WriteLines(path, lines);

        var problems = Verify().Problems;
        Assert.Contains(problems, p => p.Kind == AuditProblemKind.BadSignature && p.Line == i + 1);
    }

    [Fact]
    public void Verify_WithTheWrongKey_FailsEveryCheckpoint()
    {
        var wrong = AuditSigningKey.Hmac("test-key", new byte[32]);

        var result = AuditLogVerifier.Verify(_folder, [wrong]);

        Assert.False(result.IsValid);
        Assert.All(result.Problems, p => Assert.Equal(AuditProblemKind.BadSignature, p.Kind));
        Assert.Equal(result.CheckpointCount, result.Problems.Count);
    }

    [Fact]
    public void Verify_WithoutKey_ChecksTheChainAndWarns()
    {
        var result = AuditLogVerifier.Verify(_folder);

        Assert.True(result.IsValid);
        Assert.Contains(result.Warnings, w => w.Contains("not checked", StringComparison.Ordinal));
    }

    [Fact]
    public void Verify_FileCut_ReportsTheTruncatedLine()
    {
        var (path, _) = TestLogs.Lines(_folder);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^40]);

        var problems = Verify().Problems;
        Assert.Contains(problems, p => p.Kind == AuditProblemKind.Truncated);
    }

    [Fact]
    public void Verify_MiddleFileDeleted_ReportsItsRecordsMissing()
    {
        var folder = TestPaths.NewTempFolder("verify-files");
        try
        {
            TestLogs.Write(TestLogs.Options(folder, AuditTestHost.SigningKey, maxFileBytes: 64 * 1024), 400);
            var files = LogFormat.ListFiles(folder);
            File.Delete(files[1]);
            var first = LogFormat.FirstSeqOf(files[1]);
            var next = LogFormat.FirstSeqOf(files[2]);

            var problems = AuditLogVerifier.Verify(folder, [AuditTestHost.SigningKey]).Problems;

            var removed = problems.Where(p => p.Kind == AuditProblemKind.Removed).Select(p => p.Sequence!.Value).ToList();
            Assert.Equal(Enumerable.Range((int)first, (int)(next - first)).Select(i => (long)i), removed);
        }
        finally
        {
            TestPaths.TryDelete(folder);
        }
    }
}
