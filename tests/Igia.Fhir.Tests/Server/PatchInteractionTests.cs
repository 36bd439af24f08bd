using System.Net;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Fhir.Tests.Infrastructure;

namespace Igia.Fhir.Tests.Server;

/// <summary>HL7's FHIRPath Patch test cases through the real PATCH interaction over HTTP, plus JSON Patch on FHIR resources.</summary>
public sealed class PatchInteractionTests : IAsyncLifetime
{
    private static readonly FhirXmlDeserializer Xml = new(new DeserializerSettings().UsingMode(DeserializationMode.Strict).Ignoring(["PVAL129"]));
    private static readonly BaseFhirXmlSerializer XmlWriter = new(ModelInfo.ModelInspector);
    private static readonly JsonSerializerOptions Json = new JsonSerializerOptions { WriteIndented = true }.ForFhir(ModelInfo.ModelInspector);

    private static readonly Lazy<List<XElement>> Cases = new(() =>
        XDocument.Load(Path.Combine(TestData.SharedFolder, "fhir-test-cases", "r4", "patch", "fhir-patch-tests.xml"), LoadOptions.PreserveWhitespace)
            .Root!.Elements("case").ToList());

    private FhirTestHost _host = null!;

    public async System.Threading.Tasks.Task InitializeAsync() => _host = await FhirTestHost.StartAsync();

    public async System.Threading.Tasks.Task DisposeAsync() => await _host.DisposeAsync();

    public static TheoryData<int, string> CaseIndexes()
    {
        var data = new TheoryData<int, string>();
        for (var i = 0; i < Cases.Value.Count; i++)
        {
            data.Add(i, (string)Cases.Value[i].Attribute("name")!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public async System.Threading.Tasks.Task Patch_Hl7FhirPathCase_GivesExpectedOutputOr4xx(int index, string name)
    {
        var testCase = Cases.Value[index];
        var input = Parse(testCase.Element("input")!);
        var id = $"patch-case-{index}";
        input.Id = id;
        using (var put = await _host.Client.PutAsync($"{input.TypeName}/{id}", FhirTestHost.JsonContent(input)))
        {
            Assert.True(put.IsSuccessStatusCode, $"{name}: storing the input failed: {await put.Content.ReadAsStringAsync()}");
        }

        var diffXml = testCase.Element("diff")!.Elements().Single().ToString(SaveOptions.DisableFormatting);
        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"{input.TypeName}/{id}") { Content = new StringContent(diffXml, Encoding.UTF8, "application/fhir+xml") };
        using var response = await _host.Client.SendAsync(patch);
        var body = await response.Content.ReadAsStringAsync();

        if (testCase.Element("error") is not null)
        {
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"{name}: expected a 4xx, got {(int)response.StatusCode}");
            Assert.Contains("OperationOutcome", body);
            var unchanged = await _host.GetAsync<Resource>($"{input.TypeName}/{id}");
            Assert.Equal("1", unchanged.Meta.VersionId);
            return;
        }

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{name}: {(int)response.StatusCode} {body}");
        Assert.Equal("W/\"2\"", response.Headers.ETag?.ToString());

        using var read = await _host.Client.GetAsync($"{input.TypeName}/{id}?_format=xml");
        var actual = Xml.DeserializeResource(await read.Content.ReadAsStringAsync());
        var expected = Parse(testCase.Element("output")!);
        expected.Id = id;
        expected.Meta = null;
        actual.Meta = null;
        var normalised = Xml.DeserializeResource(XmlWriter.SerializeToString(actual));
        Assert.Equal(JsonSerializer.Serialize(Xml.DeserializeResource(XmlWriter.SerializeToString(expected)), Json), JsonSerializer.Serialize(normalised, Json));
    }

    [Fact]
    public async System.Threading.Tasks.Task Patch_JsonPatchOnPatient_AppliesAndVersions()
    {
        await _host.Client.PutAsync("Patient/jp", FhirTestHost.JsonContent(new Patient { Id = "jp", Active = true, Name = [new HumanName { Family = "Before" }] }));
        const string doc = """[{"op":"replace","path":"/name/0/family","value":"After"},{"op":"add","path":"/gender","value":"female"},{"op":"remove","path":"/active"}]""";
        using var patch = new HttpRequestMessage(HttpMethod.Patch, "Patient/jp") { Content = new StringContent(doc, Encoding.UTF8, "application/json-patch+json") };
        using var response = await _host.Client.SendAsync(patch);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var patient = await _host.GetAsync<Patient>("Patient/jp");
        Assert.Equal("After", patient.Name[0].Family);
        Assert.Equal(AdministrativeGender.Female, patient.Gender);
        Assert.Null(patient.Active);
        Assert.Equal("2", patient.Meta.VersionId);
    }

    [Theory]
    [InlineData("""[{"op":"test","path":"/active","value":false}]""")]
    [InlineData("""[{"op":"replace","path":"/birthDate","value":"not-a-date"}]""")]
    [InlineData("""[{"op":"replace","path":"/resourceType","value":"Observation"}]""")]
    [InlineData("""[{"op":"remove","path":"/nothing/here"}]""")]
    [InlineData("""{"op":"replace"}""")]
    [InlineData("""[{"op":"replace","path":"/id","value":"other"}]""")]
    public async System.Threading.Tasks.Task Patch_BadJsonPatch_Returns4xxAndChangesNothing(string doc)
    {
        await _host.Client.PutAsync("Patient/jp-bad", FhirTestHost.JsonContent(new Patient { Id = "jp-bad", Active = true }));
        using var patch = new HttpRequestMessage(HttpMethod.Patch, "Patient/jp-bad") { Content = new StringContent(doc, Encoding.UTF8, "application/json-patch+json") };
        using var response = await _host.Client.SendAsync(patch);
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"got {(int)response.StatusCode}");
        Assert.IsType<OperationOutcome>(await FhirTestHost.ReadAsync<Resource>(response));
        var patient = await _host.GetAsync<Patient>("Patient/jp-bad");
        Assert.Equal("1", patient.Meta.VersionId);
        Assert.True(patient.Active);
    }

    [Fact]
    public async System.Threading.Tasks.Task Patch_WithStaleIfMatch_Returns412()
    {
        await _host.Client.PutAsync("Patient/jp-etag", FhirTestHost.JsonContent(new Patient { Id = "jp-etag", Active = true }));
        using var patch = new HttpRequestMessage(HttpMethod.Patch, "Patient/jp-etag") { Content = new StringContent("""[{"op":"replace","path":"/active","value":false}]""", Encoding.UTF8, "application/json-patch+json") };
        patch.Headers.IfMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue("\"7\"", true));
        using var response = await _host.Client.SendAsync(patch);
        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
    }

    private static Resource Parse(XElement wrapper) => Xml.DeserializeResource(wrapper.Elements().Single().ToString(SaveOptions.DisableFormatting));
}
