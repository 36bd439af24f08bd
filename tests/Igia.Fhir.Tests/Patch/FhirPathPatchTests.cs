using System.Text.Json;
using System.Xml.Linq;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Fhir.Patch;

namespace Igia.Fhir.Tests.Patch;

public sealed class FhirPathPatchTests
{
    // The HL7 cases contain empty resources (<Patient/>, <Parameters/>): valid FHIR, but Firely reports them as empty elements.
    private static readonly FhirXmlDeserializer Xml = new(new DeserializerSettings().UsingMode(DeserializationMode.Strict).Ignoring(["PVAL129"]));
    private static readonly BaseFhirXmlSerializer XmlWriter = new(ModelInfo.ModelInspector);
    private static readonly JsonSerializerOptions Json = new JsonSerializerOptions { WriteIndented = true }.ForFhir(ModelInfo.ModelInspector);

    // HL7's cases: <case name mode> with <input>, <diff> (a Parameters) and either <output> or <error>; resources in FHIR XML.
    private static readonly Lazy<Dictionary<string, XElement>> Cases = new(() =>
        XDocument.Load(Path.Combine(TestData.SharedFolder, "fhir-test-cases", "r4", "patch", "fhir-patch-tests.xml"), LoadOptions.PreserveWhitespace)
            .Root!.Elements("case").ToDictionary(c => (string)c.Attribute("name")!));

    public static TheoryData<string> CaseNames()
    {
        var names = new TheoryData<string>();
        foreach (var name in Cases.Value.Keys)
        {
            names.Add(name);
        }

        return names;
    }

    [Fact]
    public void CaseNames_Hl7File_HasAll33Cases() => Assert.Equal(33, Cases.Value.Count);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Apply_Hl7TestCase_GivesExpectedOutputOrError(string name)
    {
        var testCase = Cases.Value[name];
        var input = ParseXml(testCase.Element("input")!);
        var patch = (Parameters)ParseXml(testCase.Element("diff")!);
        var original = input.DeepCopy();

        if (testCase.Element("error") is not null)
        {
            Assert.Throws<FhirPatchException>(() => FhirPathPatch.Apply(input, patch));
        }
        else
        {
            var output = FhirPathPatch.Apply(input, patch);

            // The expected output was read from FHIR XML, where Firely's parser drops the whitespace between the narrative's
            // XHTML tags; the actual output makes the same XML round trip so that both narratives are read the same way.
            var actual = Xml.DeserializeResource(XmlWriter.SerializeToString(output));
            Assert.Equal(ToJson(ParseXml(testCase.Element("output")!)), ToJson(actual));
        }

        Assert.True(original.IsExactly(input), "Apply changed its input.");
    }

    [Fact]
    public void Apply_UnknownOperationType_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() => FhirPathPatch.Apply(Patient(), Patch(Op("frobnicate", "Patient.birthDate"))));
        Assert.Contains("unknown operation type 'frobnicate'", e.Message);
    }

    [Fact]
    public void Apply_MissingType_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() => FhirPathPatch.Apply(Patient(), Patch(Op(null, "Patient.birthDate"))));
        Assert.Contains("'type' is missing", e.Message);
    }

    [Fact]
    public void Apply_MissingPath_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() => FhirPathPatch.Apply(Patient(), Patch(Op("delete", null))));
        Assert.Equal("Operation 0 (delete): the part 'path' is missing.", e.Message);
    }

    [Fact]
    public void Apply_MissingValue_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() => FhirPathPatch.Apply(Patient(), Patch(Op("replace", "Patient.birthDate"))));
        Assert.Contains("the part 'value' is missing", e.Message);
    }

    [Fact]
    public void Apply_PartNotUsedByType_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("delete", "Patient.birthDate", ("value", new Date("2000-01-01"))))));
        Assert.Contains("the part 'value' is not used by delete", e.Message);
    }

    [Fact]
    public void Apply_ParameterNotNamedOperation_Throws()
    {
        var patch = Patch(Op("delete", "Patient.birthDate"));
        patch.Parameter[0].Name = "op";
        Assert.Throws<FhirPatchException>(() => FhirPathPatch.Apply(Patient(), patch));
    }

    [Fact]
    public void Apply_ValueOfWrongPrimitiveType_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("replace", "Patient.birthDate", ("value", new FhirBoolean(true))))));
        Assert.Contains("'birthDate'", e.Message);
    }

    [Fact]
    public void Apply_ComplexValueForPrimitiveElement_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("replace", "Patient.birthDate", ("value", new Identifier("urn:x", "SECRET-ID"))))));
        Assert.Contains("Identifier cannot be used for the element 'birthDate'", e.Message);
        Assert.DoesNotContain("SECRET", e.Message);
    }

    [Fact]
    public void Apply_StringThatIsNotADate_ThrowsWithoutQuotingTheValue()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("replace", "Patient.birthDate", ("value", new FhirString("SECRET-DATE"))))));
        Assert.Contains("not a valid date", e.Message);
        Assert.DoesNotContain("SECRET", e.Message);
    }

    [Fact]
    public void Apply_CodeGivenAsString_IsConverted()
    {
        var patched = (Patient)FhirPathPatch.Apply(Patient(), Patch(Op("replace", "Patient.gender", ("value", new FhirString("female")))));
        Assert.Equal(AdministrativeGender.Female, patched.Gender);
    }

    [Fact]
    public void Apply_UnknownCodeForBoundElement_ThrowsWithoutQuotingTheValue()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("replace", "Patient.gender", ("value", new Code("SECRET-CODE"))))));
        Assert.DoesNotContain("SECRET", e.Message);
    }

    [Fact]
    public void Apply_ChoiceElementWithAllowedType_SetsIt()
    {
        var patched = (Patient)FhirPathPatch.Apply(Patient(), Patch(Op("add", "Patient", ("name", new FhirString("deceased")), ("value", new FhirDateTime("2020-02-02")))));
        Assert.Equal("2020-02-02", Assert.IsType<FhirDateTime>(patched.Deceased).Value);
    }

    [Fact]
    public void Apply_ChoiceElementWithDisallowedType_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("add", "Patient", ("name", new FhirString("deceased")), ("value", new FhirString("yes"))))));
        Assert.Contains("boolean or dateTime", e.Message);
    }

    [Fact]
    public void Apply_ReplacePathMatchingNothing_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("replace", "Patient.deceased", ("value", new FhirBoolean(true))))));
        Assert.Equal("Operation 0 (replace at 'Patient.deceased'): the path matches nothing.", e.Message);
    }

    [Fact]
    public void Apply_PathMatchingSeveralElements_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("replace", "Patient.identifier.value", ("value", new FhirString("x"))))));
        Assert.Contains("matches 2 elements", e.Message);
    }

    [Fact]
    public void Apply_DeletePathMatchingNothing_ReturnsUnchangedCopy()
    {
        var input = Patient();
        var patched = FhirPathPatch.Apply(input, Patch(Op("delete", "Patient.deceased")));
        Assert.NotSame(input, patched);
        Assert.True(input.IsExactly(patched));
    }

    [Fact]
    public void Apply_DeleteMatchingSeveralElements_Throws()
    {
        Assert.Throws<FhirPatchException>(() => FhirPathPatch.Apply(Patient(), Patch(Op("delete", "Patient.identifier"))));
    }

    [Fact]
    public void Apply_InsertAtEndOfList_Appends()
    {
        var patched = (Patient)FhirPathPatch.Apply(Patient(), Patch(Op("insert", "Patient.identifier", ("index", new Integer(2)), ("value", new Identifier("urn:x", "3")))));
        Assert.Equal(["SECRET-1", "SECRET-2", "3"], patched.Identifier.Select(i => i.Value));
    }

    [Fact]
    public void Apply_InsertIndexOutOfRange_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("insert", "Patient.identifier", ("index", new Integer(3)), ("value", new Identifier("urn:x", "3"))))));
        Assert.Contains("index 3 is out of range", e.Message);
    }

    [Fact]
    public void Apply_NegativeIndex_Throws()
    {
        Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("insert", "Patient.identifier", ("index", new Integer(-1)), ("value", new Identifier("urn:x", "3"))))));
    }

    [Fact]
    public void Apply_InsertIntoPartOfList_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("insert", "Patient.identifier.first()", ("index", new Integer(0)), ("value", new Identifier("urn:x", "3"))))));
        Assert.Contains("whole list", e.Message);
    }

    [Fact]
    public void Apply_InsertIntoSingleElement_Throws()
    {
        Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("insert", "Patient.birthDate", ("index", new Integer(0)), ("value", new Date("2000-01-01"))))));
    }

    [Fact]
    public void Apply_MoveSourceOutOfRange_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("move", "Patient.identifier", ("source", new Integer(2)), ("destination", new Integer(0))))));
        Assert.Contains("source 2 is out of range", e.Message);
    }

    [Fact]
    public void Apply_AddUnknownElementName_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("add", "Patient", ("name", new FhirString("nickname")), ("value", new FhirString("x"))))));
        Assert.Contains("'nickname' is not an element of Patient", e.Message);
    }

    [Fact]
    public void Apply_AddUnknownElementInParts_Throws()
    {
        var value = new Parameters.ParameterComponent { Name = "value" };
        value.Part.Add(new Parameters.ParameterComponent { Name = "nickname", Value = new FhirString("x") });
        var operation = Op("add", "Patient", ("name", new FhirString("contact")));
        operation.Part.Add(value);

        var e = Assert.Throws<FhirPatchException>(() => FhirPathPatch.Apply(Patient(), Patch(operation)));
        Assert.Contains("'nickname' is not an element of Patient.contact", e.Message);
    }

    [Fact]
    public void Apply_AddToSingleElementThatHasValue_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("add", "Patient", ("name", new FhirString("birthDate")), ("value", new Date("2000-01-01"))))));
        Assert.Contains("already has a value", e.Message);
    }

    [Fact]
    public void Apply_AddExtensionToPrimitive_AddsIt()
    {
        var extension = new Extension("http://example.org/time", new Time("10:00:00"));
        var patched = (Patient)FhirPathPatch.Apply(Patient(), Patch(Op("add", "Patient.birthDate", ("name", new FhirString("extension")), ("value", extension))));
        Assert.True(extension.IsExactly(Assert.Single(patched.BirthDateElement!.Extension)));
        Assert.Equal("1920-01-01", patched.BirthDate);
    }

    [Fact]
    public void Apply_InvalidFhirPath_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() => FhirPathPatch.Apply(Patient(), Patch(Op("delete", "Patient.name.where("))));
        Assert.Contains("not valid FHIRPath", e.Message);
    }

    [Fact]
    public void Apply_PathSelectingComputedValue_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("replace", "'abc'", ("value", new FhirString("x"))))));
        Assert.Contains("must select elements of the resource", e.Message);
    }

    [Fact]
    public void Apply_ReplaceResourceItself_Throws()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("replace", "Patient", ("value", new FhirString("x"))))));
        Assert.Contains("the resource itself", e.Message);
    }

    [Fact]
    public void Apply_ResultNotValidFhir_ThrowsNamingTheElement()
    {
        var e = Assert.Throws<FhirPatchException>(() =>
            FhirPathPatch.Apply(Patient(), Patch(Op("replace", "Patient.name[0].family", ("value", new FhirString(""))))));
        Assert.Contains("Patient.name[0].family", e.Message);
    }

    [Fact]
    public void Apply_DeleteLastChild_RemovesEmptyParent()
    {
        var patched = (Patient)FhirPathPatch.Apply(Patient(), Patch(Op("delete", "Patient.name[0].family")));
        Assert.Empty(patched.Name);
    }

    [Fact]
    public void Apply_ValidPatch_LeavesInputAndPatchUntouched()
    {
        var input = Patient();
        var patch = Patch(Op("add", "Patient", ("name", new FhirString("identifier")), ("value", new Identifier("urn:x", "3"))));
        var inputBefore = input.DeepCopy();
        var patchBefore = patch.DeepCopy();

        var patched = (Patient)FhirPathPatch.Apply(input, patch);
        patched.Identifier[2].Value = "changed";

        Assert.True(inputBefore.IsExactly(input));
        Assert.True(patchBefore.IsExactly(patch));
    }

    private static Patient Patient() => new()
    {
        Id = "p1",
        BirthDate = "1920-01-01",
        Gender = AdministrativeGender.Male,
        Identifier = { new Identifier("urn:x", "SECRET-1"), new Identifier("urn:x", "SECRET-2") },
        Name = { new HumanName { Family = "SECRETNAME" } },
    };

    private static Parameters.ParameterComponent Op(string? type, string? path, params (string Name, DataType Value)[] parts)
    {
        var operation = new Parameters.ParameterComponent { Name = "operation" };
        if (type is not null)
        {
            operation.Part.Add(new Parameters.ParameterComponent { Name = "type", Value = new Code(type) });
        }

        if (path is not null)
        {
            operation.Part.Add(new Parameters.ParameterComponent { Name = "path", Value = new FhirString(path) });
        }

        foreach (var (name, value) in parts)
        {
            operation.Part.Add(new Parameters.ParameterComponent { Name = name, Value = value });
        }

        return operation;
    }

    private static Parameters Patch(params Parameters.ParameterComponent[] operations)
    {
        var patch = new Parameters();
        patch.Parameter.AddRange(operations);
        return patch;
    }

    private static Resource ParseXml(XElement wrapper) =>
        Xml.DeserializeResource(wrapper.Elements().Single().ToString(SaveOptions.DisableFormatting));

    private static string ToJson(Resource resource) => JsonSerializer.Serialize(resource, Json);
}
