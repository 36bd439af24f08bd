using Hl7.Fhir.Model;
using Igia.Terminology.Tests.Infrastructure;

namespace Igia.Terminology.Tests.Engine;

/// <summary>Every ValueSet filter operator, expanded and validated against the test code system.</summary>
public sealed class FilterOperatorTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    public static TheoryData<string, FilterOperator, string, string> Filters => new()
    {
        { "concept", FilterOperator.Equal, "A1", "A1" },
        { "prop", FilterOperator.Equal, "x", "A1" },
        { "concept", FilterOperator.IsA, "A", "A,A1,A1a,A2" },
        { "concept", FilterOperator.DescendentOf, "A", "A1,A1a,A2" },
        { "concept", FilterOperator.IsNotA, "A", "B,B1" },
        { "code", FilterOperator.Regex, "A1.*", "A1,A1a" },
        { "concept", FilterOperator.In, "A1,B1", "A1,B1" },
        { "concept", FilterOperator.NotIn, "A1,B1", "A,A1a,A2,B" },
        { "concept", FilterOperator.Generalizes, "A1a", "A,A1,A1a" },
        { "concept", FilterOperator.ChildOf, "A", "A1,A2" },
        { "concept", FilterOperator.DescendentLeaf, "A", "A1a,A2" },
        { "prop", FilterOperator.Exists, "true", "A1" },
        { "prop", FilterOperator.Exists, "false", "A,A1a,A2,B,B1" },
    };

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task Expand_Filter_ReturnsTheMatchingConcepts(string property, FilterOperator op, string value, string expected)
    {
        var expansion = (ValueSet)await fixture.Service.Expand(new Parameters { { "valueSet", TestContent.Filtered(property, op, value) } });

        Assert.Equal(expected.Split(','), TestContent.Codes(expansion));
    }

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task ValidateCode_Filter_AgreesWithTheExpansion(string property, FilterOperator op, string value, string expected)
    {
        var members = expected.Split(',').ToHashSet();
        foreach (var code in new[] { "A", "A1", "A1a", "A2", "B", "B1" })
        {
            var result = await fixture.Service.ValueSetValidateCode(new Parameters
            {
                { "valueSet", TestContent.Filtered(property, op, value) },
                { "coding", new Coding(TestContent.System, code) },
            });

            Assert.True(members.Contains(code) == result.GetSingleValue<FhirBoolean>("result")?.Value, $"{code} {op} {value}");
        }
    }

    [Fact]
    public async Task Expand_FilterOnUnknownProperty_IsRefusedWith4xx()
    {
        var e = await Assert.ThrowsAsync<TerminologyOperationException>(() =>
            fixture.Service.Expand(new Parameters { { "valueSet", TestContent.Filtered("nonsense", FilterOperator.Equal, "1") } }));

        Assert.InRange((int)e.Status, 400, 499);
    }

    [Fact]
    public async Task Expand_CatastrophicRegex_ReturnsPromptly()
    {
        var expansion = (ValueSet)await fixture.Service.Expand(new Parameters { { "valueSet", TestContent.Filtered("code", FilterOperator.Regex, "(a+)+b") } });
        Assert.Empty(TestContent.Codes(expansion));

        // No timing assertion (the machine may be loaded): the filter runs on the linear-time engine, which answers an
        // input that makes a backtracking engine take exponential time (there: a too-costly error after its timeout).
        var regex = Igia.Terminology.Engine.ConceptFilters.MakeRegex("(a+)+b");
        Assert.True(regex.Options.HasFlag(System.Text.RegularExpressions.RegexOptions.NonBacktracking), regex.Options.ToString());
        Assert.DoesNotMatch(regex, new string('a', 5000) + "c");
    }
}
