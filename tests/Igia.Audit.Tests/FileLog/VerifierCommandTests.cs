using System.Security.Cryptography;
using System.Text.Json;
using Igia.Audit.FileLog;
using Igia.Audit.Tests.Infrastructure;

namespace Igia.Audit.Tests.FileLog;

/// <summary>The igia-audit-verify command: exit codes, the problem lines it prints, keys from files, JSON output.</summary>
public sealed class VerifierCommandTests : IDisposable
{
    private readonly string _folder = TestPaths.NewTempFolder("cli");
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public VerifierCommandTests() => TestLogs.Write(TestLogs.Options(_folder, AuditSigningKey.ECDsa("prod-1", _key), checkpointEvery: 5), 20, batch: 1);

    public void Dispose()
    {
        _key.Dispose();
        TestPaths.TryDelete(_folder);
        File.Delete(PublicKeyPath);
    }

    /// <summary>Beside the log folder (not in it: the verifier reads every file of the folder).</summary>
    private string PublicKeyPath => Path.Combine(Path.GetDirectoryName(_folder)!, Path.GetFileName(_folder) + "-pub.pem");

    private (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = Igia.Audit.Verifier.Program.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private string PublicKeyFile()
    {
        File.WriteAllText(PublicKeyPath, _key.ExportSubjectPublicKeyInfoPem());
        return PublicKeyPath;
    }

    [Fact]
    public void Run_ValidLogWithPublicKey_ExitsZeroAndCountsSignatures()
    {
        var (code, output, _) = Run(_folder, "--ecdsa-public-key", PublicKeyFile(), "--key-id", "prod-1");

        Assert.Equal(0, code);
        Assert.Contains("OK: 20 records (1..20) in 1 files, 4 checkpoints (4 signatures verified).", output);
    }

    [Fact]
    public void Run_TamperedLog_ExitsOneAndPointsAtTheLine()
    {
        var (path, lines) = TestLogs.Lines(_folder);
        var i = TestLogs.IndexOf(lines, 9);
        lines[i] = lines[i].Replace("dr-9", "dr-0", StringComparison.Ordinal);
        TestLogs.WriteLines(path, lines);

        var (code, output, _) = Run(_folder, "--ecdsa-public-key", PublicKeyFile(), "--key-id", "prod-1");

        Assert.Equal(1, code);
        Assert.Contains($"{Path.GetFileName(path)}:{i + 1}: Altered (record 9)", output);
        Assert.Contains("FAILED: 1 problems", output);
    }

    [Fact]
    public void Run_Json_PrintsTheResult()
    {
        var (code, output, _) = Run(_folder, "--json");

        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.True(doc.RootElement.GetProperty("valid").GetBoolean());
        Assert.Equal(20, doc.RootElement.GetProperty("records").GetInt64());
    }

    [Fact]
    public void Run_WrongKeyId_ReportsEveryCheckpoint()
    {
        var (code, output, _) = Run(_folder, "--ecdsa-public-key", PublicKeyFile(), "--key-id", "other");

        Assert.Equal(1, code);
        Assert.Contains("signed with key 'prod-1'", output);
    }

    [Fact]
    public void Run_MissingFolder_ExitsTwo()
    {
        var (code, _, error) = Run(Path.Combine(_folder, "nope"));

        Assert.Equal(2, code);
        Assert.Contains("does not exist", error);
    }

    [Fact]
    public void Run_UnknownOption_ExitsTwoWithUsage()
    {
        var (code, _, error) = Run(_folder, "--frobnicate");

        Assert.Equal(2, code);
        Assert.Contains("igia-audit-verify <folder>", error);
    }
}
