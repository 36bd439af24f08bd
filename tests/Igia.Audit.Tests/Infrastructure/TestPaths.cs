using System.Reflection;

namespace Igia.Audit.Tests.Infrastructure;

/// <summary>Where the repository and the shared test material are.</summary>
public static class TestPaths
{
    /// <summary>The repository root (the folder holding Igia.sln).</summary>
    public static string RepositoryRoot { get; } =
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "RepositoryRoot").Value!;

    /// <summary>The IHE BALP conformance resources (<c>../shared/balp</c> next to the repository, or IGIA_SHARED/balp).</summary>
    public static string Balp => Path.Combine(Environment.GetEnvironmentVariable("IGIA_SHARED") ?? Path.Combine(RepositoryRoot, "..", "shared"), "balp");

    /// <summary>The HL7 Terminology package installed by <c>npm ci</c> in tests/fixtures.</summary>
    public static string TerminologyPackage => Path.Combine(RepositoryRoot, "tests", "fixtures", "node_modules", "hl7.terminology.r4");

    /// <summary>A new empty folder under the temp directory.</summary>
    public static string NewTempFolder(string prefix = "igia-audit")
    {
        var folder = Path.Combine(Path.GetTempPath(), "igia-audit-tests", prefix + "-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>Deletes a folder, ignoring failures.</summary>
    public static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
