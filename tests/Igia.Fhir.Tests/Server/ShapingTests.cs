using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Igia.Fhir.Tests.Server;

/// <summary>
/// <c>_elements</c> per resource (id, meta and mandatory elements kept, SUBSETTED tag), POST <c>_search</c> form parameters
/// shaping the answer like GET ones, and conditional reads with <c>If-None-Match</c> lists and <c>*</c>.
/// </summary>
public sealed class ShapingTests : IAsyncLifetime
{
    private const string Subsetted = "SUBSETTED";
    private FhirTestHost _host = null!;

    public async Task InitializeAsync() => _host = await FhirTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<Patient> SeedPatientAsync(string family) =>
        await _host.CreateAsync(new Patient
        {
            Name = [new HumanName { Family = family, Given = ["Ann"] }],
            Gender = AdministrativeGender.Female,
            BirthDate = "1980-02-03",
            Active = true,
            MaritalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "M"),
        });

    private static void AssertSubsetted(Resource resource) =>
        Assert.Contains(resource.Meta.Tag, t => t.Code == Subsetted && t.System == "http://terminology.hl7.org/CodeSystem/v3-ObservationValue");

    [Fact]
    public async Task Search_Elements_KeepsIdMetaAndNamedElementsPerEntry_AndMarksSubsetted()
    {
        var created = await SeedPatientAsync("Shape");
        var bundle = await _host.GetAsync<Bundle>("Patient?family=shape&_elements=name");
        var patient = Assert.IsType<Patient>(Assert.Single(bundle.Entry).Resource);
        Assert.Equal(created.Id, patient.Id);
        Assert.Equal("1", patient.Meta.VersionId);
        Assert.NotNull(patient.Meta.LastUpdated);
        AssertSubsetted(patient);
        Assert.Equal("Shape", Assert.Single(patient.Name).Family);
        Assert.Null(patient.Gender);
        Assert.Null(patient.BirthDate);
        Assert.Null(patient.Active);
        Assert.EndsWith($"Patient/{created.Id}", Assert.Single(bundle.Entry).FullUrl);
    }

    [Fact]
    public async Task Search_Elements_KeepsMandatoryElements_AndLeavesIncludesWhole()
    {
        var patient = await SeedPatientAsync("Mandatory");
        var observation = await _host.CreateAsync(new Observation
        {
            Status = ObservationStatus.Final,
            Code = new CodeableConcept("http://loinc.org", "8867-4"),
            Subject = new ResourceReference($"Patient/{patient.Id}"),
            Value = new Quantity(72, "/min"),
        });

        var bundle = await _host.GetAsync<Bundle>($"Observation?subject=Patient/{patient.Id}&_elements=subject&_include=Observation:subject");
        var match = Assert.IsType<Observation>(Assert.Single(bundle.Entry, e => e.Search.Mode == Bundle.SearchEntryMode.Match).Resource);
        Assert.Equal(observation.Id, match.Id);
        Assert.Equal(ObservationStatus.Final, match.Status); // status and code are 1..1 in Observation
        Assert.Equal("8867-4", match.Code.Coding[0].Code);
        Assert.NotNull(match.Subject);
        Assert.Null(match.Value);
        AssertSubsetted(match);

        var included = Assert.IsType<Patient>(Assert.Single(bundle.Entry, e => e.Search.Mode == Bundle.SearchEntryMode.Include).Resource);
        Assert.Equal(AdministrativeGender.Female, included.Gender);
        Assert.DoesNotContain(included.Meta.Tag, t => t.Code == Subsetted);
    }

    [Fact]
    public async Task Read_Elements_KeepsIdAndMeta_AndMarksSubsetted()
    {
        var created = await SeedPatientAsync("Reader");
        var patient = await _host.GetAsync<Patient>($"Patient/{created.Id}?_elements=birthDate");
        Assert.Equal(created.Id, patient.Id);
        Assert.Equal("1", patient.Meta.VersionId);
        Assert.Equal("1980-02-03", patient.BirthDate);
        Assert.Empty(patient.Name);
        AssertSubsetted(patient);

        var stored = await _host.GetAsync<Patient>($"Patient/{created.Id}");
        Assert.DoesNotContain(stored.Meta.Tag, t => t.Code == Subsetted);
        Assert.Equal("Reader", stored.Name[0].Family);
    }

    [Fact]
    public async Task PostSearch_FormElementsAndSummary_ShapeLikeGet()
    {
        var created = await SeedPatientAsync("Former");
        using (var response = await _host.Client.PostAsync("Patient/_search", new FormUrlEncodedContent([new("family", "former"), new("_elements", "name")])))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var patient = Assert.IsType<Patient>(Assert.Single((await FhirTestHost.ReadAsync<Bundle>(response)).Entry).Resource);
            Assert.Equal(created.Id, patient.Id);
            Assert.Null(patient.Gender);
            Assert.Equal("Former", patient.Name[0].Family);
            AssertSubsetted(patient);
        }

        using (var response = await _host.Client.PostAsync("Patient/_search", new FormUrlEncodedContent([new("family", "former"), new("_summary", "true")])))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var patient = Assert.IsType<Patient>(Assert.Single((await FhirTestHost.ReadAsync<Bundle>(response)).Entry).Resource);
            Assert.NotEmpty(patient.Name); // name is a summary element of Patient, maritalStatus is not
            Assert.Null(patient.MaritalStatus);
        }

        using (var response = await _host.Client.PostAsync("Patient/_search", new FormUrlEncodedContent([new("family", "former"), new("_pretty", "true")])))
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.Contains("\n", text);
        }

        using (var response = await _host.Client.PostAsync("Patient/_search", new FormUrlEncodedContent([new("family", "former")])))
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("\n", text.Trim());
            Assert.NotNull(((Patient)Assert.Single((await FhirTestHost.ReadAsync<Bundle>(response)).Entry).Resource).MaritalStatus);
        }
    }

    [Theory]
    [InlineData("W/\"1\"", HttpStatusCode.NotModified)]
    [InlineData("\"1\"", HttpStatusCode.NotModified)]
    [InlineData("W/\"7\", W/\"1\"", HttpStatusCode.NotModified)]
    [InlineData("*", HttpStatusCode.NotModified)]
    [InlineData("W/\"2\"", HttpStatusCode.OK)]
    [InlineData("W/\"\"", HttpStatusCode.OK)]
    public async Task Read_IfNoneMatch_304OnlyWhenAListedTagIsCurrent(string header, HttpStatusCode expected)
    {
        var created = await SeedPatientAsync("Etag");
        using var response = await _host.SendAsync(HttpMethod.Get, $"Patient/{created.Id}", null, ("If-None-Match", header));
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("W/\"1\"", response.Headers.ETag?.ToString());
        if (expected == HttpStatusCode.NotModified)
        {
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        }
        else
        {
            Assert.Equal(created.Id, (await FhirTestHost.ReadAsync<Patient>(response)).Id);
        }
    }

    [Fact]
    public async Task Read_IfNoneMatchMisses_IgnoresIfModifiedSince()
    {
        var created = await SeedPatientAsync("Precedence");
        var later = created.Meta.LastUpdated!.Value.AddMinutes(5).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        using var response = await _host.SendAsync(HttpMethod.Get, $"Patient/{created.Id}", null, ("If-None-Match", "W/\"9\""), ("If-Modified-Since", later));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
