using Hl7.Fhir.Model;
using Igia.Terminology.Internal;
using Igia.Terminology.Tests.Infrastructure;

namespace Igia.Terminology.Tests.Engine;

/// <summary>Repeated $validate-code requests are answered from memory, but never with a shared object or stale content.</summary>
public sealed class ValidateCodeCacheTests
{
    private const string ValueSetUrl = "http://example.org/fhir/ValueSet/cache-test";

    private static Parameters Request(string code) => new()
    {
        { "url", new FhirUri(ValueSetUrl) },
        { "system", new FhirUri(TestContent.System) },
        { "code", new Code(code) },
    };

    private static bool? Result(Parameters p) => p.GetSingleValue<FhirBoolean>("result")?.Value;

    private static ValueSet EnumeratedValueSet(params string[] codes) => new()
    {
        Url = ValueSetUrl,
        Status = PublicationStatus.Active,
        Compose = new ValueSet.ComposeComponent
        {
            Include = [new ValueSet.ConceptSetComponent { System = TestContent.System, Concept = [.. codes.Select(c => new ValueSet.ConceptReferenceComponent { Code = c })] }],
        },
    };

    [Fact]
    public async Task ValidateCode_RepeatedRequest_GivesAnEqualAnswerThatTheCallerOwns()
    {
        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddResource(TestContent.TestCodeSystem()).AddResource(EnumeratedValueSet("A1")));

        var first = await tx.Service.ValueSetValidateCode(Request("A1"));
        first.Parameter.Clear();
        var second = await tx.Service.ValueSetValidateCode(Request("A1"));
        var third = await tx.Service.ValueSetValidateCode(Request("A1"));

        Assert.True(Result(second));
        Assert.NotSame(second, third);
        Assert.True(second.IsExactly(third));
    }

    [Fact]
    public async Task ValidateCode_RememberedAnswer_IsNotChangedByChangingAPrimitiveOfAnEarlierCopy()
    {
        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddResource(TestContent.TestCodeSystem()).AddResource(EnumeratedValueSet("A1")));

        var first = await tx.Service.ValueSetValidateCode(Request("B1"));
        var second = await tx.Service.ValueSetValidateCode(Request("B1"));
        second.GetSingleValue<FhirBoolean>("result")!.Value = true;
        second.GetSingleValue<Code>("code")!.Value = "changed";
        var third = await tx.Service.ValueSetValidateCode(Request("B1"));

        Assert.False(Result(first));
        Assert.False(Result(third));
        Assert.Equal("B1", third.GetSingleValue<Code>("code")?.Value);
        Assert.True(first.IsExactly(third));
        Assert.NotNull(third.Parameter.Single(p => p.Name == "issues").Resource);
    }

    [Fact]
    public async Task ValidateCode_AfterTheValueSetChanges_AnswersFromTheNewContent()
    {
        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddResource(TestContent.TestCodeSystem()).AddResource(EnumeratedValueSet("A1")));
        Assert.False(Result(await tx.Service.ValueSetValidateCode(Request("B1"))));

        tx.Service.Content.Add(EnumeratedValueSet("A1", "B1"));

        Assert.True(Result(await tx.Service.ValueSetValidateCode(Request("B1"))));
    }

    [Fact]
    public async Task ValidateCode_CacheTurnedOff_StillAnswers()
    {
        await using var tx = await InProcessTerminology.CreateAsync(
            c => c.AddResource(TestContent.TestCodeSystem()).AddResource(EnumeratedValueSet("A1")), o => o.ValidateCodeCacheSize = 0);

        Assert.True(Result(await tx.Service.ValueSetValidateCode(Request("A1"))));
        Assert.True(Result(await tx.Service.ValueSetValidateCode(Request("A1"))));
    }

    [Fact]
    public void Cache_Hit_CopiesEveryPrimitiveAndPartAndSharesOnlyComplexValuesAndResources()
    {
        var cache = new ValidateCodeResultCache(10);
        var coding = new Coding("http://example.org/system", "A1");
        var issues = new OperationOutcome();
        var extended = new FhirString("with extension");
        extended.AddExtension("http://example.org/ext", new FhirString("x"));
        var answer = new Parameters
        {
            { "result", new FhirBoolean(false) },
            { "code", new Code("A1") },
            { "display", new FhirString("Display") },
            { "system", new FhirUri("http://example.org/system") },
            { "valueSet", new Canonical("http://example.org/vs|1") },
            { "count", new Integer(3) },
            { "message", extended },
            { "nullBoolean", new FhirBoolean(null) },
            { "coding", coding },
            { "issues", issues },
        };
        answer.Parameter.Add(new Parameters.ParameterComponent { Name = "part", Part = [new Parameters.ParameterComponent { Name = "inner", Value = new Code("B1") }] });
        cache.Set("key", 1, answer);

        var first = cache.Get("key", 1)!.ToParameters();
        var second = cache.Get("key", 1)!.ToParameters();

        Assert.Null(cache.Get("key", 2));
        Assert.Null(cache.Get("other", 1));
        Assert.True(answer.IsExactly(first));
        Assert.True(first.IsExactly(second));
        for (var i = 0; i < first.Parameter.Count; i++)
        {
            var (a, b) = (first.Parameter[i], second.Parameter[i]);
            Assert.NotSame(a, b);
            Assert.NotSame(a.NameElement, b.NameElement);
            if (a.Value is PrimitiveType value)
            {
                Assert.NotSame(value, b.Value);
                Assert.Equal(answer.Parameter[i].Value!.GetType(), value.GetType());
            }
        }

        Assert.Same(first.Parameter.Single(p => p.Name == "coding").Value, second.Parameter.Single(p => p.Name == "coding").Value);
        Assert.Same(first.Parameter.Single(p => p.Name == "issues").Resource, second.Parameter.Single(p => p.Name == "issues").Resource);
        Assert.NotSame(first.Parameter.Single(p => p.Name == "part").Part[0], second.Parameter.Single(p => p.Name == "part").Part[0]);

        // Changing a copy, or the answer that was remembered, changes no later copy.
        ((FhirBoolean)first.Parameter[0].Value!).Value = true;
        first.Parameter.Single(p => p.Name == "part").Part[0].Value = new Code("changed");
        ((FhirString)answer.Parameter[2].Value!).Value = "changed";
        Assert.True(second.IsExactly(cache.Get("key", 1)!.ToParameters()));
    }
}
