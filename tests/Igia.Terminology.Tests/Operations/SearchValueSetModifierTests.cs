using System.Net;
using Hl7.Fhir.Model;
using Igia.Terminology.Tests.Infrastructure;

namespace Igia.Terminology.Tests.Operations;

/// <summary>FHIR search's token modifiers <c>:in</c> and <c>:not-in</c>, answered with the terminology service's expansions.</summary>
public sealed class SearchValueSetModifierTests
{
    private const string OnlyA = "http://example.org/fhir/ValueSet/tests-only-a";

    private static ValueSet OnlyAValueSet() => new()
    {
        Url = OnlyA,
        Status = PublicationStatus.Active,
        Compose = new ValueSet.ComposeComponent
        {
            Include = [new ValueSet.ConceptSetComponent
            {
                System = TestContent.System,
                Filter = [new ValueSet.FilterComponent { Property = "concept", Op = FilterOperator.IsA, Value = "A" }],
            }],
        },
    };

    private static Observation WithCode(string id, string code) => new()
    {
        Id = id,
        Status = ObservationStatus.Final,
        Code = new CodeableConcept(TestContent.System, code),
    };

    [Fact]
    public async Task Search_TokenInAndNotIn_UseTheValueSetExpansion()
    {
        await using var host = await TerminologyTestHost.StartAsync(c => c.AddResource(TestContent.TestCodeSystem()).AddResource(OnlyAValueSet()));
        foreach (var (id, code) in new[] { ("o-a1", "A1"), ("o-a1a", "A1a"), ("o-b1", "B1") })
        {
            using var put = await host.Client.PutAsync($"Observation/{id}", TerminologyTestHost.JsonContent(WithCode(id, code)));
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }

        async Task<List<string>> Ids(string query)
        {
            using var response = await host.Client.GetAsync("Observation?" + query);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var bundle = await TerminologyTestHost.ReadAsync<Bundle>(response);
            return bundle.Entry.Select(e => e.Resource!.Id!).Order(StringComparer.Ordinal).ToList();
        }

        Assert.Equal(["o-a1", "o-a1a"], await Ids("code:in=" + Uri.EscapeDataString(OnlyA)));
        Assert.Equal(["o-b1"], await Ids("code:not-in=" + Uri.EscapeDataString(OnlyA)));
    }

    [Fact]
    public async Task Search_TokenInAnUnknownValueSet_Is400NamingTheValueSet()
    {
        await using var host = await TerminologyTestHost.StartAsync(c => c.AddResource(TestContent.TestCodeSystem()));

        using var response = await host.Client.GetAsync("Observation?code:in=" + Uri.EscapeDataString("http://example.org/fhir/ValueSet/none"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("OperationOutcome", body);
        Assert.Contains("http://example.org/fhir/ValueSet/none' is not known to this server", body);
    }
}
