using Hl7.Fhir.Model;
using Igia.Terminology.Tests.Infrastructure;

namespace Igia.Terminology.Tests.Engine;

/// <summary>The <c>$expand</c> parameters: paging, text filter, activeOnly, designations, languages, size limit.</summary>
public sealed class ExpandTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private Task<Resource> Expand(params (string Name, DataType Value)[] parameters)
    {
        var p = new Parameters { { "url", new FhirUri(TestContent.ValueSetAll) } };
        foreach (var (name, value) in parameters)
        {
            p.Add(name, value);
        }

        return fixture.Service.Expand(p);
    }

    [Fact]
    public async Task Expand_WholeCodeSystem_KeepsTheHierarchyAndCountsEveryConcept()
    {
        var vs = (ValueSet)await Expand();

        Assert.Equal(6, vs.Expansion!.Total);
        Assert.Equal(["A", "B"], vs.Expansion!.Contains.Select(c => c.Code));
        Assert.Contains(vs.Expansion!.Parameter, p => p.Name == "used-codesystem" && p.Value!.ToString() == TestContent.System + "|1.0.0");
    }

    [Fact]
    public async Task Expand_CountAndOffset_ReturnsThatPageAndTheTotal()
    {
        var vs = (ValueSet)await Expand(("offset", new Integer(2)), ("count", new Integer(2)));

        Assert.Equal(6, vs.Expansion!.Total);
        Assert.Equal(2, vs.Expansion!.Offset);
        Assert.Equal(2, vs.Expansion!.Contains.Count);
    }

    [Fact]
    public async Task Expand_TextFilter_MatchesWordStartsOfDisplays()
    {
        var vs = (ValueSet)await Expand(("filter", new FhirString("one")));

        Assert.Equal(["A1", "A1a", "B1"], TestContent.Codes(vs));
    }

    [Fact]
    public async Task Expand_ActiveOnly_LeavesOutInactiveConcepts()
    {
        var vs = (ValueSet)await Expand(("activeOnly", new FhirBoolean(true)));

        Assert.DoesNotContain("A2", TestContent.Codes(vs));
        Assert.Equal(5, vs.Expansion!.Total);
    }

    [Fact]
    public async Task Expand_InactiveConcept_IsFlaggedInactive()
    {
        var vs = (ValueSet)await Expand(("excludeNested", new FhirBoolean(true)));

        Assert.True(vs.Expansion!.Contains.Single(c => c.Code == "A2").Inactive);
        Assert.True(vs.Expansion!.Contains.Single(c => c.Code == "B").Abstract);
    }

    [Fact]
    public async Task Expand_IncludeDesignationsAndDisplayLanguage_UsesTheTranslationAndListsTheOthers()
    {
        var vs = (ValueSet)await Expand(("includeDesignations", new FhirBoolean(true)), ("displayLanguage", new Code("de")), ("excludeNested", new FhirBoolean(true)));

        var b1 = vs.Expansion!.Contains.Single(c => c.Code == "B1");
        Assert.Equal("Beta eins", b1.Display);
        Assert.Contains(b1.Designation, d => d.Value == "Beta one");
    }

    [Fact]
    public async Task Expand_LargerThanTheLimit_IsRefusedAsTooCostly()
    {
        await using var small = await InProcessTerminology.CreateAsync(
            c => c.AddResource(TestContent.TestCodeSystem()).AddResource(TestContent.AllValueSet()),
            o => o.MaxExpansionSize = 3);

        var e = await Assert.ThrowsAsync<TerminologyOperationException>(() => small.Service.Expand(new Parameters { { "url", new FhirUri(TestContent.ValueSetAll) } }));

        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, e.Status);
        Assert.Equal(OperationOutcome.IssueType.TooCostly, e.Outcome!.Issue[0].Code);
    }

    [Fact]
    public async Task Expand_UnknownValueSet_IsNotFound()
    {
        var e = await Assert.ThrowsAsync<TerminologyOperationException>(() => fixture.Service.Expand(new Parameters { { "url", new FhirUri("http://example.org/nothing") } }));

        Assert.InRange((int)e.Status, 400, 499);
        Assert.Contains("http://example.org/nothing", e.Outcome!.Issue[0].Details!.Text);
    }
}
