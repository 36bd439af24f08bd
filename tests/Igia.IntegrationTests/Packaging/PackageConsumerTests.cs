using System.IO.Compression;
using System.Net;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Hl7.Fhir.Model;
using Igia.IntegrationTests.Infrastructure;

namespace Igia.IntegrationTests.Packaging;

/// <summary>
/// Consumes the packages the way a user does: <c>dotnet pack</c> of every <c>src/</c> project into a local feed, then a
/// fresh <c>dotnet new web</c> app outside the repository that references them as packages, builds, runs on Kestrel
/// and serves FHIR.
/// </summary>
public sealed partial class PackageConsumerTests
{
    // Generous: the machines that run this may be busy building other things.
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan Step = TimeSpan.FromMinutes(10);

    /// <summary>The FHIR base the README's client example talks to (the sandbox); the test points it at its own server.</summary>
    private const string SandboxFhirBase = "http://localhost:5000/fhir";

    [Fact]
    public async System.Threading.Tasks.Task Pack_FreshConsumerApp_BuildsAndServesFhir()
    {
        var serverProgram = ReadmeExample("src/Igia.Fhir/README.md", "server");
        var clientProgram = ReadmeExample("README.md", "client");
        var smartAppProgram = ReadmeExample("src/Igia.Smart/README.md", "smart-app");
        Assert.Contains(SandboxFhirBase, clientProgram);
        var version = $"0.1.0-test.g{Guid.NewGuid():N}";
        using var work = new TempFolder("igia-packaging");
        var feed = Directory.CreateDirectory(work.Combine("feed")).FullName;
        var packageIds = TestPaths.PackageProjects.Select(Path.GetFileNameWithoutExtension).ToArray();
        Assert.Contains("Igia.Fhir", packageIds);
        var globalPackages = await GetGlobalPackagesFolderAsync(work.Path);
        try
        {
            // 1. Pack every src/ project in one go (own artifacts folder: nothing is written into the repository).
            var solution = await CreatePackSolutionAsync(work.Path);
            await DotNet.RunAsync(work.Path, PackTimeout,
                "pack", solution, "-c", "Release", "-o", feed, "--artifacts-path", work.Combine("artifacts"),
                $"-p:Version={version}", "-p:ContinuousIntegrationBuild=true", "-nodeReuse:false", "-p:UseSharedCompilation=false");

            var packages = Directory.GetFiles(feed, "*.nupkg").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(packageIds.Select(id => $"{id}.{version}.nupkg").Order(StringComparer.Ordinal), packages);
            var libraries = new List<string>();
            foreach (var id in packageIds)
            {
                if (!AssertPackageContents(Path.Combine(feed, $"{id}.{version}.nupkg"), id, version))
                {
                    libraries.Add(id);
                }

                Assert.True(File.Exists(Path.Combine(feed, $"{id}.{version}.snupkg")), $"No symbol package for {id}.");
            }

            // 2. Fresh web apps outside the repository: no Directory.Build.props / Directory.Packages.props of ours
            //    apply, and NuGet sees the local feed (Igia.*) plus this machine's normal sources (everything else).
            var apps = work.Combine("apps");
            Directory.CreateDirectory(apps);
            var sources = await GetMachineSourcesAsync(apps);
            Assert.True(sources.Count > 0, "No enabled NuGet source is configured on this machine (dotnet nuget list source).");
            await File.WriteAllTextAsync(Path.Combine(apps, "Directory.Build.props"), "<Project />\n");
            await File.WriteAllTextAsync(Path.Combine(apps, "Directory.Packages.props"), "<Project />\n");
            await File.WriteAllTextAsync(Path.Combine(apps, "nuget.config"), NuGetConfig(feed, sources));

            // Every library package, so that they are also shown to restore together from the feed.
            var serverDll = await CreateAppAsync(apps, "ServerApp", libraries, version, serverProgram);
            var assets = await File.ReadAllTextAsync(Path.Combine(apps, "ServerApp", "obj", "project.assets.json"));
            Assert.Contains($"\"Igia.Fhir/{version}\"", assets);
            Assert.DoesNotContain("\"type\": \"project\"", assets);

            // 3. Run the server example on Kestrel and talk FHIR to it.
            await using var server = await ServerProcess.StartAsync(serverDll, Path.Combine(apps, "ServerApp"), "/fhir/metadata", TimeSpan.FromMinutes(5));
            var fhirBase = new Uri(server.BaseAddress, "fhir/");
            using var http = new HttpClient { BaseAddress = fhirBase, Timeout = TimeSpan.FromMinutes(3) };

            var capabilities = await http.GetAsync<CapabilityStatement>("metadata");
            Assert.Equal(FHIRVersion.N4_0_1, capabilities.FhirVersion);
            Assert.Contains(capabilities.Rest.Single().Resource, r => r.Type == "Patient");

            var patient = new Patient { Name = [new HumanName { Family = "Packaged", Given = ["Paula"] }], BirthDate = "1980-02-03" };
            using var created = await http.PostAsync("Patient", FhirHttp.Content(patient));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.NotNull(created.Headers.Location);
            var stored = await FhirHttp.ReadAsync<Patient>(created);
            Assert.False(string.IsNullOrEmpty(stored.Id));

            var read = await http.GetAsync<Patient>($"Patient/{stored.Id}");
            Assert.Equal("Packaged", read.Name.Single().Family);
            Assert.Equal("1980-02-03", read.BirthDate);
            Assert.Equal("1", read.Meta?.VersionId);

            // 4. The README's client example, pointed at that server, finds the patient through the packaged client.
            var clientDll = await CreateAppAsync(apps, "ClientApp", ["Igia.Fhir"], version,
                clientProgram.Replace(SandboxFhirBase, fhirBase.ToString().TrimEnd('/'), StringComparison.Ordinal));
            await using var client = await ServerProcess.StartAsync(clientDll, Path.Combine(apps, "ClientApp"), "/patients/Nobody", TimeSpan.FromMinutes(5));
            using var clientHttp = new HttpClient { BaseAddress = client.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
            var names = await clientHttp.GetStringAsync("patients/Packaged");
            Assert.Contains("Paula Packaged (1980-02-03)", names);

            // 5. The SMART app example of Igia.Smart's README (and the repository README) builds against the packages;
            //    running it needs a SMART authorization server, which tests/Igia.Smart.Tests provides.
            await CreateAppAsync(apps, "SmartApp", ["Igia.Smart"], version, smartAppProgram);
        }
        finally
        {
            // Leave no test versions behind in the machine's NuGet cache.
            foreach (var id in packageIds)
            {
                var idFolder = Path.Combine(globalPackages, id.ToLowerInvariant());
                var cached = Path.Combine(idFolder, version);
                if (Directory.Exists(cached))
                {
                    Directory.Delete(cached, recursive: true);
                }

                if (Directory.Exists(idFolder) && !Directory.EnumerateFileSystemEntries(idFolder).Any())
                {
                    Directory.Delete(idFolder);
                }
            }
        }
    }

    /// <summary>
    /// A "wire it in" example (a ```csharp block after <c>&lt;!-- example: name</c>) of a README, used as a fresh app's
    /// Program.cs so the examples users copy are proven to build and work against the packages. The repository README
    /// must show the same code as the package README.
    /// </summary>
    private static string ReadmeExample(string readme, string name)
    {
        var text = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, readme));
        var match = Regex.Match(text, $@"<!-- example: {Regex.Escape(name)}\b[^\n]*-->\s*```csharp\r?\n(?<code>.*?)```", RegexOptions.Singleline);
        Assert.True(match.Success, $"{readme} has no '<!-- example: {name}' marker followed by a ```csharp block.");
        var code = match.Groups["code"].Value;
        var rootReadme = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "README.md"));
        Assert.True(rootReadme.Contains(code, StringComparison.Ordinal), $"README.md should show the same {name} example as {readme}.");
        return code;
    }

    /// <summary><c>dotnet new web</c> + <c>dotnet add package</c> + Program.cs + <c>dotnet build</c>; returns the app's dll.</summary>
    private static async Task<string> CreateAppAsync(string parent, string name, IEnumerable<string> packages, string version, string program)
    {
        var folder = Path.Combine(parent, name);
        await DotNet.RunAsync(parent, Step, "new", "web", "--name", name, "--output", folder, "--framework", "net10.0", "--no-restore");
        foreach (var id in packages)
        {
            await DotNet.RunAsync(folder, Step, "add", $"{name}.csproj", "package", id, "--version", version);
        }

        await File.WriteAllTextAsync(Path.Combine(folder, "Program.cs"), program);
        await DotNet.RunAsync(folder, Step, "build", $"{name}.csproj", "-c", "Release", "-nodeReuse:false", "-p:UseSharedCompilation=false");
        var dll = Path.Combine(folder, "bin", "Release", "net10.0", name + ".dll");
        Assert.True(File.Exists(dll), $"{dll} was not built.");
        return dll;
    }

    /// <summary>A throwaway solution holding every src/ project, so that one <c>dotnet pack</c> builds them all.</summary>
    private static async Task<string> CreatePackSolutionAsync(string folder)
    {
        await DotNet.RunAsync(folder, Step, "new", "sln", "--name", "packages", "--output", folder);
        var solution = Directory.GetFiles(folder, "packages.sln*").Single();
        await DotNet.RunAsync(folder, Step, ["sln", solution, "add", .. TestPaths.PackageProjects]);
        return solution;
    }

    /// <summary>
    /// Checks the nuspec and content of a package: README, MPL-2.0 license expression, tags, repository commit, and the
    /// assemblies (with XML docs for a library). Returns true for a .NET tool package.
    /// </summary>
    private static bool AssertPackageContents(string nupkg, string id, string version)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var nuspecEntry = zip.GetEntry($"{id}.nuspec");
        Assert.NotNull(nuspecEntry);
        XDocument nuspec;
        using (var stream = nuspecEntry.Open())
        {
            nuspec = XDocument.Load(stream);
        }

        var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string? Get(string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
        var license = metadata.Elements().Single(e => e.Name.LocalName == "license");
        Assert.Equal(id, Get("id"));
        Assert.Equal(version, Get("version"));
        Assert.Equal("expression", license.Attribute("type")?.Value);
        Assert.Equal("MPL-2.0", license.Value);
        Assert.False(string.IsNullOrWhiteSpace(Get("description")), $"{id} has no description.");
        Assert.Contains("fhir", (Get("tags") ?? "").Split(' '));
        var readme = Get("readme");
        Assert.Equal("README.md", readme);
        var readmeEntry = zip.GetEntry(readme!);
        Assert.NotNull(readmeEntry);
        Assert.True(readmeEntry.Length > 100, $"{id}'s README.md is nearly empty.");
        var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
        Assert.Equal("git", repository.Attribute("type")?.Value);
        if (Path.Exists(Path.Combine(TestPaths.RepositoryRoot, ".git")))
        {
            // SourceLink records the commit the package was built from (only a git checkout has one).
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
        }

        var isTool = metadata.Descendants().Any(e => e.Name.LocalName == "packageType" && e.Attribute("name")?.Value == "DotnetTool");
        var entries = zip.Entries.Select(e => e.FullName).ToArray();
        if (isTool)
        {
            Assert.Contains(entries, e => e.StartsWith("tools/net10.0/", StringComparison.Ordinal) && e.EndsWith(".dll", StringComparison.Ordinal));
        }
        else
        {
            Assert.Contains($"lib/net10.0/{id}.dll", entries);
            Assert.Contains($"lib/net10.0/{id}.xml", entries);
        }

        return isTool;
    }

    private static string NuGetConfig(string feed, IReadOnlyList<(string Name, string Url)> sources)
    {
        var sourceElements = sources.Select(s => new XElement("add", new XAttribute("key", s.Name), new XAttribute("value", s.Url)));
        var config = new XElement("configuration",
            new XElement("packageSources",
                new XElement("clear"),
                new XElement("add", new XAttribute("key", "igia-local"), new XAttribute("value", feed)),
                sourceElements),
            new XElement("packageSourceMapping",
                new XElement("clear"),
                new XElement("packageSource", new XAttribute("key", "igia-local"), new XElement("package", new XAttribute("pattern", "Igia.*"))),
                sources.Select(s => new XElement("packageSource", new XAttribute("key", s.Name), new XElement("package", new XAttribute("pattern", "*"))))));
        return new XDocument(config).ToString() + "\n";
    }

    /// <summary>The enabled sources of this machine's NuGet configuration, by name (so stored credentials still apply).</summary>
    private static async Task<IReadOnlyList<(string Name, string Url)>> GetMachineSourcesAsync(string folder)
    {
        var output = await DotNet.RunAsync(folder, TimeSpan.FromMinutes(5), "nuget", "list", "source", "--format", "Detailed");
        var sources = new List<(string, string)>();
        var lines = output.Split('\n', StringSplitOptions.TrimEntries);
        for (var i = 0; i + 1 < lines.Length; i++)
        {
            var match = SourceLine().Match(lines[i]);
            if (match.Success && match.Groups["state"].Value == "Enabled" && lines[i + 1].Length > 0)
            {
                sources.Add((match.Groups["name"].Value, lines[i + 1]));
            }
        }

        return sources;
    }

    private static async Task<string> GetGlobalPackagesFolderAsync(string folder)
    {
        var output = await DotNet.RunAsync(folder, TimeSpan.FromMinutes(5), "nuget", "locals", "global-packages", "--list");
        var line = output.Split('\n', StringSplitOptions.TrimEntries).Single(l => l.StartsWith("global-packages:", StringComparison.Ordinal));
        return line["global-packages:".Length..].Trim();
    }

    [GeneratedRegex(@"^\d+\.\s+(?<name>.+?)\s+\[(?<state>Enabled|Disabled)\]$")]
    private static partial Regex SourceLine();
}
