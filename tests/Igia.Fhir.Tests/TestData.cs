namespace Igia.Fhir.Tests;

/// <summary>Finds the shared, read-only test data that sits beside the repository (<c>&lt;root&gt;/main</c> and <c>&lt;root&gt;/shared</c>).</summary>
public static class TestData
{
    private static readonly Lazy<string> Shared = new(FindShared);

    /// <summary>
    /// The <c>shared</c> folder: found by walking up from the test binaries until a directory has <c>shared/fhir-test-cases</c>
    /// (which also finds it as a sibling of the checkout).
    /// </summary>
    public static string SharedFolder => Shared.Value;

    /// <summary>The repository root, recorded at build time (works wherever the binaries are built to).</summary>
    public static string RepositoryRoot { get; } = typeof(TestData).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
        .Cast<System.Reflection.AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    private static string FindShared()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, RepositoryRoot })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var shared = Path.Combine(dir.FullName, "shared");
                if (Directory.Exists(Path.Combine(shared, "fhir-test-cases")))
                {
                    return shared;
                }
            }
        }

        throw new DirectoryNotFoundException(
            $"No 'shared/fhir-test-cases' folder found above {AppContext.BaseDirectory}; the repository is expected at <root>/main with the test data at <root>/shared.");
    }
}
