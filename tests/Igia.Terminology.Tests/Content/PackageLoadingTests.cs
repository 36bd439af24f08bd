using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Terminology.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Igia.Terminology.Tests.Content;

/// <summary>Content from npm-style FHIR packages (.tgz and folders), the core specification and files.</summary>
public sealed class PackageLoadingTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "igia-tx-packages", Guid.NewGuid().ToString("N"));

    public PackageLoadingTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Writes an npm-style package (.tgz with a <c>package/</c> folder) holding the given files.</summary>
    private string WritePackage(string name, string version, IReadOnlyDictionary<string, string>? dependencies, params (string File, string Json)[] files)
    {
        var path = Path.Combine(_folder, $"{name}-{version}.tgz");
        using var stream = File.Create(path);
        using var gzip = new GZipStream(stream, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        void Add(string file, string content)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "package/" + file) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };
            tar.WriteEntry(entry);
        }

        var deps = dependencies is null ? "" : ",\"dependencies\":{" + string.Join(",", dependencies.Select(d => $"\"{d.Key}\":\"{d.Value}\"")) + "}";
        Add("package.json", $"{{\"name\":\"{name}\",\"version\":\"{version}\"{deps}}}");
        foreach (var (file, json) in files)
        {
            Add(file, json);
        }

        return path;
    }

    private static string CodeSystemJson(string url, params string[] codes) =>
        $"{{\"resourceType\":\"CodeSystem\",\"url\":\"{url}\",\"version\":\"1\",\"status\":\"active\",\"content\":\"complete\",\"concept\":[{string.Join(",", codes.Select(c => $"{{\"code\":\"{c}\",\"display\":\"{c} display\"}}"))}]}}";

    [Fact]
    public async Task AddPackage_TgzWithADependencyBesideIt_LoadsBoth()
    {
        WritePackage("example.dependency", "2.0.0", null, ("CodeSystem-dep.json", CodeSystemJson("http://example.org/dep", "d1")));
        var main = WritePackage("example.main", "1.0.0", new Dictionary<string, string> { ["example.dependency"] = "2.0.0" },
            ("CodeSystem-main.json", CodeSystemJson("http://example.org/main", "m1", "m2")),
            ("ValueSet-main.json", "{\"resourceType\":\"ValueSet\",\"url\":\"http://example.org/vs\",\"status\":\"active\",\"compose\":{\"include\":[{\"system\":\"http://example.org/main\"},{\"system\":\"http://example.org/dep\"}]}}"),
            ("Patient-ignored.json", "{\"resourceType\":\"Patient\",\"id\":\"p\"}"));

        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddPackage(main));

        var vs = (ValueSet)await tx.Service.Expand(new Parameters { { "url", new FhirUri("http://example.org/vs") } });
        Assert.Equal(["d1", "m1", "m2"], TestContent.Codes(vs));
        Assert.Equal(3, tx.Service.Content.CodeSystemCount); // main, dependency and the built-in UCUM
    }

    [Fact]
    public async Task AddPackage_DependencyMissing_LoadsThePackageAndReportsDegraded()
    {
        var main = WritePackage("example.lonely", "1.0.0", new Dictionary<string, string> { ["example.absent"] = "9.9.9" },
            ("CodeSystem-main.json", CodeSystemJson("http://example.org/lonely", "x")));

        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddPackage(main), services: s => s.AddHealthChecks());

        Assert.NotNull(tx.Service.Content.GetCodeSystem("http://example.org/lonely"));
        var health = await tx.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, health.Status);
    }

    [Fact]
    public async Task AddPackage_CorruptArchive_ReportsDegradedAndKeepsTheOtherContent()
    {
        var broken = Path.Combine(_folder, "broken-1.0.0.tgz");
        await File.WriteAllBytesAsync(broken, [1, 2, 3, 4, 5]);

        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddPackage(broken).AddResource(TestContent.TestCodeSystem()));

        var health = await tx.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == "igia-terminology");
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Contains("broken-1.0.0.tgz", health.Entries["igia-terminology"].Description);
        Assert.NotNull(tx.Service.Content.GetCodeSystem(TestContent.System));
    }

    [Fact]
    public async Task AddPackage_HL7TerminologyFromTheNpmRegistry_LoadsItsCodeSystemsAndValueSets()
    {
        Assert.True(Directory.Exists(TestPaths.ThoPackage), $"hl7.terminology.r4 is expected at {TestPaths.ThoPackage} (npm ci in tests/fixtures).");

        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddPackage(TestPaths.ThoPackage));

        Assert.True(tx.Service.Content.CodeSystemCount > 850, $"{tx.Service.Content.CodeSystemCount} code systems");
        Assert.True(tx.Service.Content.ValueSetCount > 1000, $"{tx.Service.Content.ValueSetCount} value sets");
        Assert.NotNull(tx.Service.Content.GetCodeSystem("http://terminology.hl7.org/CodeSystem/v3-ActCode"));
    }

    [Fact]
    public async Task AddFhirCorePackage_Specification_LoadsTheCoreValueSets()
    {
        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddFhirCorePackage());

        var result = await tx.Service.ValueSetValidateCode(new Parameters
        {
            { "url", new FhirUri("http://hl7.org/fhir/ValueSet/administrative-gender") },
            { "coding", new Coding("http://hl7.org/fhir/administrative-gender", "female") },
        });
        Assert.True(result.GetSingleValue<FhirBoolean>("result")?.Value);
    }

    [Fact]
    public async Task AddFiles_FolderOfJsonAndXml_LoadsEveryTerminologyResource()
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "cs.json"), CodeSystemJson("http://example.org/from-file", "f1"));
        await File.WriteAllTextAsync(Path.Combine(_folder, "vs.xml"),
            "<ValueSet xmlns=\"http://hl7.org/fhir\"><url value=\"http://example.org/from-xml\"/><status value=\"active\"/><compose><include><system value=\"http://example.org/from-file\"/></include></compose></ValueSet>");
        await File.WriteAllTextAsync(Path.Combine(_folder, "notes.txt"), "not FHIR");

        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddFiles(_folder));

        var vs = (ValueSet)await tx.Service.Expand(new Parameters { { "url", new FhirUri("http://example.org/from-xml") } });
        Assert.Equal(["f1"], TestContent.Codes(vs));
    }

    [Fact]
    public async Task Content_AddAndRemoveAtRunTime_ChangesWhatIsKnown()
    {
        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddResource(TestContent.TestCodeSystem()));
        var content = tx.Service.Content;

        content.Add(TestContent.AllValueSet());
        var vs = (ValueSet)await tx.Service.Expand(new Parameters { { "url", new FhirUri(TestContent.ValueSetAll) } });
        Assert.Equal(6, vs.Expansion!.Total);

        Assert.True(content.Remove("ValueSet", TestContent.ValueSetAll));
        await Assert.ThrowsAsync<TerminologyOperationException>(() => tx.Service.Expand(new Parameters { { "url", new FhirUri(TestContent.ValueSetAll) } }));
    }
}
