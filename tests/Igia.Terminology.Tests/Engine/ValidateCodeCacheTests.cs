using Hl7.Fhir.Model;
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
}
