using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Igia.Fhir.Patch;

namespace Igia.Fhir.Tests.Patch;

public sealed class JsonPatchTests
{
    // Cases of RFC 6902 (appendix A and section 4.1): { comment, doc, patch, expected | error }. They are plain JSON
    // documents, not FHIR resources, so they exercise JsonPatch.ApplyToJson, which JsonPatch.Apply runs on the FHIR JSON.
    private static readonly Lazy<Dictionary<string, JsonNode>> Cases = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestData.SharedFolder, "fhir-test-cases", "r4", "patch", "json-patch-tests.json")))!
            .AsArray().ToDictionary(c => c!["comment"]!.GetValue<string>(), c => c!));

    public static TheoryData<string> CaseNames()
    {
        var names = new TheoryData<string>();
        foreach (var name in Cases.Value.Keys)
        {
            names.Add(name);
        }

        return names;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void ApplyToJson_Rfc6902TestCase_GivesExpectedDocumentOrError(string comment)
    {
        var testCase = Cases.Value[comment];
        var document = testCase["doc"]!.DeepClone();

        if (testCase["error"] is not null)
        {
            Assert.Throws<FhirPatchException>(() => JsonPatch.ApplyToJson(document, testCase["patch"]!));
        }
        else
        {
            var result = JsonPatch.ApplyToJson(document, testCase["patch"]!);
            Assert.True(JsonNode.DeepEquals(testCase["expected"], result), $"Expected {testCase["expected"]!.ToJsonString()} but got {result?.ToJsonString()}.");
        }
    }

    [Fact]
    public void Apply_ValidPatch_ReturnsPatchedResourceAndLeavesInputUntouched()
    {
        var input = Patient();
        var before = input.DeepCopy();

        var patched = (Patient)JsonPatch.Apply(input, Ops("""
            [ { "op": "replace", "path": "/name/0/family", "value": "Other" },
              { "op": "add", "path": "/identifier/-", "value": { "system": "urn:x", "value": "3" } },
              { "op": "remove", "path": "/birthDate" } ]
            """));

        Assert.Equal("Other", patched.Name[0].Family);
        Assert.Equal(3, patched.Identifier.Count);
        Assert.Null(patched.BirthDate);
        Assert.True(before.IsExactly(input));
    }

    [Fact]
    public void Apply_FailingTest_ThrowsWithoutQuotingValues()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            JsonPatch.Apply(Patient(), Ops("""[ { "op": "test", "path": "/name/0/family", "value": "SECRET-GUESS" } ]""")));
        Assert.Equal("JSON Patch operation 0 ('test' at '/name/0/family'): test failed, the value at the path is not equal to the given value.", e.Message);
        Assert.DoesNotContain("SECRET", e.Message);
    }

    [Fact]
    public void Apply_PassingTest_ChangesNothing()
    {
        var input = Patient();
        var patched = JsonPatch.Apply(input, Ops("""[ { "op": "test", "path": "/identifier/1/value", "value": "SECRET-2" } ]"""));
        Assert.True(input.IsExactly(patched));
    }

    [Theory]
    [InlineData("""[ { "op": "replace", "path": "/telecom/0/value", "value": "x" } ]""", "'/telecom' does not exist")]
    [InlineData("""[ { "op": "remove", "path": "/name/0/given" } ]""", "'/name/0/given' does not exist")]
    [InlineData("""[ { "op": "add", "path": "/contact/0/gender", "value": "male" } ]""", "'/contact' does not exist")]
    [InlineData("""[ { "op": "remove", "path": "/identifier/2" } ]""", "out of range; the array has 2 element(s)")]
    public void Apply_PointerIntoMissingMember_Throws(string patch, string expected)
    {
        var e = Assert.Throws<FhirPatchException>(() => JsonPatch.Apply(Patient(), Ops(patch)));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("""[ { "op": "replace", "path": "/resourceType", "value": "Practitioner" } ]""")]
    [InlineData("""[ { "op": "remove", "path": "/resourceType" } ]""")]
    [InlineData("""[ { "op": "replace", "path": "", "value": { "resourceType": "Practitioner" } } ]""")]
    public void Apply_ChangeOrRemoveResourceType_Throws(string patch)
    {
        var e = Assert.Throws<FhirPatchException>(() => JsonPatch.Apply(Patient(), Ops(patch)));
        Assert.Equal("A patch may not change or remove the resourceType ('Patient').", e.Message);
    }

    [Fact]
    public void Apply_UnknownOperation_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() => JsonPatch.Apply(Patient(), Ops("""[ { "op": "frobnicate", "path": "/id" } ]""")));
        Assert.Contains("unknown operation", e.Message);
    }

    [Theory]
    [InlineData("""[ { "op": "remove" } ]""", "'path' is missing")]
    [InlineData("""[ { "path": "/id" } ]""", "'op' is missing")]
    [InlineData("""[ { "op": "add", "path": "/active" } ]""", "'value' is missing")]
    [InlineData("""[ { "op": "copy", "path": "/active" } ]""", "'from' is missing")]
    [InlineData("""[ { "op": "remove", "path": "id" } ]""", "not a JSON Pointer")]
    [InlineData("""[ { "op": "remove", "path": "/id~2" } ]""", "'~' not followed by 0 or 1")]
    [InlineData("""[ "remove /id" ]""", "must be a JSON object")]
    [InlineData("""{ "op": "remove", "path": "/id" }""", "must be a JSON array")]
    public void Apply_MalformedPatch_Throws(string patch, string expected)
    {
        var e = Assert.Throws<FhirPatchException>(() => JsonPatch.Apply(Patient(), Ops(patch)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Apply_ResultNotValidFhir_ThrowsNamingTheElementNotTheValue()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            JsonPatch.Apply(Patient(), Ops("""[ { "op": "replace", "path": "/birthDate", "value": "SECRET-NOT-A-DATE" } ]""")));
        Assert.Contains("Patient.birthDate", e.Message);
        Assert.DoesNotContain("SECRET", e.Message);
    }

    [Fact]
    public void Apply_UnknownElement_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            JsonPatch.Apply(Patient(), Ops("""[ { "op": "add", "path": "/nickname", "value": "SECRET" } ]""")));
        Assert.Contains("Unknown element at Patient.nickname", e.Message);
        Assert.DoesNotContain("SECRET", e.Message);
    }

    [Fact]
    public void ApplyToJson_RemoveWithDashIndex_Throws()
    {
        Assert.Throws<FhirPatchException>(() => JsonPatch.ApplyToJson(JsonNode.Parse("""{ "a": [1, 2] }"""), Ops("""[ { "op": "remove", "path": "/a/-" } ]""")));
    }

    [Fact]
    public void ApplyToJson_IndexWithLeadingZero_Throws()
    {
        Assert.Throws<FhirPatchException>(() => JsonPatch.ApplyToJson(JsonNode.Parse("""{ "a": [1, 2] }"""), Ops("""[ { "op": "remove", "path": "/a/01" } ]""")));
    }

    [Fact]
    public void ApplyToJson_TestNullAgainstNull_Passes()
    {
        var result = JsonPatch.ApplyToJson(JsonNode.Parse("""{ "a": null }"""), Ops("""[ { "op": "test", "path": "/a", "value": null } ]"""));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{ "a": null }"""), result));
    }

    [Fact]
    public void ApplyToJson_TestMissingMemberAgainstNull_Throws()
    {
        Assert.Throws<FhirPatchException>(() => JsonPatch.ApplyToJson(JsonNode.Parse("{}"), Ops("""[ { "op": "test", "path": "/a", "value": null } ]""")));
    }

    [Fact]
    public void ApplyToJson_CopyPrimitiveFromArray_Copies()
    {
        var result = JsonPatch.ApplyToJson(JsonNode.Parse("""{ "a": [1, 2] }"""), Ops("""[ { "op": "copy", "from": "/a/1", "path": "/a/-" }, { "op": "copy", "from": "/a/0", "path": "/b" } ]"""));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{ "a": [1, 2, 2], "b": 1 }"""), result));
    }

    [Fact]
    public void ApplyToJson_MoveIntoOwnChild_Throws()
    {
        Assert.Throws<FhirPatchException>(() => JsonPatch.ApplyToJson(JsonNode.Parse("""{ "a": { "b": 1 } }"""), Ops("""[ { "op": "move", "from": "/a", "path": "/a/c" } ]""")));
    }

    [Fact]
    public void ApplyToJson_ReplaceRoot_ReturnsNewDocument()
    {
        var result = JsonPatch.ApplyToJson(JsonNode.Parse("""{ "a": 1 }"""), Ops("""[ { "op": "replace", "path": "", "value": [1] } ]"""));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("[1]"), result));
    }

    [Fact]
    public void ApplyToJson_EscapedMemberNames_AreFound()
    {
        var result = JsonPatch.ApplyToJson(JsonNode.Parse("""{ "a/b": 1, "m~n": 2 }"""), Ops("""[ { "op": "remove", "path": "/a~1b" }, { "op": "replace", "path": "/m~0n", "value": 3 } ]"""));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{ "m~n": 3 }"""), result));
    }

    private static Patient Patient() => new()
    {
        Id = "p1",
        BirthDate = "1920-01-01",
        Identifier = { new Identifier("urn:x", "SECRET-1"), new Identifier("urn:x", "SECRET-2") },
        Name = { new HumanName { Family = "SECRETNAME" } },
    };

    private static JsonNode Ops(string json) => JsonNode.Parse(json)!;
}
