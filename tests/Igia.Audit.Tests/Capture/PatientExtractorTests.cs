using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Audit.Capture;
using Igia.Audit.Internal;
using Igia.Audit.Tests.Infrastructure;

namespace Igia.Audit.Tests.Capture;

/// <summary>
/// The patient of a read is found in the stored JSON without parsing it (so the read fast path stays fast); it must find
/// exactly the patients the walk over the Firely model finds.
/// </summary>
public sealed class PatientExtractorTests
{
    private const string Base = "http://127.0.0.1:5000/fhir";

    private static SortedSet<string> FromJson(string json)
    {
        var patients = new SortedSet<string>(StringComparer.Ordinal);
        PatientExtractor.FromStoredJson(json, Base, patients);
        return patients;
    }

    [Theory]
    [InlineData("""{"resourceType":"Patient","id":"p1","link":[{"other":{"reference":"Patient/p2"}}]}""", "p1")]
    [InlineData("""{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"},"performer":[{"reference":"http://127.0.0.1:5000/fhir/Patient/p2/_history/3"}]}""", "p1,p2")]
    [InlineData("""{"resourceType":"Observation","id":"o1","subject":{"reference":"http://elsewhere.org/fhir/Patient/p9"}}""", "")]
    [InlineData("""{"resourceType":"Observation","id":"o1","contained":[{"resourceType":"Patient","id":"c1","link":[{"other":{"reference":"Patient/p7"}}]}],"subject":{"reference":"#c1"}}""", "")]
    [InlineData("""{"resourceType":"Observation","id":"o1","meta":{"source":"x"},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Patient/p3</div>"},"subject":{"reference":"Group/g1"}}""", "")]
    [InlineData("""{"resourceType":"Encounter","id":"e1","subject":{"reference":"Patient/bad id"}}""", "")]
    public void FromStoredJson_Cases_FindsThePatientsOfThisServer(string json, string expected)
    {
        Assert.Equal(expected, string.Join(",", FromJson(json)));
    }

    [Fact]
    public void FromStoredJson_ExamplePackage_FindsTheSamePatientsAsTheFirelyModel()
    {
        var folder = Path.Combine(TestPaths.RepositoryRoot, "tests", "fixtures", "node_modules", "hl7.fhir.r4.examples");
        Assert.True(Directory.Exists(folder), $"hl7.fhir.r4.examples not found at {folder}: run 'npm ci' in tests/fixtures.");
        var compared = 0;
        var withPatients = 0;
        var differences = new List<string>();
        // Every third example (about 1,700 of 5,306; all were compared once with no difference), to keep the suite quick.
        foreach (var file in Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal).Where((_, i) => i % 3 == 0))
        {
            var json = File.ReadAllText(file);
            Resource resource;
            try
            {
                resource = FhirJson.Parse(json);
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or DeserializationFailedException)
            {
                continue;
            }

            if (resource is null or Bundle)
            {
                continue;
            }

            var model = new SortedSet<string>(StringComparer.Ordinal);
            PatientExtractor.FromResource(resource, Base, model);
            var scanned = FromJson(json);
            compared++;
            withPatients += model.Count > 0 ? 1 : 0;
            if (!model.SetEquals(scanned))
            {
                differences.Add($"{Path.GetFileName(file)}: model [{string.Join(",", model)}], JSON [{string.Join(",", scanned)}]");
            }
        }

        Assert.True(compared > 1400, $"only {compared} examples compared");
        Assert.True(withPatients > 100, $"only {withPatients} examples name a patient");
        Assert.True(differences.Count == 0, $"{differences.Count} differences:\n{string.Join("\n", differences.Take(30))}");
    }
}
