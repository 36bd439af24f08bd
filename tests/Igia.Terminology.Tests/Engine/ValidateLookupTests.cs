using Hl7.Fhir.Model;
using Igia.Terminology.Tests.Infrastructure;

namespace Igia.Terminology.Tests.Engine;

/// <summary>$validate-code (value set and code system), $lookup, $subsumes and $translate in process.</summary>
public sealed class ValidateLookupTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static bool Result(Parameters p) => p.GetSingleValue<FhirBoolean>("result")?.Value == true;

    [Fact]
    public async Task ValueSetValidateCode_KnownCodeWithRightDisplay_IsValid()
    {
        var result = await fixture.Service.ValueSetValidateCode(new Parameters
        {
            { "url", new FhirUri(TestContent.ValueSetAll) },
            { "coding", new Coding(TestContent.System, "A1", "Alpha one") },
        });

        Assert.True(Result(result));
        Assert.Equal("Alpha one", result.GetSingleValue<FhirString>("display")?.Value);
    }

    [Fact]
    public async Task ValueSetValidateCode_WrongDisplay_IsInvalidAndSaysWhy()
    {
        var result = await fixture.Service.ValueSetValidateCode(new Parameters
        {
            { "url", new FhirUri(TestContent.ValueSetAll) },
            { "coding", new Coding(TestContent.System, "A1", "Alpha 1") },
        });

        Assert.False(Result(result));
        Assert.Contains("Wrong Display Name 'Alpha 1'", result.GetSingleValue<FhirString>("message")?.Value);
    }

    [Fact]
    public async Task ValueSetValidateCode_UnknownCode_IsInvalidWithAnIssueOnTheCode()
    {
        var result = await fixture.Service.ValueSetValidateCode(new Parameters
        {
            { "url", new FhirUri(TestContent.ValueSetAll) },
            { "code", new Code("Z") },
            { "system", new FhirUri(TestContent.System) },
        });

        Assert.False(Result(result));
        var issues = (OperationOutcome)result.Parameter.Single(p => p.Name == "issues").Resource!;
        Assert.Contains(issues.Issue, i => i.Expression.Contains("code") && i.Details!.Coding.Any(c => c.Code == "invalid-code"));
    }

    [Fact]
    public async Task ValueSetValidateCode_AbstractConceptWhenAbstractNotAllowed_IsInvalid()
    {
        var result = await fixture.Service.ValueSetValidateCode(new Parameters
        {
            { "url", new FhirUri(TestContent.ValueSetAll) },
            { "coding", new Coding(TestContent.System, "B") },
            { "abstract", new FhirBoolean(false) },
        });

        Assert.False(Result(result));
    }

    [Fact]
    public async Task CodeSystemValidateCode_InactiveConcept_IsValidWithAWarning()
    {
        var result = await fixture.Service.CodeSystemValidateCode(new Parameters
        {
            { "url", new FhirUri(TestContent.System) },
            { "code", new Code("A2") },
        });

        Assert.True(Result(result));
        Assert.True(result.GetSingleValue<FhirBoolean>("inactive")?.Value);
    }

    [Fact]
    public async Task Lookup_KnownCode_ReturnsDisplayDesignationsAndHierarchy()
    {
        var result = await fixture.Service.Lookup(new Parameters
        {
            { "system", new FhirUri(TestContent.System) },
            { "code", new Code("B1") },
            { "property", new Code("parent") },
        });

        Assert.Equal("Beta one", result.GetSingleValue<FhirString>("display")?.Value);
        Assert.Contains(result.Parameter, p => p.Name == "designation" && p.Part.Any(x => x.Name == "value" && x.Value!.ToString() == "Beta eins"));
        Assert.Contains(result.Parameter, p => p.Name == "property" && p.Part.Any(x => x.Name == "value" && x.Value!.ToString() == "B"));
    }

    [Fact]
    public async Task Lookup_UnknownCode_IsNotFound()
    {
        var e = await Assert.ThrowsAsync<TerminologyOperationException>(() => fixture.Service.Lookup(new Parameters
        {
            { "system", new FhirUri(TestContent.System) },
            { "code", new Code("Z") },
        }));

        Assert.InRange((int)e.Status, 400, 499);
    }

    [Theory]
    [InlineData("A", "A1a", "subsumes")]
    [InlineData("A1a", "A", "subsumed-by")]
    [InlineData("A1", "A1", "equivalent")]
    [InlineData("A1", "B1", "not-subsumed")]
    public async Task Subsumes_TwoCodes_ReturnsTheirRelationship(string a, string b, string expected)
    {
        var result = await fixture.Service.Subsumes(new Parameters
        {
            { "system", new FhirUri(TestContent.System) },
            { "codeA", new Code(a) },
            { "codeB", new Code(b) },
        });

        Assert.Equal(expected, result.GetSingleValue<Code>("outcome")?.Value);
    }

    [Fact]
    public async Task Translate_CoreConceptMap_FindsTheTarget()
    {
        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddResource(new ConceptMap
        {
            Url = "http://example.org/fhir/ConceptMap/tests",
            Status = PublicationStatus.Active,
            Group =
            [
                new ConceptMap.GroupComponent
                {
                    Source = TestContent.System,
                    Target = "http://example.org/other",
                    Element = [new ConceptMap.SourceElementComponent { Code = "A1", Target = [new ConceptMap.TargetElementComponent { Code = "X1", Equivalence = ConceptMapEquivalence.Equivalent }] }],
                },
            ],
        }));

        var result = await tx.Service.Translate(new Parameters
        {
            { "system", new FhirUri(TestContent.System) },
            { "code", new Code("A1") },
            { "targetsystem", new FhirUri("http://example.org/other") },
        });

        Assert.True(Result(result));
        var match = result.Parameter.Single(p => p.Name == "match");
        Assert.Equal("X1", ((Coding)match.Part.Single(p => p.Name == "concept").Value!).Code);
    }

    [Theory]
    [InlineData("mg/dL", true)]
    [InlineData("kg.m-2", true)]
    [InlineData("{beats}/min", true)]
    [InlineData("furlongs", false)]
    public async Task CodeSystemValidateCode_Ucum_ChecksTheGrammar(string unit, bool valid)
    {
        var result = await fixture.Service.CodeSystemValidateCode(new Parameters
        {
            { "url", new FhirUri("http://unitsofmeasure.org") },
            { "code", new Code(unit) },
        });

        Assert.Equal(valid, Result(result));
    }

    [Fact]
    public async Task BatchValidateCode_SeveralCodings_AnswersEachInOrder()
    {
        var result = await fixture.Service.BatchValidateCodeAsync(new Parameters
        {
            { "url", new FhirUri(TestContent.ValueSetAll) },
            { "validation", new Parameters { { "coding", new Coding(TestContent.System, "A1") } } },
            { "validation", new Parameters { { "coding", new Coding(TestContent.System, "nope") } } },
        });

        var answers = result.Parameter.Where(p => p.Name == "validation").Select(p => (Parameters)p.Resource!).ToList();
        Assert.Equal([true, false], answers.Select(Result));
    }
}
