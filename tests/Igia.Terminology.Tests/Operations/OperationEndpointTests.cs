using System.Net;
using Hl7.Fhir.Model;
using Igia.Terminology.Tests.Infrastructure;

namespace Igia.Terminology.Tests.Operations;

/// <summary>The terminology operations as FHIR endpoints: type and instance level, GET and POST, errors as 4xx OperationOutcomes.</summary>
public sealed class OperationEndpointTests(OperationHostFixture fixture) : IClassFixture<OperationHostFixture>
{
    private TerminologyTestHost Host => fixture.Host;

    [Fact]
    public async Task Expand_TypeLevelGet_ReturnsTheExpansion()
    {
        using var response = await Host.Client.GetAsync($"ValueSet/$expand?url={Uri.EscapeDataString(TestContent.ValueSetAll)}&count=3");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var vs = await TerminologyTestHost.ReadAsync<ValueSet>(response);
        Assert.Equal(6, vs.Expansion!.Total);
        Assert.Equal(3, vs.Expansion.Contains.Count);
    }

    [Fact]
    public async Task ValidateCode_TypeLevelPost_ReturnsParameters()
    {
        using var response = await Host.PostAsync("ValueSet/$validate-code", new Parameters
        {
            { "url", new FhirUri(TestContent.ValueSetAll) },
            { "coding", new Coding(TestContent.System, "A1") },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await TerminologyTestHost.ReadAsync<Parameters>(response);
        Assert.True(result.GetSingleValue<FhirBoolean>("result")?.Value);
    }

    [Fact]
    public async Task ValidateCode_InstanceLevelOnAStoredValueSet_UsesThatValueSet()
    {
        var vs = TestContent.AllValueSet();
        vs.Url = "http://example.org/fhir/ValueSet/stored-for-instance";
        using var created = await Host.PostAsync("ValueSet", vs);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await TerminologyTestHost.ReadAsync<ValueSet>(created)).Id;

        using var response = await Host.Client.GetAsync($"ValueSet/{id}/$validate-code?system={Uri.EscapeDataString(TestContent.System)}&code=B1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True((await TerminologyTestHost.ReadAsync<Parameters>(response)).GetSingleValue<FhirBoolean>("result")?.Value);
    }

    [Fact]
    public async Task Lookup_Get_ReturnsTheDisplay()
    {
        using var response = await Host.Client.GetAsync($"CodeSystem/$lookup?system={Uri.EscapeDataString(TestContent.System)}&code=A1a");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Alpha one a", (await TerminologyTestHost.ReadAsync<Parameters>(response)).GetSingleValue<FhirString>("display")?.Value);
    }

    [Fact]
    public async Task Subsumes_Get_ReturnsTheOutcome()
    {
        using var response = await Host.Client.GetAsync($"CodeSystem/$subsumes?system={Uri.EscapeDataString(TestContent.System)}&codeA=A&codeB=A1a");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("subsumes", (await TerminologyTestHost.ReadAsync<Parameters>(response)).GetSingleValue<Code>("outcome")?.Value);
    }

    [Fact]
    public async Task CodeSystemValidateCode_Get_ReturnsParameters()
    {
        using var response = await Host.Client.GetAsync($"CodeSystem/$validate-code?url={Uri.EscapeDataString(TestContent.System)}&code=A9");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False((await TerminologyTestHost.ReadAsync<Parameters>(response)).GetSingleValue<FhirBoolean>("result")?.Value);
    }

    [Theory]
    [InlineData("ValueSet/$expand?url=http%3A%2F%2Fexample.org%2Fnone")]
    [InlineData("ValueSet/$expand?url=http%3A%2F%2Fexample.org%2Ffhir%2FValueSet%2Ftests-all&count=many")]
    [InlineData("ValueSet/$validate-code?url=http%3A%2F%2Fexample.org%2Ffhir%2FValueSet%2Ftests-all")]
    [InlineData("CodeSystem/$lookup?system=http%3A%2F%2Fexample.org%2Ffhir%2FCodeSystem%2Ftests&code=nope")]
    [InlineData("CodeSystem/$subsumes?system=http%3A%2F%2Fexample.org%2Ffhir%2FCodeSystem%2Ftests&codeA=A")]
    [InlineData("ConceptMap/$translate")]
    [InlineData("ValueSet/no-such-id/$expand")]
    public async Task Operation_BadInput_Answers4xxWithAnOperationOutcome(string url)
    {
        using var response = await Host.Client.GetAsync(url);

        Assert.InRange((int)response.StatusCode, 400, 499);
        var outcome = await TerminologyTestHost.ReadAsync<OperationOutcome>(response);
        Assert.NotEmpty(outcome.Issue);
    }

    [Fact]
    public async Task Expand_MalformedParametersBody_Answers400()
    {
        using var response = await Host.Client.PostAsync("ValueSet/$expand", TerminologyTestHost.JsonContent("{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    // A tx-resource value set with an include filter that has no value (filter.value is 1..1 in R4): the model is broken on
    // purpose, as in the HL7 suite's 'errors' tests; the operation reads it (IFhirOperation.LenientBody) and reports it.
    private const string BrokenFilterExpand = """
        {"resourceType":"Parameters","parameter":[
          {"name":"url","valueUri":"http://example.org/fhir/ValueSet/broken-filter"},
          {"name":"tx-resource","resource":{"resourceType":"ValueSet","url":"http://example.org/fhir/ValueSet/broken-filter","status":"active",
            "compose":{"include":[{"system":"http://example.org/fhir/CodeSystem/tests","filter":[{"property":"concept","op":"is-a"}]}]}}}]}
        """;

    [Fact]
    public async Task Expand_TxResourceBreakingModelRules_IsReadAndReportedByTheOperationNotRefusedBy400()
    {
        using var response = await Host.Client.PostAsync("ValueSet/$expand", TerminologyTestHost.JsonContent(BrokenFilterExpand));

        Assert.InRange((int)response.StatusCode, 400, 499);
        var outcome = await TerminologyTestHost.ReadAsync<OperationOutcome>(response);
        // The answer comes from the terminology engine (the HL7 suite's wording), not from the parser (a cardinality error).
        Assert.Contains(outcome.Issue, i => (i.Details?.Text ?? "").Contains("op = is-a has no value", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Create_ResourceBreakingModelRules_IsStillRefusedWith400()
    {
        // Leniency is per operation: the same broken ValueSet sent to the ordinary create interaction is refused.
        const string brokenValueSet = """
            {"resourceType":"ValueSet","url":"http://example.org/fhir/ValueSet/broken-filter","status":"active",
             "compose":{"include":[{"system":"http://example.org/fhir/CodeSystem/tests","filter":[{"property":"concept","op":"is-a"}]}]}}
            """;

        using var response = await Host.Client.PostAsync("ValueSet", TerminologyTestHost.JsonContent(brokenValueSet));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Metadata_ModeTerminology_ReturnsTerminologyCapabilities()
    {
        using var response = await Host.Client.GetAsync("metadata?mode=terminology");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var caps = await TerminologyTestHost.ReadAsync<TerminologyCapabilities>(response);
        Assert.Contains(caps.CodeSystem, c => c.Uri == TestContent.System && c.Version.Single().Code == "1.0.0");
        Assert.Contains(caps.CodeSystem, c => c.Uri == "http://unitsofmeasure.org");
        Assert.True(caps.Expansion!.Paging);
        Assert.Contains(caps.Expansion.Parameter, p => p.Name == "displayLanguage");
    }

    [Fact]
    public async Task Metadata_WithoutMode_DeclaresATerminologyServerWithItsOperations()
    {
        using var response = await Host.Client.GetAsync("metadata");

        var statement = await TerminologyTestHost.ReadAsync<CapabilityStatement>(response);
        Assert.Contains("http://hl7.org/fhir/CapabilityStatement/terminology-server", statement.Instantiates);
        var valueSet = statement.Rest.Single().Resource.Single(r => r.Type == "ValueSet");
        Assert.Contains(valueSet.Operation, o => o.Name == "expand");
        Assert.Contains(valueSet.Operation, o => o.Name == "validate-code");
    }

    [Fact]
    public async Task StoreWrite_ValueSetCreatedThenDeleted_IsExpandableThenGone()
    {
        var vs = TestContent.Filtered("concept", FilterOperator.IsA, "B");
        vs.Url = "http://example.org/fhir/ValueSet/created-at-run-time";
        vs.Name = "CreatedAtRunTime";
        using var created = await Host.PostAsync("ValueSet", vs);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await TerminologyTestHost.ReadAsync<ValueSet>(created)).Id;

        using (var expanded = await Host.Client.GetAsync($"ValueSet/$expand?url={Uri.EscapeDataString(vs.Url)}"))
        {
            Assert.Equal(HttpStatusCode.OK, expanded.StatusCode);
            Assert.Equal(["B", "B1"], TestContent.Codes(await TerminologyTestHost.ReadAsync<ValueSet>(expanded)));
        }

        using var deleted = await Host.Client.DeleteAsync($"ValueSet/{id}");
        Assert.True(deleted.IsSuccessStatusCode);
        using var gone = await Host.Client.GetAsync($"ValueSet/$expand?url={Uri.EscapeDataString(vs.Url)}");
        Assert.InRange((int)gone.StatusCode, 400, 499);
    }

    [Fact]
    public async Task StoreWrite_CodeSystemUpdated_NewConceptIsValid()
    {
        var cs = new Hl7.Fhir.Model.CodeSystem
        {
            Id = "run-time-cs",
            Url = "http://example.org/fhir/CodeSystem/run-time",
            Status = PublicationStatus.Active,
            Content = CodeSystemContentMode.Complete,
            Concept = [new() { Code = "one", Display = "One" }],
        };
        using (var put = await Host.Client.PutAsync("CodeSystem/run-time-cs", TerminologyTestHost.JsonContent(cs)))
        {
            Assert.True(put.IsSuccessStatusCode);
        }

        cs.Concept.Add(new() { Code = "two", Display = "Two" });
        using (var put = await Host.Client.PutAsync("CodeSystem/run-time-cs", TerminologyTestHost.JsonContent(cs)))
        {
            Assert.True(put.IsSuccessStatusCode);
        }

        using var response = await Host.Client.GetAsync($"CodeSystem/$validate-code?url={Uri.EscapeDataString(cs.Url)}&code=two");
        Assert.True((await TerminologyTestHost.ReadAsync<Parameters>(response)).GetSingleValue<FhirBoolean>("result")?.Value);
    }

    [Fact]
    public async Task StoreWrite_ValueSetInAFailedTransaction_IsNotLearnt()
    {
        var vs = TestContent.AllValueSet();
        vs.Url = "http://example.org/fhir/ValueSet/rolled-back";
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new Bundle.EntryComponent { FullUrl = "urn:uuid:5b0a9f3e-3f56-4b9e-8a4e-2b2f6a1c9d01", Resource = vs, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "ValueSet" } },
                new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.DELETE, Url = "ValueSet?_id=x&unknown-param-makes-it-fail=1" } },
                new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.GET, Url = "Nonsense/1" } },
            ],
        };
        using var response = await Host.Client.PostAsync("", TerminologyTestHost.JsonContent(bundle));
        Assert.False(response.IsSuccessStatusCode);

        using var expand = await Host.Client.GetAsync($"ValueSet/$expand?url={Uri.EscapeDataString(vs.Url)}");
        Assert.InRange((int)expand.StatusCode, 400, 499);
    }
}
