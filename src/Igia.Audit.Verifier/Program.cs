using System.Text.Json;
using Igia.Audit.FileLog;

namespace Igia.Audit.Verifier;

/// <summary>The <c>igia-audit-verify</c> command.</summary>
public static class Program
{
    private const string Usage = """
        igia-audit-verify <folder> [options]

        Verifies an Igia local audit log: each record's hash, the hash chain, sequence numbers across files, and the
        checkpoints (signatures, and that they match the chain). Prints every problem with file, line and record.

        Options:
          --ecdsa-public-key <file>   PEM file with the EC P-256 public key that signed the checkpoints (ES256)
          --hmac-key-file <file>      file whose bytes are the HMAC-SHA256 key (HS256)
          --hmac-key-base64 <value>   the HMAC-SHA256 key, base64
          --key-id <id>               the key id the checkpoints name (default: k1); repeat a key option to give several
          --json                      print the result as JSON
          -h, --help                  show this help

        Exit codes: 0 valid, 1 problems found, 2 could not run.
        """;

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Main(string[] args)
    {
        try
        {
            return Run(args, Console.Out, Console.Error);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            Console.Error.WriteLine("igia-audit-verify: " + e.Message);
            return 2;
        }
    }

    /// <summary>Runs the command with the given output writers (for tests).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        string? folder = null;
        var json = false;
        var keyId = "k1";
        var keys = new List<Func<string, AuditSigningKey>>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{arg} needs a value.");
            switch (arg)
            {
                case "-h" or "--help":
                    output.WriteLine(Usage);
                    return 0;
                case "--json":
                    json = true;
                    break;
                case "--key-id":
                    keyId = Next();
                    break;
                case "--ecdsa-public-key":
                    {
                        var pem = File.ReadAllText(Next());
                        keys.Add(id => AuditSigningKey.FromPem(id, pem));
                        break;
                    }

                case "--hmac-key-file":
                    {
                        var secret = File.ReadAllBytes(Next());
                        keys.Add(id => AuditSigningKey.Hmac(id, secret));
                        break;
                    }

                case "--hmac-key-base64":
                    {
                        var secret = Convert.FromBase64String(Next());
                        keys.Add(id => AuditSigningKey.Hmac(id, secret));
                        break;
                    }

                default:
                    if (arg.StartsWith('-') || folder is not null)
                    {
                        error.WriteLine($"igia-audit-verify: unexpected argument '{arg}'.");
                        error.WriteLine(Usage);
                        return 2;
                    }

                    folder = arg;
                    break;
            }
        }

        if (folder is null)
        {
            error.WriteLine(Usage);
            return 2;
        }

        if (!Directory.Exists(folder))
        {
            error.WriteLine($"igia-audit-verify: the folder '{folder}' does not exist.");
            return 2;
        }

        var result = AuditLogVerifier.Verify(folder, keys.Select(k => k(keyId)).ToList());
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                valid = result.IsValid,
                records = result.RecordCount,
                firstSequence = result.FirstSequence,
                lastSequence = result.LastSequence,
                files = result.FileCount,
                checkpoints = result.CheckpointCount,
                verifiedSignatures = result.VerifiedSignatureCount,
                problems = result.Problems.Select(p => new { kind = p.Kind.ToString(), file = p.File, line = p.Line, sequence = p.Sequence, message = p.Message }),
                warnings = result.Warnings,
            }, new JsonSerializerOptions { WriteIndented = true }));
        }
        else
        {
            foreach (var problem in result.Problems)
            {
                output.WriteLine($"{problem.File}:{problem.Line}: {problem.Kind}{(problem.Sequence is { } s ? $" (record {s})" : "")}: {problem.Message}");
            }

            foreach (var warning in result.Warnings)
            {
                output.WriteLine("warning: " + warning);
            }

            output.WriteLine(result.IsValid
                ? $"OK: {result.RecordCount} records ({result.FirstSequence}..{result.LastSequence}) in {result.FileCount} files, {result.CheckpointCount} checkpoints ({result.VerifiedSignatureCount} signatures verified)."
                : $"FAILED: {result.Problems.Count} problems in {result.RecordCount} records ({result.FileCount} files).");
        }

        return result.IsValid ? 0 : 1;
    }
}
