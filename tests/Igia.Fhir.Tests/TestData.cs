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

    private static string FindShared()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var shared = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(shared, "fhir-test-cases")))
            {
                return shared;
            }
        }

        throw new DirectoryNotFoundException(
            $"No 'shared/fhir-test-cases' folder found above {AppContext.BaseDirectory}; the repository is expected at <root>/main with the test data at <root>/shared.");
    }
}
