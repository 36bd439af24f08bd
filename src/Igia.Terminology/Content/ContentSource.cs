using System.IO.Compression;
using Hl7.Fhir.Model;

namespace Igia.Terminology.Content;

/// <summary>Where terminology content comes from; loaded in order at start-up by <see cref="TerminologyContentLoader"/>.</summary>
internal abstract class ContentSource
{
    /// <summary>For logs.</summary>
    public abstract string Description { get; }

    /// <summary>Sources load in this order (then in the order they were added): later ones win for the same canonical and version.</summary>
    public virtual int Order => 0;

    /// <summary>Loads the resources into <paramref name="into"/>; returns the number added.</summary>
    public abstract int Load(TerminologyResources into, ContentLoadContext context, CancellationToken cancellationToken);

    /// <summary>What the sources share while loading (packages already read, for dependencies).</summary>
    internal sealed class ContentLoadContext
    {
        public HashSet<string> LoadedPackages { get; } = new(StringComparer.Ordinal);

        public bool CoreLoaded { get; set; }

        public List<string> Warnings { get; } = [];
    }
}

/// <summary>The FHIR R4 core CodeSystems, ValueSets and ConceptMaps from Hl7.Fhir.Specification.Data.R4's specification.zip.</summary>
internal sealed class SpecificationContentSource(string? zipPath) : ContentSource
{
    private static readonly string[] Entries = ["valuesets.xml", "v3-codesystems.xml", "v2-tables.xml", "conceptmaps.xml"];

    public string ZipPath => zipPath ?? Path.Combine(AppContext.BaseDirectory, "specification.zip");

    public override string Description => $"FHIR R4 core specification ({ZipPath})";

    public override int Load(TerminologyResources into, ContentLoadContext context, CancellationToken cancellationToken)
    {
        if (!File.Exists(ZipPath))
        {
            throw new FileNotFoundException($"The FHIR core specification.zip was not found at '{ZipPath}'. Reference the Hl7.Fhir.Specification.Data.R4 package (it copies specification.zip to the output) or pass its path to AddFhirCorePackage.", ZipPath);
        }

        var bundles = new Resource?[Entries.Length];
        using (var zip = ZipFile.OpenRead(ZipPath))
        {
            var data = new byte[Entries.Length][];
            for (var i = 0; i < Entries.Length; i++)
            {
                var entry = zip.GetEntry(Entries[i]);
                if (entry is null)
                {
                    continue;
                }

                using var s = entry.Open();
                using var ms = new MemoryStream();
                s.CopyTo(ms);
                data[i] = ms.ToArray();
            }

            Parallel.For(0, Entries.Length, new ParallelOptions { CancellationToken = cancellationToken }, i =>
            {
                if (data[i] is { } bytes)
                {
                    bundles[i] = FhirResourceReader.ParseXml(new MemoryStream(bytes));
                }
            });
        }

        var count = 0;
        foreach (var b in bundles)
        {
            if (b is not null)
            {
                count += into.Add(b, "core");
            }
        }

        context.CoreLoaded = true;
        context.LoadedPackages.Add("hl7.fhir.r4.core");
        return count;
    }
}

/// <summary>A FHIR package (.tgz or extracted folder), with the dependencies that can be found beside it or in the FHIR package cache.</summary>
internal sealed class PackageContentSource(string path, bool loadDependencies) : ContentSource
{
    private const string CorePackage = "hl7.fhir.r4.core";

    public override string Description => $"FHIR package {path}";

    public override int Load(TerminologyResources into, ContentLoadContext context, CancellationToken cancellationToken) =>
        LoadPackage(path, into, context, cancellationToken);

    private int LoadPackage(string packagePath, TerminologyResources into, ContentLoadContext context, CancellationToken cancellationToken)
    {
        var count = 0;
        var manifest = FhirPackageReader.Read(packagePath, r => count += into.Add(r, "package:" + Path.GetFileName(packagePath)), cancellationToken);
        context.LoadedPackages.Add(manifest.Name);
        if (!loadDependencies)
        {
            return count;
        }

        foreach (var (name, version) in manifest.Dependencies)
        {
            if (context.LoadedPackages.Contains(name))
            {
                continue;
            }

            if (name == CorePackage)
            {
                if (!context.CoreLoaded)
                {
                    context.Warnings.Add($"{manifest.Name} depends on {CorePackage}: add the core package (AddFhirCorePackage) for its content.");
                }

                continue;
            }

            var found = FindDependency(packagePath, name, version);
            if (found is null)
            {
                context.Warnings.Add($"{manifest.Name} depends on {name}#{version}, which was not found beside it or in the FHIR package cache; its content is not loaded.");
                continue;
            }

            var manifestOfFound = FhirPackageReader.ReadManifest(found);
            if (manifestOfFound is null || manifestOfFound.Name != name || !HasContent(found))
            {
                context.Warnings.Add($"{manifest.Name} depends on {name}#{version}; '{found}' holds no content for it, so it is not loaded.");
                context.LoadedPackages.Add(name);
                continue;
            }

            count += LoadPackage(found, into, context, cancellationToken);
        }

        return count;
    }

    private static bool HasContent(string path) =>
        FhirPackageReader.IsArchive(path) || Directory.EnumerateFiles(FhirPackageReader.PackageFolder(path), "*.json").Any(f => Path.GetFileName(f) != "package.json");

    /// <summary>Looks for a dependency next to the package (npm's node_modules layout, or name-version.tgz), then in ~/.fhir/packages.</summary>
    private static string? FindDependency(string packagePath, string name, string version)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(packagePath).TrimEnd(Path.DirectorySeparatorChar, '/')) ?? ".";
        var candidates = new[]
        {
            Path.Combine(parent, name),
            Path.Combine(parent, $"{name}-{version}.tgz"),
            Path.Combine(parent, $"{name}#{version}"),
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".fhir", "packages", $"{name}#{version}"),
        };
        return candidates.FirstOrDefault(c => File.Exists(c) || Directory.Exists(c));
    }
}

/// <summary>FHIR resource files (JSON or XML): one file, or every file of a folder.</summary>
internal sealed class FileContentSource(string path) : ContentSource
{
    public override string Description => $"files {path}";

    public override int Load(TerminologyResources into, ContentLoadContext context, CancellationToken cancellationToken)
    {
        var files = Directory.Exists(path)
            ? Directory.EnumerateFiles(path, "*.*", SearchOption.AllDirectories).Where(f => f.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".xml", StringComparison.OrdinalIgnoreCase)).ToList()
            : File.Exists(path) ? [path] : throw new FileNotFoundException($"The terminology file or folder '{path}' does not exist.", path);
        var count = 0;
        foreach (var f in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (FhirResourceReader.ReadFile(f) is { } r)
            {
                count += into.Add(r, "file:" + f);
            }
        }

        return count;
    }
}

/// <summary>Resources given in code.</summary>
internal sealed class ResourceContentSource(Resource resource) : ContentSource
{
    public override string Description => $"{resource.TypeName} {(resource as IVersionableConformanceResource)?.Url ?? resource.Id}";

    public override int Load(TerminologyResources into, ContentLoadContext context, CancellationToken cancellationToken) => into.Add(resource, "code");
}
