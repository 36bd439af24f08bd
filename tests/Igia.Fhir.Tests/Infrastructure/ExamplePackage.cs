using System.Runtime.CompilerServices;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Igia.Fhir.Tests.Infrastructure;

/// <summary>One example resource of the package: its file, type, id and the JSON exactly as published.</summary>
/// <param name="FileName">The file name inside the package, e.g. <c>Patient-example.json</c>.</param>
/// <param name="ResourceType">The <c>resourceType</c>.</param>
/// <param name="Id">The logical id (every R4 example has one).</param>
/// <param name="Json">The file's JSON text.</param>
public sealed record ExampleResource(string FileName, string ResourceType, string Id, string Json)
{
    /// <summary>The relative URL of the resource: <c>[type]/[id]</c>.</summary>
    public string Url => $"{ResourceType}/{Id}";

    /// <summary>The resource parsed with Firely (lenient, so that the caller decides what is acceptable).</summary>
    public Resource Parse() => JsonSerializer.Deserialize<Resource>(Json, ExamplePackage.LenientJson)!;
}

/// <summary>
/// The FHIR R4 example resources: the npm package <c>hl7.fhir.r4.examples</c> 4.0.1 (5,306 resources of 140 types),
/// installed from the npm registry by <c>npm ci</c> in <c>tests/fixtures</c> (which <c>.ci/run</c> does). Use it to
/// load realistic data into a test server, e.g. for search tests over every parameter type.
/// </summary>
public static class ExamplePackage
{
    /// <summary>The npm package name.</summary>
    public const string PackageName = "hl7.fhir.r4.examples";

    /// <summary>The package version the tests are written against.</summary>
    public const string Version = "4.0.1";

    /// <summary>The number of resources in the package.</summary>
    public const int ResourceCount = 5306;

    internal static readonly JsonSerializerOptions LenientJson = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector).UsingMode(DeserializationMode.Recoverable);

    private static readonly Lazy<string?> Found = new(() => TryFindFolder());

    /// <summary>
    /// The folder holding the package's JSON files. Throws when it is missing, saying how to install it — a test
    /// that needs the examples must fail, never pass silently, when they are not there.
    /// </summary>
    public static string Folder => Found.Value ?? throw new InvalidOperationException(
        $"The FHIR example package {PackageName} {Version} is not installed. Run `npm ci` in tests/fixtures " +
        $"(it installs tests/fixtures/node_modules/{PackageName} from the npm registry; .ci/run does this).");

    /// <summary>
    /// Looks for <c>tests/fixtures/node_modules/hl7.fhir.r4.examples</c> walking up from the test binaries, the
    /// current directory and this source file's folder (so that builds with an artifacts path elsewhere find it too).
    /// Returns null when it is not installed.
    /// </summary>
    public static string? TryFindFolder([CallerFilePath] string sourceFile = "")
    {
        var starts = new[] { AppContext.BaseDirectory, Environment.CurrentDirectory, Path.GetDirectoryName(sourceFile) };
        foreach (var start in starts.Where(s => !string.IsNullOrEmpty(s)))
        {
            for (var dir = new DirectoryInfo(start!); dir is not null; dir = dir.Parent)
            {
                var module = Path.Combine(dir.FullName, "tests", "fixtures", "node_modules", PackageName);
                // npm unpacks the tarball's "package/" folder as the module root; accept an unpacked tarball as well.
                foreach (var candidate in new[] { module, Path.Combine(module, "package") })
                {
                    if (File.Exists(Path.Combine(candidate, "package.json")) && File.Exists(Path.Combine(candidate, "Patient-example.json")))
                    {
                        return candidate;
                    }
                }
            }
        }

        return null;
    }

    /// <summary>The installed package's version, from its <c>package.json</c>.</summary>
    public static string InstalledVersion()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Folder, "package.json")));
        return manifest.RootElement.GetProperty("version").GetString()!;
    }

    /// <summary>The resource files (every <c>*.json</c> but the npm manifest and index), in ordinal order.</summary>
    public static IReadOnlyList<string> Files() =>
        Directory.EnumerateFiles(Folder, "*.json")
            .Where(f => Path.GetFileName(f) is not ("package.json" or ".index.json"))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Reads one resource file.</summary>
    public static ExampleResource Read(string path)
    {
        var json = File.ReadAllText(path);
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        var root = document.RootElement;
        return new ExampleResource(
            Path.GetFileName(path),
            root.GetProperty("resourceType").GetString()!,
            root.TryGetProperty("id", out var id) ? id.GetString()! : throw new InvalidDataException($"{path} has no id."),
            json);
    }

    /// <summary>Every example resource, read lazily one file at a time (the package is about 190 MB).</summary>
    public static IEnumerable<ExampleResource> Resources() => Files().Select(Read);

    /// <summary>The example resources of some types, e.g. <c>Resources("Patient", "Observation")</c>.</summary>
    public static IEnumerable<ExampleResource> Resources(params string[] resourceTypes)
    {
        // Files are named [type]-[id].json (one exception: ig-r4.json); read only those that may hold the types.
        var types = resourceTypes.ToHashSet(StringComparer.Ordinal);
        return Files()
            .Where(f => Path.GetFileName(f).Split('-')[0] is var prefix && (types.Contains(prefix) || !ModelInfo.IsKnownResource(prefix)))
            .Select(Read)
            .Where(r => types.Contains(r.ResourceType));
    }
}
