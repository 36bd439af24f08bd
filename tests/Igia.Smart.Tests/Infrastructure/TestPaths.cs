using System.Reflection;

namespace Igia.Smart.Tests.Infrastructure;

internal static class TestPaths
{
    /// <summary>tests/Igia.Smart.Tests/oidc in the repository (recorded at build time, so any artifacts folder works).</summary>
    public static string OidcFolder { get; } = Find();

    private static string Find()
    {
        var recorded = typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "OidcFolder")?.Value;
        if (recorded is not null && File.Exists(Path.Combine(recorded, "server.mjs")))
        {
            return recorded;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Igia.Smart.Tests", "oidc");
            if (File.Exists(Path.Combine(candidate, "server.mjs")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("tests/Igia.Smart.Tests/oidc/server.mjs was not found (recorded: " + recorded + ", binaries: " + AppContext.BaseDirectory + ").");
    }
}
