using System.Reflection;

namespace Igia.Terminology.Tests.Infrastructure;

/// <summary>Where the test material is: the repository, the HL7 terminology test suite and the npm fixtures.</summary>
internal static class TestPaths
{
    public static string RepositoryRoot { get; } = typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .First(a => a.Key == "RepositoryRoot").Value!.TrimEnd('/', '\\');

    /// <summary>The HL7 terminology-server test suite (../shared/tx-ecosystem beside the repository).</summary>
    public static string TxEcosystem { get; } = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "tx-ecosystem"));

    /// <summary>The HL7 Terminology (THO) package as npm installed it from the registry (tests/fixtures).</summary>
    public static string ThoPackage { get; } = Path.Combine(RepositoryRoot, "tests", "fixtures", "node_modules", "hl7.terminology.r4");

    /// <summary>The FHIR core specification.zip copied to the output by Hl7.Fhir.Specification.Data.R4.</summary>
    public static string SpecificationZip { get; } = Path.Combine(AppContext.BaseDirectory, "specification.zip");
}
