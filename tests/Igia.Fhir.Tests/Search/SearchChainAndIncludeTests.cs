using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using static Igia.Fhir.Tests.Search.SearchFixture;

namespace Igia.Fhir.Tests.Search;

/// <summary>Chaining, reverse chaining (_has), _include/_revinclude and sorting.</summary>
[Collection("Search")]
public sealed class SearchChainAndIncludeTests(SearchFixture f)
{
    [Fact]
    public async Task Chain_WithTypeModifier_SearchesTheReferencedResource()
    {
        Assert.Equal(Ids(f.Weight1, f.Systolic), Matches(await f.SearchAsync("Observation?subject:Patient.name=muller")));
    }

    [Fact]
    public async Task Chain_WithoutTypeModifier_UsesTargetsThatHaveTheParameter()
    {
        Assert.Equal(Ids(f.Weight2, f.Panel), Matches(await f.SearchAsync("Observation?patient.family:exact=Smith")));
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync("Patient?organization.name=acme")));
        Assert.Equal(Ids(f.Weight1), Matches(await f.SearchAsync("Observation?performer:Practitioner.family=house")));
    }

    [Fact]
    public async Task Chain_TwoLevels_Work()
    {
        Assert.Equal(Ids(f.Weight1, f.Systolic), Matches(await f.SearchAsync("Observation?subject:Patient.organization.name=acme")));
    }

    [Fact]
    public async Task Has_ReverseChain_MatchesResourcesReferredToByMatchingResources()
    {
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync("Patient?_has:Observation:patient:code=8480-6")));
        Assert.Equal(Ids(f.Muller, f.Smith), Matches(await f.SearchAsync($"Patient?_has:Observation:subject:code={Loinc}|29463-7")));
        Assert.Empty(Matches(await f.SearchAsync("Patient?_has:Observation:patient:code=0000-0")));
    }

    [Fact]
    public async Task Has_Nested_Works()
    {
        // Practitioners who performed an Observation about a patient who has an Encounter.
        Assert.Equal(Ids(f.House), Matches(await f.SearchAsync("Practitioner?_has:Observation:performer:patient._has:Encounter:patient:status=finished")));
    }

    [Fact]
    public async Task Include_AddsReferencedResourcesWithIncludeMode()
    {
        var bundle = await f.SearchAsync($"Observation?_id={f.Weight1.Id}&_include=Observation:subject&_include=Observation:performer:Practitioner");
        Assert.Equal(Ids(f.Weight1), Matches(bundle));
        Assert.Equal(Ids(f.Muller, f.House), Included(bundle));
        Assert.Equal(1, bundle.Total);
    }

    [Fact]
    public async Task Include_Wildcard_FollowsEveryReference()
    {
        var bundle = await f.SearchAsync($"MedicationRequest?_id={f.Prescription.Id}&_include=*");
        Assert.Equal(Ids(f.Muller, f.Medication, f.House), Included(bundle));
    }

    [Fact]
    public async Task Include_Iterate_FollowsReferencesOfIncludedResources()
    {
        var plain = await f.SearchAsync($"Observation?_id={f.Weight1.Id}&_include=Observation:subject&_include=Patient:organization");
        Assert.Equal(Ids(f.Muller), Included(plain));
        var iterated = await f.SearchAsync($"Observation?_id={f.Weight1.Id}&_include=Observation:subject&_include:iterate=Patient:organization");
        Assert.Equal(Ids(f.Muller, f.Acme), Included(iterated));
    }

    [Fact]
    public async Task RevInclude_AddsReferringResources()
    {
        var bundle = await f.SearchAsync($"Patient?_id={f.Muller.Id}&_revinclude=Observation:subject");
        Assert.Equal(Ids(f.Muller), Matches(bundle));
        Assert.Equal(Ids(f.Weight1, f.Systolic), Included(bundle));
        Assert.All(bundle.Entry.Where(e => e.Search.Mode == Bundle.SearchEntryMode.Include), e => Assert.StartsWith(f.Host.BaseUrl + "/Observation/", e.FullUrl));
    }

    [Fact]
    public async Task RevInclude_WildcardAndIterate_Work()
    {
        var all = await f.SearchAsync($"Patient?_id={f.Muller.Id}&_revinclude=*");
        Assert.Equal(Ids(f.Weight1, f.Systolic, f.Visit, f.Prescription), Included(all));
        var iterated = await f.SearchAsync($"Organization?_id={f.Acme.Id}&_revinclude=Patient:organization&_revinclude:iterate=Observation:patient");
        Assert.Equal(Ids(f.Muller, f.Weight1, f.Systolic), Included(iterated));
    }

    [Fact]
    public async Task Sort_Ascending_Descending_AndMultiKey()
    {
        Assert.Equal(Order(f.Muller, f.Smith, f.Smithson), MatchOrder(await f.SearchAsync("Patient?_sort=birthdate")));
        Assert.Equal(Order(f.Smithson, f.Smith, f.Muller), MatchOrder(await f.SearchAsync("Patient?_sort=-birthdate")));
        Assert.Equal(Order(f.Muller, f.Smith, f.Smithson), MatchOrder(await f.SearchAsync("Patient?_sort=family")));
        Assert.Equal(Order(f.Smith, f.Muller, f.Smithson), MatchOrder(await f.SearchAsync("Patient?_sort=gender,-birthdate")));
        var byStatusThenDate = MatchOrder(await f.SearchAsync("Observation?_sort=-status,-date"));
        Assert.Equal(Order(f.Systolic, f.Panel, f.Weight1, f.Weight2), byStatusThenDate);
    }

    [Fact]
    public async Task Sort_ByIdAndLastUpdated_Work()
    {
        var byId = MatchOrder(await f.SearchAsync("Patient?_sort=_id"));
        Assert.Equal(byId.Order(StringComparer.Ordinal).ToArray(), byId);
        Assert.Equal(Order(f.Smithson, f.Smith, f.Muller), MatchOrder(await f.SearchAsync("Patient?_sort=-_lastUpdated")));
    }

    private static string[] Order(params Resource[] resources) => resources.Select(r => r.Id).ToArray();

    private static string[] MatchOrder(Bundle bundle) =>
        bundle.Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Match).Select(e => e.Resource.Id).ToArray();
}
