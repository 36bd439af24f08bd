using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;
using static Igia.Fhir.Tests.Search.SearchFixture;

namespace Igia.Fhir.Tests.Search;

/// <summary>Result control, system/compartment/POST search, strict and lenient handling, bad values and injection attempts.</summary>
[Collection("Search")]
public sealed class SearchRequestTests(SearchFixture f)
{
    [Fact]
    public async Task Search_Bundle_HasSearchsetTypeTotalFullUrlsAndSelfLink()
    {
        var bundle = await f.SearchAsync("Patient?family=smith&_count=10");
        Assert.Equal(Bundle.BundleType.Searchset, bundle.Type);
        Assert.Equal(2, bundle.Total);
        Assert.All(bundle.Entry, e => Assert.Equal($"{f.Host.BaseUrl}/Patient/{e.Resource.Id}", e.FullUrl));
        Assert.All(bundle.Entry, e => Assert.Equal(Bundle.SearchEntryMode.Match, e.Search.Mode));
        var self = Assert.Single(bundle.Link, l => l.Relation == "self").Url;
        Assert.Equal($"{f.Host.BaseUrl}/Patient?family=smith&_count=10", self);
        Assert.DoesNotContain(bundle.Link, l => l.Relation == "next");
    }

    [Fact]
    public async Task Total_NoneAccurate_AndSummaryCount()
    {
        Assert.Null((await f.SearchAsync("Patient?_total=none")).Total);
        Assert.Equal(3, (await f.SearchAsync("Patient?_total=accurate")).Total);
        var count = await f.SearchAsync("Patient?_summary=count");
        Assert.Equal(3, count.Total);
        Assert.Empty(count.Entry);
        var zero = await f.SearchAsync("Observation?_count=0");
        Assert.Equal(4, zero.Total);
        Assert.Empty(zero.Entry);
    }

    [Fact]
    public async Task Summary_AndElements_AreAcceptedAndValidated()
    {
        Assert.Equal(3, Matches(await f.SearchAsync("Patient?_summary=true")).Length);
        var elements = await f.SearchAsync("Patient?_elements=name,birthDate");
        Assert.Equal(3, elements.Entry.Count);
        Assert.All(elements.Entry, e => Assert.Null(((Patient)e.Resource).Gender));
        await f.SearchFailsAsync("Patient?_summary=everything");
        await f.SearchFailsAsync("Patient?_elements=name,notAnElement");
    }

    [Fact]
    public async Task Count_AboveMaximum_IsLoweredWithWarning()
    {
        var bundle = await f.SearchAsync("Patient?_count=100000");
        Assert.Equal(3, Matches(bundle).Length);
        var outcome = Assert.IsType<OperationOutcome>(Assert.Single(bundle.Entry, e => e.Search.Mode == Bundle.SearchEntryMode.Outcome).Resource);
        Assert.Contains("_count", outcome.Issue[0].Diagnostics);
    }

    [Fact]
    public async Task UnknownParameter_Lenient_IsIgnoredWithOutcomeWarning()
    {
        var bundle = await f.SearchAsync("Patient?family=smith&shoe-size=42");
        Assert.Equal(Ids(f.Smith, f.Smithson), Matches(bundle));
        var outcome = Assert.IsType<OperationOutcome>(Assert.Single(bundle.Entry, e => e.Search.Mode == Bundle.SearchEntryMode.Outcome).Resource);
        Assert.Equal(OperationOutcome.IssueSeverity.Warning, outcome.Issue[0].Severity);
        Assert.Contains("shoe-size", outcome.Issue[0].Diagnostics);
        Assert.DoesNotContain("shoe-size", bundle.Link.Single(l => l.Relation == "self").Url);
    }

    [Fact]
    public async Task UnknownParameterOrModifier_Strict_Is400NamingIt()
    {
        var outcome = await f.SearchFailsAsync("Patient?family=smith&shoe-size=42", strict: true);
        Assert.Contains("shoe-size", outcome.Issue[0].Diagnostics);
        var modifier = await f.SearchFailsAsync("Patient?family:sounds-like=smith", strict: true);
        Assert.Contains("family:sounds-like", modifier.Issue[0].Diagnostics);
        var lenient = await f.SearchAsync("Patient?family:sounds-like=smith");
        Assert.Equal(3, Matches(lenient).Length);
    }

    [Theory]
    [InlineData("Patient?birthdate=1980-13-01", "birthdate")]
    [InlineData("Patient?birthdate=yesterday", "birthdate")]
    [InlineData("Patient?birthdate=zz1980", "zz")]
    [InlineData("RiskAssessment?probability=high", "probability")]
    [InlineData("Observation?value-quantity=80|kg", "value-quantity")]
    [InlineData("Observation?value-quantity=heavy", "value-quantity")]
    [InlineData("Observation?subject=Patient/", "subject")]
    [InlineData("Observation?subject=NotAType/123", "subject")]
    [InlineData("Observation?subject=Patient/a/b/c", "subject")]
    [InlineData("Patient?identifier=a|b|c", "identifier")]
    [InlineData("Patient?identifier=|", "identifier")]
    [InlineData("Patient?_count=ten", "_count")]
    [InlineData("Patient?_count=-1", "_count")]
    [InlineData("Patient?_sort=shoe-size", "_sort")]
    [InlineData("Patient?_total=some", "_total")]
    [InlineData("Patient?_include=Patient:shoe", "_include")]
    [InlineData("Patient?_revinclude=Nothing:subject", "_revinclude")]
    [InlineData("Patient?gender:missing=maybe", "gender:missing")]
    [InlineData("Observation?code-value-quantity=http://loinc.org|29463-7", "code-value-quantity")]
    [InlineData("?_type=Patient,Spaceship", "_type")]
    [InlineData("Patient?_has:Observation", "_has")]
    public async Task InvalidValue_Is400OperationOutcomeNamingTheParameter(string url, string named)
    {
        var outcome = await f.SearchFailsAsync(url);
        Assert.Equal(OperationOutcome.IssueSeverity.Error, outcome.Issue[0].Severity);
        Assert.Contains(named, outcome.Issue[0].Diagnostics);
    }

    [Theory]
    [InlineData("Patient?name=' OR 1=1 --")]
    [InlineData("Patient?name=%25")]
    [InlineData("Patient?name=_")]
    [InlineData("Patient?name:contains=%25")]
    [InlineData("Patient?name:contains=_")]
    [InlineData("Patient?name:contains=\\")]
    [InlineData("Patient?name:exact=\"; DROP TABLE resource; --")]
    [InlineData("Patient?identifier='); DELETE FROM idx_token; --")]
    [InlineData("Patient?_id=' OR '1'='1")]
    [InlineData("Observation?code:text=%25' OR 1=1 --")]
    [InlineData("ValueSet?url:below=%25")]
    [InlineData("Patient?_has:Observation:patient:code=' OR 1=1")]
    [InlineData("Patient?organization.name=%25")]
    public async Task InjectionStrings_AreLiteralData_MatchNothingAndBreakNothing(string url)
    {
        Assert.Empty(Matches(await f.SearchAsync(url)));
        Assert.Equal(3, Matches(await f.SearchAsync("Patient")).Length);
    }

    [Theory]
    [InlineData("Patient?name:=x")]
    [InlineData("Patient?.=x")]
    [InlineData("Patient?:=x")]
    [InlineData("Patient?_has:::=x")]
    [InlineData("Patient?_has:Observation:patient:=x")]
    [InlineData("Patient?organization.=x")]
    [InlineData("Observation?subject:Patient.=x")]
    [InlineData("Observation?subject.name.family.given.x.y=z")]
    [InlineData("Patient?_sort=-")]
    [InlineData("Patient?_sort=,")]
    [InlineData("Patient?_include=*:*")]
    [InlineData("Patient?birthdate=ge")]
    [InlineData("Patient?birthdate=")]
    [InlineData("Observation?value-quantity=||")]
    [InlineData("Observation?value-quantity=1||")]
    [InlineData("Observation?value-quantity=1e999|http://unitsofmeasure.org|kg")]
    [InlineData("Observation?value-quantity=79228162514264337593543950335|http://unitsofmeasure.org|km")]
    [InlineData("RiskAssessment?probability=1e-40")]
    [InlineData("Observation?code-value-quantity=$")]
    [InlineData("Observation?code-value-quantity=$$$")]
    [InlineData("Patient?_count=99999999999")]
    [InlineData("Patient?_offset=2147483647")]
    [InlineData("Patient?_getpages=x")]
    [InlineData("Patient?_getpages=../../etc")]
    [InlineData("Patient?identifier=%ED%A0%80")]
    [InlineData("Patient?name=%00")]
    [InlineData("Patient?_lastUpdated=9999-12-31T23:59:59.9999999Z")]
    [InlineData("Patient?_lastUpdated=ap0001-01-01")]
    [InlineData("Patient?birthdate=sa9999")]
    [InlineData("Patient?_type=Patient")]
    [InlineData("?_type=")]
    [InlineData("?_sort=-_lastUpdated&_count=1")]
    [InlineData("Patient?_contained=true")]
    [InlineData("Patient?_text=x&_content=y&_list=z&_filter=q")]
    [InlineData("Location?near=1|2|3|km")]
    [InlineData("Patient?_elements=")]
    [InlineData("Patient?family=,,,")]
    [InlineData("Patient?family=\\")]
    [InlineData("Patient?gender:missing=true&gender:missing=false")]
    public async Task OddRequests_NeverFailWith500(string url)
    {
        using var response = await f.Host.Client.GetAsync(url);
        Assert.True((int)response.StatusCode is 200 or 400 or 404, $"{url} gave {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        if (response.StatusCode != HttpStatusCode.OK)
        {
            Assert.IsType<OperationOutcome>(await FhirTestHost.ReadAsync<OperationOutcome>(response));
        }
    }

    [Fact]
    public async Task TooManyAlternativesOrParameters_Is400()
    {
        await f.SearchFailsAsync("Patient?family=" + string.Join(",", Enumerable.Range(0, 101).Select(i => "n" + i)));
        await f.SearchFailsAsync("Patient?" + string.Join("&", Enumerable.Range(0, 65).Select(i => "family=n" + i)));
    }

    [Fact]
    public async Task VeryLongValue_MatchesNothing()
    {
        var value = new string('a', 6000) + "%'\"\\";
        Assert.Empty(Matches(await f.SearchAsync("Patient?name=" + Uri.EscapeDataString(value))));
        Assert.Empty(Matches(await f.SearchAsync("Patient?identifier=" + Uri.EscapeDataString(value))));
    }

    [Fact]
    public async Task SystemSearch_WithType_SearchesSeveralTypes()
    {
        var bundle = await f.SearchAsync($"?_type=Patient,Observation&_id={f.Muller.Id},{f.Weight1.Id},{f.Acme.Id}");
        Assert.Equal(Ids(f.Muller, f.Weight1), Matches(bundle));
        var tagged = await f.SearchAsync("?_tag=vip");
        Assert.Equal(Ids(f.Muller), Matches(tagged));
    }

    [Fact]
    public async Task SystemSearch_WithoutType_OnlyAllowsCommonParameters()
    {
        var bundle = await f.SearchAsync("?family=smith");
        var outcome = Assert.IsType<OperationOutcome>(bundle.Entry.Single(e => e.Search.Mode == Bundle.SearchEntryMode.Outcome).Resource);
        Assert.Contains("family", outcome.Issue[0].Diagnostics);
        await f.SearchFailsAsync("?family=smith", strict: true);
    }

    [Fact]
    public async Task PostSearch_FormParameters_Search()
    {
        using var content = new FormUrlEncodedContent([new("family", "smith"), new("given", "anna")]);
        using var response = await f.Host.Client.PostAsync("Patient/_search", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bundle = await FhirTestHost.ReadAsync<Bundle>(response);
        Assert.Equal(Ids(f.Smith), Matches(bundle));
    }

    [Fact]
    public async Task CompartmentSearch_RestrictsToTheCompartment()
    {
        Assert.Equal(Ids(f.Weight1, f.Systolic), Matches(await f.SearchAsync($"Patient/{f.Muller.Id}/Observation")));
        Assert.Equal(Ids(f.Weight1), Matches(await f.SearchAsync($"Patient/{f.Muller.Id}/Observation?code=29463-7")));
        Assert.Equal(Ids(f.Weight1, f.Systolic, f.Visit, f.Prescription, f.Muller), Matches(await f.SearchAsync($"Patient/{f.Muller.Id}/*")));
        Assert.Equal(Ids(f.Weight1), Matches(await f.SearchAsync($"Practitioner/{f.House.Id}/Observation")));
        Assert.Equal(Ids(f.Visit), Matches(await f.SearchAsync($"Encounter/{f.Visit.Id}/*")));
        await f.SearchFailsAsync($"Patient/{f.Muller.Id}/Organization");
    }

    [Fact]
    public async Task ConditionalCreate_UnknownCriteria_Is400AndKnownCriteriaFindMatch()
    {
        using var bad = new HttpRequestMessage(HttpMethod.Post, "Patient") { Content = FhirTestHost.JsonContent(new Patient { Active = false }) };
        bad.Headers.Add("If-None-Exist", "shoe-size=42");
        using var badResponse = await f.Host.Client.SendAsync(bad);
        Assert.Equal(HttpStatusCode.BadRequest, badResponse.StatusCode);
        Assert.Contains("shoe-size", (await FhirTestHost.ReadAsync<OperationOutcome>(badResponse)).Issue[0].Diagnostics);

        using var existing = new HttpRequestMessage(HttpMethod.Post, "Patient") { Content = FhirTestHost.JsonContent(new Patient { Active = false }) };
        existing.Headers.Add("If-None-Exist", $"identifier={Mrn}|MRN-1");
        using var existingResponse = await f.Host.Client.SendAsync(existing);
        Assert.True(existingResponse.StatusCode == HttpStatusCode.OK, await existingResponse.Content.ReadAsStringAsync());
        Assert.Equal(f.Muller.Id, (await FhirTestHost.ReadAsync<Patient>(existingResponse)).Id);
    }
}
