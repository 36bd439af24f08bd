using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;

namespace Igia.Terminology.Content;

/// <summary>The name, version and dependencies of a FHIR package (its <c>package.json</c>).</summary>
internal sealed record FhirPackageManifest(string Name, string Version, IReadOnlyDictionary<string, string> Dependencies);

/// <summary>
/// Reads the terminology resources of a FHIR package: the npm-style <c>.tgz</c> the package registries serve (files under
/// <c>package/</c>), or that archive extracted into a folder (as <c>npm install</c> leaves it).
/// </summary>
internal static class FhirPackageReader
{
    public static bool IsArchive(string path) =>
        path.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads a package; <paramref name="onResource"/> is called for each CodeSystem, ValueSet, ConceptMap and Bundle.</summary>
    public static FhirPackageManifest Read(string path, Action<Resource> onResource, CancellationToken cancellationToken)
    {
        return IsArchive(path) ? ReadArchive(path, onResource, cancellationToken) : ReadFolder(path, onResource, cancellationToken);
    }

    /// <summary>Reads only the manifest of a package.</summary>
    public static FhirPackageManifest? ReadManifest(string path)
    {
        if (IsArchive(path))
        {
            using var file = File.OpenRead(path);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (NormalizeEntryName(entry.Name) == "package.json" && entry.DataStream is { } data)
                {
                    using var ms = new MemoryStream();
                    data.CopyTo(ms);
                    return ParseManifest(ms.ToArray(), path);
                }
            }

            return null;
        }

        var folder = PackageFolder(path);
        var manifest = Path.Combine(folder, "package.json");
        return File.Exists(manifest) ? ParseManifest(File.ReadAllBytes(manifest), path) : null;
    }

    private static FhirPackageManifest ReadArchive(string path, Action<Resource> onResource, CancellationToken cancellationToken)
    {
        FhirPackageManifest? manifest = null;
        var pending = new List<byte[]>();
        using (var file = File.OpenRead(path))
        using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        using (var tar = new TarReader(gzip))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                {
                    continue;
                }

                var name = NormalizeEntryName(entry.Name);
                if (name.Contains('/', StringComparison.Ordinal) || !name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                {
                    continue; // only the package's own folder (not examples or other sub-folders)
                }

                using var ms = new MemoryStream();
                entry.DataStream.CopyTo(ms);
                var bytes = ms.ToArray();
                if (name == "package.json")
                {
                    manifest = ParseManifest(bytes, path);
                }
                else if (FhirResourceReader.IsWanted(FhirResourceReader.PeekResourceType(bytes)))
                {
                    pending.Add(bytes);
                }
            }
        }

        ParseAll(pending, onResource, cancellationToken);
        return manifest ?? throw new InvalidDataException($"'{path}' is not a FHIR package: it has no package/package.json.");
    }

    private static FhirPackageManifest ReadFolder(string path, Action<Resource> onResource, CancellationToken cancellationToken)
    {
        var folder = PackageFolder(path);
        var manifestPath = Path.Combine(folder, "package.json");
        if (!File.Exists(manifestPath))
        {
            throw new InvalidDataException($"'{path}' is not a FHIR package: it has no package.json.");
        }

        var manifest = ParseManifest(File.ReadAllBytes(manifestPath), path);
        var pending = new List<byte[]>();
        foreach (var file in Directory.EnumerateFiles(folder, "*.json", SearchOption.TopDirectoryOnly))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var fileName = Path.GetFileName(file);
            if (fileName is "package.json" or ".index.json" or "package-lock.json")
            {
                continue;
            }

            var bytes = File.ReadAllBytes(file);
            if (FhirResourceReader.IsWanted(FhirResourceReader.PeekResourceType(bytes)))
            {
                pending.Add(bytes);
            }
        }

        ParseAll(pending, onResource, cancellationToken);
        return manifest;
    }

    private static void ParseAll(List<byte[]> pending, Action<Resource> onResource, CancellationToken cancellationToken)
    {
        var parsed = new Resource?[pending.Count];
        Parallel.For(0, pending.Count, new ParallelOptions { CancellationToken = cancellationToken }, i => parsed[i] = FhirResourceReader.ParseJson(pending[i]));
        foreach (var r in parsed)
        {
            if (r is not null)
            {
                onResource(r);
            }
        }
    }

    /// <summary>A package folder is the folder holding package.json (or its <c>package/</c> sub-folder).</summary>
    public static string PackageFolder(string path) =>
        File.Exists(Path.Combine(path, "package.json")) || !Directory.Exists(Path.Combine(path, "package")) ? path : Path.Combine(path, "package");

    private static string NormalizeEntryName(string name)
    {
        name = name.Replace('\\', '/');
        if (name.StartsWith("./", StringComparison.Ordinal))
        {
            name = name[2..];
        }

        return name.StartsWith("package/", StringComparison.Ordinal) ? name["package/".Length..] : name;
    }

    private static FhirPackageManifest ParseManifest(byte[] bytes, string path)
    {
        try
        {
            var json = JsonNode.Parse(bytes) as JsonObject ?? throw new InvalidDataException("package.json is not a JSON object");
            var deps = new Dictionary<string, string>(StringComparer.Ordinal);
            if (json["dependencies"] is JsonObject d)
            {
                foreach (var (k, v) in d)
                {
                    deps[k] = v?.ToString() ?? "";
                }
            }

            return new FhirPackageManifest((string?)json["name"] ?? Path.GetFileName(path), (string?)json["version"] ?? "", deps);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The package.json of '{path}' is not valid JSON: {e.Message}", e);
        }
    }
}
