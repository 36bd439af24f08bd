using System.Net;
using Hl7.Fhir.Model;
using Igia.Terminology.Tests.Infrastructure;

namespace Igia.Terminology.Tests.Engine;

/// <summary>
/// The typed ValueSet <c>$validate-code</c> (<see cref="IgiaTerminologyService.ValidateCodeAsync"/>) gives the answer the
/// Parameters API gives for the same request, with and without the answer cache, and rejects bad input precisely.
/// </summary>
public sealed class TypedValidateCodeTests(TypedValidateCodeTests.Fixture fixture) : IClassFixture<TypedValidateCodeTests.Fixture>
{
    private const string UnknownSystem = "http://example.org/fhir/CodeSystem/unknown";

    /// <summary>Two services on the same content: one that remembers answers (the default) and one that does not.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public InProcessTerminology Cached { get; private set; } = null!;

        public InProcessTerminology Uncached { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Cached = await InProcessTerminology.CreateAsync(Content);
            Uncached = await InProcessTerminology.CreateAsync(Content, o => o.ValidateCodeCacheSize = 0);
        }

        public async Task DisposeAsync()
        {
            await Cached.DisposeAsync();
            await Uncached.DisposeAsync();
        }

        private static void Content(IgiaTerminologyBuilder c) => c.AddResource(TestContent.TestCodeSystem()).AddResource(TestContent.AllValueSet());
    }

    public static TheoryData<string, string, string, string?, string?, bool> Cases() => new()
    {
        // value set, system, code, display, systemVersion, expected result
        { TestContent.ValueSetAll, TestContent.System, "A1", null, null, true },                        // valid
        { TestContent.ValueSetAll, TestContent.System, "A1", "Alpha one", null, true },                 // valid, right display
        { TestContent.ValueSetAll, TestContent.System, "A1", "Alpha 1", null, false },                  // wrong display
        { TestContent.ValueSetAll, TestContent.System, "Z", null, null, false },                        // unknown code
        { TestContent.ValueSetAll, UnknownSystem, "A1", null, null, false },                            // unknown system
        { TestContent.ValueSetAll, TestContent.System, "A2", null, null, true },                        // inactive (a warning)
        { TestContent.ValueSetAll, TestContent.System, "A1", null, "1.0.0", true },                     // right version
        { TestContent.ValueSetAll, TestContent.System, "A1", null, "9.9.9", false },                    // unknown version
        { TestContent.ValueSetAll + "|1.0.0", TestContent.System, "A1a", null, null, true },            // versioned value set
        { TestContent.System + "?fhir_vs", TestContent.System, "B1", null, null, true },                // implicit value set
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ValidateCodeAsync_AgreesWithTheParametersApi(string valueSet, string system, string code, string? display, string? version, bool expected)
    {
        foreach (var tx in new[] { fixture.Cached, fixture.Uncached })
        {
            // Twice: the second call of the cached service is answered from memory.
            for (var round = 0; round < 2; round++)
            {
                var typed = await tx.Service.ValidateCodeAsync(valueSet, system, code, display, version);
                var parameters = await tx.Service.ValueSetValidateCode(Request(valueSet, system, code, display, version));

                Assert.Equal(expected, typed.Result);
                Assert.True(parameters.IsExactly(typed.ToParameters()), $"{code}: the Parameters API and the typed API differ.");
                Assert.Equal(parameters.GetSingleValue<FhirBoolean>("result")?.Value, typed.Result);
                Assert.Equal(parameters.GetSingleValue<FhirUri>("system")?.Value, typed.System);
                Assert.Equal(parameters.GetSingleValue<Code>("code")?.Value, typed.Code);
                Assert.Equal(parameters.GetSingleValue<FhirString>("version")?.Value, typed.Version);
                Assert.Equal(parameters.GetSingleValue<FhirString>("display")?.Value, typed.Display);
                Assert.Equal(parameters.GetSingleValue<FhirString>("message")?.Value, typed.Message);
                Assert.Equal(parameters.GetSingleValue<FhirBoolean>("inactive")?.Value == true, typed.Inactive);
                var outcome = parameters.Parameter.SingleOrDefault(p => p.Name == "issues")?.Resource as OperationOutcome;
                Assert.Equal(outcome?.Issue.Count ?? 0, typed.Issues.Count);
                for (var i = 0; i < typed.Issues.Count; i++)
                {
                    Assert.Equal(outcome!.Issue[i].Severity, typed.Issues[i].Severity);
                    Assert.Equal(outcome.Issue[i].Code, typed.Issues[i].Type);
                    Assert.Equal(outcome.Issue[i].Details?.Text, typed.Issues[i].Text);
                    Assert.Equal(outcome.Issue[i].Expression.FirstOrDefault(), typed.Issues[i].Expression);
                }

                if (!expected)
                {
                    Assert.False(string.IsNullOrEmpty(typed.Message));
                    Assert.Contains(typed.Issues, i => i.Severity == OperationOutcome.IssueSeverity.Error);
                }
            }
        }
    }

    [Fact]
    public async Task ValidateCodeAsync_ValidCode_GivesTheDisplayAndVersionOfTheCodeSystem()
    {
        var result = await fixture.Cached.Service.ValidateCodeAsync(TestContent.ValueSetAll, TestContent.System, "A1a");

        Assert.True(result.Result);
        Assert.Equal("Alpha one a", result.Display);
        Assert.Equal("1.0.0", result.Version);
        Assert.Equal(TestContent.System, result.System);
        Assert.Null(result.Message);
        Assert.Empty(result.Issues);
    }

    [Fact]
    public async Task ValidateCodeAsync_WrongDisplay_SaysWhichIssue()
    {
        var result = await fixture.Cached.Service.ValidateCodeAsync(TestContent.ValueSetAll, TestContent.System, "A1", "Alpha 1");

        Assert.False(result.Result);
        Assert.Contains(result.Issues, i => i.TxIssueType == "invalid-display" && i.Text!.Contains("Wrong Display Name 'Alpha 1'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ValidateCodeAsync_InactiveCode_IsValidWithAWarning()
    {
        var result = await fixture.Cached.Service.ValidateCodeAsync(TestContent.ValueSetAll, TestContent.System, "A2");

        Assert.True(result.Result);
        Assert.True(result.Inactive);
        Assert.Contains(result.Issues, i => i.Severity == OperationOutcome.IssueSeverity.Warning);
    }

    [Fact]
    public async Task ValidateCodeAsync_RepeatedRequest_ReturnsTheRememberedResultWithoutAllocating()
    {
        var service = fixture.Cached.Service;
        var first = await service.ValidateCodeAsync(TestContent.ValueSetAll, TestContent.System, "A1", "Alpha one");
        for (var i = 0; i < 100; i++)
        {
            Assert.True((await service.ValidateCodeAsync(TestContent.ValueSetAll, TestContent.System, "A1", "Alpha one")).Result);
        }

        // Allocation is counted per thread and is deterministic (not timing): 1,000 warm calls allocate less than one object.
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            var task = service.ValidateCodeAsync(TestContent.ValueSetAll, TestContent.System, "A1", "Alpha one");
            if (!task.IsCompletedSuccessfully || !ReferenceEquals(await task, first))
            {
                Assert.Fail("A warm request was not answered synchronously with the remembered result.");
            }
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 24, $"1,000 warm calls allocated {allocated} bytes.");
    }

    [Fact]
    public async Task ValidateCodeAsync_TheCallerChangingAParametersCopy_ChangesNoLaterResult()
    {
        var service = fixture.Cached.Service;
        var copy = (await service.ValidateCodeAsync(TestContent.ValueSetAll, TestContent.System, "B1")).ToParameters();
        copy.GetSingleValue<FhirBoolean>("result")!.Value = false;
        copy.Parameter.Clear();

        var again = await service.ValidateCodeAsync(TestContent.ValueSetAll, TestContent.System, "B1");

        Assert.True(again.Result);
        Assert.True(again.ToParameters().GetSingleValue<FhirBoolean>("result")!.Value);
    }

    [Fact]
    public async Task ValidateCodeAsync_ContentChanges_AnswersFromTheNewContent()
    {
        const string url = "http://example.org/fhir/ValueSet/typed-changing";
        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddResource(TestContent.TestCodeSystem()).AddResource(Enumerated(url, "A1")));
        Assert.False((await tx.Service.ValidateCodeAsync(url, TestContent.System, "B1")).Result);

        tx.Service.Content.Add(Enumerated(url, "A1", "B1"));

        Assert.True((await tx.Service.ValidateCodeAsync(url, TestContent.System, "B1")).Result);
    }

    [Theory]
    [InlineData(null, TestContent.System, "A1", "valueSetUrl")]
    [InlineData("", TestContent.System, "A1", "valueSetUrl")]
    [InlineData(TestContent.ValueSetAll, null, "A1", "system")]
    [InlineData(TestContent.ValueSetAll, "", "A1", "system")]
    [InlineData(TestContent.ValueSetAll, TestContent.System, null, "code")]
    [InlineData(TestContent.ValueSetAll, TestContent.System, "", "code")]
    public void ValidateCodeAsync_MissingArgument_ThrowsForThatArgument(string? valueSet, string? system, string? code, string parameter)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => fixture.Cached.Service.ValidateCodeAsync(valueSet!, system!, code!));

        Assert.Equal(parameter, e.ParamName);
        Assert.Equal(valueSet is null || system is null || code is null, e is ArgumentNullException);
    }

    [Fact]
    public async Task ValidateCodeAsync_UnknownValueSet_IsA422WithANotFoundIssue()
    {
        foreach (var tx in new[] { fixture.Cached, fixture.Uncached })
        {
            var e = await Assert.ThrowsAsync<TerminologyOperationException>(async () =>
                await tx.Service.ValidateCodeAsync("http://example.org/fhir/ValueSet/nowhere", TestContent.System, "A1"));

            Assert.Equal(HttpStatusCode.UnprocessableEntity, e.Status);
            Assert.Contains(e.Outcome!.Issue, i => i.Code == OperationOutcome.IssueType.NotFound && i.Details!.Text!.Contains("http://example.org/fhir/ValueSet/nowhere", StringComparison.Ordinal));

            // The Parameters API says the same.
            var p = await Assert.ThrowsAsync<TerminologyOperationException>(() =>
                tx.Service.ValueSetValidateCode(Request("http://example.org/fhir/ValueSet/nowhere", TestContent.System, "A1", null, null)));
            Assert.Equal(e.Status, p.Status);
            Assert.Equal(e.Message, p.Message);
        }
    }

    private static Parameters Request(string valueSet, string system, string code, string? display, string? version)
    {
        var p = new Parameters { { "url", new FhirUri(valueSet) }, { "system", new FhirUri(system) }, { "code", new Code(code) } };
        if (display is not null)
        {
            p.Add("display", new FhirString(display));
        }

        if (version is not null)
        {
            p.Add("systemVersion", new FhirString(version));
        }

        return p;
    }

    private static ValueSet Enumerated(string url, params string[] codes) => new()
    {
        Url = url,
        Status = PublicationStatus.Active,
        Compose = new ValueSet.ComposeComponent
        {
            Include = [new ValueSet.ConceptSetComponent { System = TestContent.System, Concept = [.. codes.Select(c => new ValueSet.ConceptReferenceComponent { Code = c })] }],
        },
    };
}
