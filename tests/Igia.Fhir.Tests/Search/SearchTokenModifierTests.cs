using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Search;
using Igia.Fhir.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Task = System.Threading.Tasks.Task;

namespace Igia.Fhir.Tests.Search;

/// <summary>Token modifiers <c>:of-type</c>, and <c>:in</c>/<c>:not-in</c> through an <see cref="IFhirValueSetMembership"/>.</summary>
public sealed class SearchTokenModifierTests : IAsyncLifetime
{
    private const string Loinc = "http://loinc.org";
    private const string VitalsValueSet = "http://example.org/fhir/ValueSet/test-vitals";
    private const string V2 = "http://terminology.hl7.org/CodeSystem/v2-0203";
    private FhirTestHost _host = null!;
    private FhirTestHost? _bare;

    public async Task InitializeAsync() =>
        _host = await FhirTestHost.StartAsync(configureServices: s => s.AddSingleton<IFhirValueSetMembership, TestValueSets>());

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        if (_bare is not null)
        {
            await _bare.DisposeAsync();
        }
    }

    private sealed class TestValueSets : IFhirValueSetMembership
    {
        public ValueTask<IReadOnlyCollection<FhirSearchCode>?> ExpandAsync(string valueSet, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyCollection<FhirSearchCode>?>(valueSet switch
            {
                VitalsValueSet => [new(Loinc, "8867-4"), new(Loinc, "8480-6")],
                "http://example.org/fhir/ValueSet/empty" => [],
                "http://example.org/fhir/ValueSet/huge" => Enumerable.Range(0, 1000).Select(i => new FhirSearchCode(Loinc, $"x-{i}")).ToArray(),
                _ => null,
            });
    }

    private async Task<HashSet<string>> SeedObservationsAsync(string tag)
    {
        var ids = new HashSet<string>();
        foreach (var code in new[] { "8867-4", "8480-6", "2339-0" })
        {
            var observation = await _host.CreateAsync(new Observation
            {
                Status = ObservationStatus.Final,
                Code = new CodeableConcept(Loinc, code),
                Meta = new Meta { Tag = [new Coding("http://example.org/run", tag)] },
            });
            ids.Add(code + "=" + observation.Id);
        }

        return ids;
    }

    private async Task<List<string>> CodesOfAsync(string query)
    {
        var bundle = await _host.GetAsync<Bundle>(query);
        return bundle.Entry.Where(e => e.Search.Mode == Bundle.SearchEntryMode.Match).Select(e => ((Observation)e.Resource).Code.Coding[0].Code).OrderBy(c => c, StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task In_MatchesCodesOfTheExpansion_NotIn_TheOthers()
    {
        await SeedObservationsAsync("in");
        Assert.Equal(["8480-6", "8867-4"], await CodesOfAsync($"Observation?_tag=http://example.org/run|in&code:in={VitalsValueSet}"));
        Assert.Equal(["2339-0"], await CodesOfAsync($"Observation?_tag=http://example.org/run|in&code:not-in={VitalsValueSet}"));
        Assert.Empty(await CodesOfAsync("Observation?_tag=http://example.org/run|in&code:in=http://example.org/fhir/ValueSet/empty"));
        Assert.Equal(3, (await CodesOfAsync("Observation?_tag=http://example.org/run|in&code:not-in=http://example.org/fhir/ValueSet/empty")).Count);
    }

    [Fact]
    public async Task In_UnknownOrHugeValueSet_Is400WithOutcome()
    {
        using (var unknown = await _host.Client.GetAsync("Observation?code:in=http://example.org/fhir/ValueSet/nope"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
            Assert.Contains("not known", await unknown.Content.ReadAsStringAsync());
        }

        using var huge = await _host.Client.GetAsync("Observation?code:in=http://example.org/fhir/ValueSet/huge");
        Assert.Equal(HttpStatusCode.BadRequest, huge.StatusCode);
        Assert.Contains("OperationOutcome", await huge.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task In_WithoutMembershipService_IsUnsupported()
    {
        _bare = await FhirTestHost.StartAsync();
        using var strict = new HttpRequestMessage(HttpMethod.Get, $"Observation?code:in={VitalsValueSet}");
        strict.Headers.Add("Prefer", "handling=strict");
        using var response = await _bare.Client.SendAsync(strict);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(":in", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OfType_MatchesTypeCodingAndValue()
    {
        var mrn = await _host.CreateAsync(new Patient
        {
            Identifier = [new Identifier("http://hospital.example/mrn", "12345") { Type = new CodeableConcept(V2, "MR") }],
        });
        await _host.CreateAsync(new Patient
        {
            Identifier = [new Identifier("http://hospital.example/dl", "12345") { Type = new CodeableConcept(V2, "DL") }],
        });

        var bundle = await _host.GetAsync<Bundle>($"Patient?identifier:of-type={V2}|MR|12345");
        Assert.Equal(mrn.Id, Assert.Single(bundle.Entry).Resource.Id);
        Assert.Empty((await _host.GetAsync<Bundle>($"Patient?identifier:of-type={V2}|MR|99999")).Entry);
        Assert.Equal(2, (await _host.GetAsync<Bundle>("Patient?identifier=12345")).Entry.Count);

        using var partial = await _host.Client.GetAsync($"Patient?identifier:of-type={V2}|MR");
        Assert.Equal(HttpStatusCode.BadRequest, partial.StatusCode);
    }
}

/// <summary><c>_list</c>: the resources a List's entries reference.</summary>
public sealed class SearchListParameterTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;

    public async Task InitializeAsync() => _host = await FhirTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task List_MatchesTheResourcesItsEntriesReference_AndCombinesWithOtherParameters()
    {
        var a = await _host.CreateAsync(new Patient { Name = [new HumanName { Family = "Listed" }], Gender = AdministrativeGender.Female });
        var b = await _host.CreateAsync(new Patient { Name = [new HumanName { Family = "Listed" }], Gender = AdministrativeGender.Male });
        await _host.CreateAsync(new Patient { Name = [new HumanName { Family = "Listed" }] });
        var list = await _host.CreateAsync(new List
        {
            Status = List.ListStatus.Current,
            Mode = ListMode.Working,
            Entry = [new List.EntryComponent { Item = new ResourceReference($"Patient/{a.Id}") }, new List.EntryComponent { Item = new ResourceReference($"Patient/{b.Id}") }],
        });

        var all = await _host.GetAsync<Bundle>($"Patient?_list={list.Id}");
        Assert.Equal(new[] { a.Id, b.Id }.Order(), all.Entry.Select(e => e.Resource.Id).Order());
        Assert.Contains(all.Link, l => l.Relation == "self" && l.Url.Contains("_list=" + list.Id));
        var female = await _host.GetAsync<Bundle>($"Patient?_list={list.Id}&gender=female");
        Assert.Equal(a.Id, Assert.Single(female.Entry).Resource.Id);
        Assert.Empty((await _host.GetAsync<Bundle>("Patient?_list=no-such-list")).Entry);

        using var functional = new HttpRequestMessage(HttpMethod.Get, "Patient?_list=$current-problems");
        functional.Headers.Add("Prefer", "handling=strict");
        using var response = await _host.Client.SendAsync(functional);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
