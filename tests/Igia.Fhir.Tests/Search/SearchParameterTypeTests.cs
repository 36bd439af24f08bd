using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using static Igia.Fhir.Tests.Search.SearchFixture;

namespace Igia.Fhir.Tests.Search;

/// <summary>Each search parameter type with its modifiers and prefixes (search.html), through real HTTP.</summary>
[Collection("Search")]
public sealed class SearchParameterTypeTests(SearchFixture f)
{
    // ---- string -----------------------------------------------------------------------------------

    [Theory]
    [InlineData("Patient?name=muller")]
    [InlineData("Patient?name=MÜLL")]
    [InlineData("Patient?family=Mul")]
    [InlineData("Patient?given=jurg")]
    public async Task String_Default_MatchesStartCaseAndAccentInsensitive(string url)
    {
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync(url)));
    }

    [Fact]
    public async Task String_Default_MatchesEveryNameStartingWithValue()
    {
        Assert.Equal(Ids(f.Smith, f.Smithson), Matches(await f.SearchAsync("Patient?family=smith")));
    }

    [Fact]
    public async Task String_Exact_MatchesOnlyTheWholeValueWithCase()
    {
        Assert.Equal(Ids(f.Smith), Matches(await f.SearchAsync("Patient?family:exact=Smith")));
        Assert.Empty(Matches(await f.SearchAsync("Patient?family:exact=smith")));
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync("Patient?family:exact=Müller")));
    }

    [Fact]
    public async Task String_Contains_MatchesAnywhere()
    {
        Assert.Equal(Ids(f.Smith, f.Smithson), Matches(await f.SearchAsync("Patient?family:contains=MIT")));
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync("Patient?address:contains=hofstr")));
    }

    [Fact]
    public async Task String_AddressParts_AreIndexedSeparately()
    {
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync("Patient?address-city=zurich")));
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync("Patient?address=bahnhof")));
    }

    [Fact]
    public async Task String_CommaSeparatedValues_AreOr()
    {
        Assert.Equal(Ids(f.Muller, f.Smith, f.Smithson), Matches(await f.SearchAsync("Patient?family=muller,smith")));
    }

    [Fact]
    public async Task String_RepeatedParameter_IsAnd()
    {
        Assert.Equal(Ids(f.Smith), Matches(await f.SearchAsync("Patient?family=smith&given=anna")));
    }

    // ---- token ------------------------------------------------------------------------------------

    [Fact]
    public async Task Token_SystemAndCode_MatchesBoth()
    {
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync($"Patient?identifier={Mrn}|MRN-1")));
        Assert.Empty(Matches(await f.SearchAsync("Patient?identifier=http://other.org|MRN-1")));
    }

    [Fact]
    public async Task Token_CodeOnly_MatchesAnySystem()
    {
        Assert.Equal(Ids(f.Smith), Matches(await f.SearchAsync("Patient?identifier=MRN-2")));
    }

    [Fact]
    public async Task Token_EmptySystem_MatchesOnlyCodesWithoutSystem()
    {
        Assert.Empty(Matches(await f.SearchAsync("Patient?identifier=|MRN-1")));
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync("Patient?active=|true")));
    }

    [Fact]
    public async Task Token_SystemOnly_MatchesAnyCodeInSystem()
    {
        Assert.Equal(Ids(f.Muller, f.Smith), Matches(await f.SearchAsync($"Patient?identifier={Mrn}|")));
    }

    [Fact]
    public async Task Token_Not_MatchesResourcesWithoutThatCode()
    {
        Assert.Equal(Ids(f.Smith, f.Smithson), Matches(await f.SearchAsync("Patient?gender:not=male")));
    }

    [Fact]
    public async Task Token_Text_MatchesDisplayWords()
    {
        Assert.Equal(Ids(f.Weight1, f.Weight2), Matches(await f.SearchAsync("Observation?code:text=WEIGHT")));
        Assert.Equal(Ids(f.Systolic), Matches(await f.SearchAsync("Observation?code:text=systolic")));
    }

    [Fact]
    public async Task Token_CodeBoundToValueSet_MatchesWithImpliedSystem()
    {
        Assert.Equal(Ids(f.Systolic), Matches(await f.SearchAsync("Observation?status=http://hl7.org/fhir/observation-status|preliminary")));
        Assert.Equal(Ids(f.Systolic), Matches(await f.SearchAsync("Observation?status=preliminary")));
    }

    [Fact]
    public async Task Token_BooleanAndContactPoint_Match()
    {
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync("Patient?active=true")));
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync("Patient?email=jurgen@example.org")));
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync("Patient?telecom=email|jurgen@example.org")));
    }

    [Fact]
    public async Task Token_CommonTagSecurity_Match()
    {
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync("Patient?_tag=http://example.org/tags|vip")));
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync("Patient?_security=R")));
    }

    // ---- reference --------------------------------------------------------------------------------

    [Fact]
    public async Task Reference_TypeAndId_MatchesRelativeAndLocalAbsoluteReferences()
    {
        // Systolic refers to Müller with an absolute URL under the server base.
        Assert.Equal(Ids(f.Weight1, f.Systolic), Matches(await f.SearchAsync($"Observation?subject=Patient/{f.Muller.Id}")));
    }

    [Fact]
    public async Task Reference_IdOnly_AndTypeModifier_Match()
    {
        Assert.Equal(Ids(f.Weight1, f.Systolic), Matches(await f.SearchAsync($"Observation?subject={f.Muller.Id}")));
        Assert.Equal(Ids(f.Weight1, f.Systolic), Matches(await f.SearchAsync($"Observation?subject:Patient={f.Muller.Id}")));
        Assert.Empty(Matches(await f.SearchAsync($"Observation?subject:Group={f.Muller.Id}")));
    }

    [Fact]
    public async Task Reference_AbsoluteUrlWithServerBase_IsStrippedToLocal()
    {
        var url = Uri.EscapeDataString($"{f.Host.BaseUrl}/Patient/{f.Muller.Id}");
        Assert.Equal(Ids(f.Weight1, f.Systolic), Matches(await f.SearchAsync($"Observation?patient={url}")));
    }

    [Fact]
    public async Task Reference_ForeignAbsoluteUrl_MatchesNothingLocal()
    {
        var url = Uri.EscapeDataString($"http://elsewhere.example.org/fhir/Patient/{f.Muller.Id}");
        Assert.Empty(Matches(await f.SearchAsync($"Observation?subject={url}")));
    }

    [Fact]
    public async Task Reference_PatientParameter_ResolvesTargetType()
    {
        Assert.Equal(Ids(f.Weight2, f.Panel), Matches(await f.SearchAsync($"Observation?patient={f.Smith.Id}")));
    }

    // ---- date -------------------------------------------------------------------------------------

    [Theory]
    [InlineData("birthdate=1980-05-10", "M")]
    [InlineData("birthdate=1980", "M")]
    [InlineData("birthdate=eq1980-05", "M")]
    [InlineData("birthdate=1980-05-11", "")]
    [InlineData("birthdate=gt1985", "S,T")]
    [InlineData("birthdate=gt1990", "T")]
    [InlineData("birthdate=ge1990", "S,T")]
    [InlineData("birthdate=lt1990", "M")]
    [InlineData("birthdate=le1990", "M,S")]
    [InlineData("birthdate=ne1990", "M,T")]
    [InlineData("birthdate=sa1990", "T")]
    [InlineData("birthdate=eb1990", "M")]
    [InlineData("birthdate=ap1980-05-10", "M")]
    [InlineData("birthdate=ge1980-01-01&birthdate=le1995-12-31", "M,S")]
    [InlineData("birthdate=1980,2001-12-31", "M,T")]
    public async Task Date_Prefixes_FollowRangeRules(string query, string expected)
    {
        var map = new Dictionary<string, Patient> { ["M"] = f.Muller, ["S"] = f.Smith, ["T"] = f.Smithson };
        var ids = expected.Length == 0 ? [] : Ids(expected.Split(',').Select(k => map[k]).ToArray());
        Assert.Equal(ids, Matches(await f.SearchAsync("Patient?" + query)));
    }

    [Fact]
    public async Task Date_PeriodAndDateTime_MatchByRange()
    {
        Assert.Equal(Ids(f.Weight2), Matches(await f.SearchAsync("Observation?date=2019")));
        Assert.Empty(Matches(await f.SearchAsync("Observation?date=2019-06")));
        Assert.Contains(f.Weight2.Id, Matches(await f.SearchAsync("Observation?date=ap2019-06-15&code=29463-7")));
        Assert.Equal(Ids(f.Weight1), Matches(await f.SearchAsync("Observation?date=2020-01-15T10:00:00Z")));
        Assert.Equal(Ids(f.Weight1), Matches(await f.SearchAsync("Observation?date=2020-01-15T11:00:00%2B01:00")));
        Assert.Equal(Ids(f.Systolic, f.Panel), Matches(await f.SearchAsync("Observation?date=gt2020-12-31")));
        Assert.Equal(Ids(f.Visit), Matches(await f.SearchAsync("Encounter?date=2020-01-15")));
    }

    [Fact]
    public async Task LastUpdated_Prefixes_MatchResourceTimestamps()
    {
        Assert.Equal(3, Matches(await f.SearchAsync("Patient?_lastUpdated=gt2000-01-01")).Length);
        Assert.Empty(Matches(await f.SearchAsync("Patient?_lastUpdated=lt2000-01-01")));
    }

    // ---- number and quantity ----------------------------------------------------------------------

    [Theory]
    [InlineData("probability=0.25", true)]
    [InlineData("probability=0.2", false)]
    [InlineData("probability=0.3", true)]
    [InlineData("probability=gt0.2", true)]
    [InlineData("probability=lt0.2", false)]
    [InlineData("probability=ge0.25", true)]
    [InlineData("probability=ne0.25", false)]
    [InlineData("probability=ap0.24", true)]
    [InlineData("probability=2.5e-1", true)]
    public async Task Number_Prefixes_UsePrecision(string query, bool matches)
    {
        Assert.Equal(matches ? Ids(f.Risk) : [], Matches(await f.SearchAsync("RiskAssessment?" + query)));
    }

    [Fact]
    public async Task Quantity_UcumUnits_AreComparedCanonically()
    {
        Assert.Equal(Ids(f.Weight1, f.Weight2), Matches(await f.SearchAsync($"Observation?value-quantity=80|{Ucum}|kg")));
        Assert.Equal(Ids(f.Weight1, f.Weight2), Matches(await f.SearchAsync($"Observation?value-quantity=80000|{Ucum}|g")));
        Assert.Equal(Ids(f.Weight1, f.Weight2), Matches(await f.SearchAsync($"Observation?value-quantity=gt79|{Ucum}|kg")));
    }

    [Fact]
    public async Task Quantity_ValueAndUnitWithoutSystem_MatchesCodeOrUnit()
    {
        Assert.Equal(Ids(f.Systolic), Matches(await f.SearchAsync("Observation?value-quantity=gt100||mm[Hg]")));
        Assert.Equal(Ids(f.Weight1), Matches(await f.SearchAsync("Observation?value-quantity=80||kg")));
    }

    [Fact]
    public async Task Quantity_NumberOnly_ComparesValues()
    {
        Assert.Equal(Ids(f.Weight1), Matches(await f.SearchAsync("Observation?value-quantity=80")));
        Assert.Equal(Ids(f.Weight2), Matches(await f.SearchAsync("Observation?value-quantity=ge1000")));
    }

    // ---- uri --------------------------------------------------------------------------------------

    [Fact]
    public async Task Uri_ExactBelowAbove_Match()
    {
        Assert.Equal(Ids(f.ValueSet), Matches(await f.SearchAsync("ValueSet?url=http://example.org/fhir/ValueSet/colours")));
        Assert.Empty(Matches(await f.SearchAsync("ValueSet?url=http://example.org/fhir/ValueSet")));
        Assert.Equal(Ids(f.ValueSet), Matches(await f.SearchAsync("ValueSet?url:below=http://example.org/fhir/")));
        Assert.Equal(Ids(f.ValueSet), Matches(await f.SearchAsync("ValueSet?url:above=http://example.org/fhir/ValueSet/colours/v2")));
        Assert.Equal(Ids(f.Muller), Matches(await f.SearchAsync("Patient?_profile=http://example.org/StructureDefinition/special-patient")));
    }

    // ---- composite --------------------------------------------------------------------------------

    [Fact]
    public async Task Composite_CodeValueQuantity_MatchesBothComponents()
    {
        var url = $"Observation?code-value-quantity={Loinc}|29463-7${Uri.EscapeDataString($"80|{Ucum}|kg")}";
        Assert.Equal(Ids(f.Weight1, f.Weight2), Matches(await f.SearchAsync(url)));
        Assert.Empty(Matches(await f.SearchAsync($"Observation?code-value-quantity={Loinc}|8480-6$80")));
    }

    [Fact]
    public async Task Composite_ComponentCodeValueQuantity_MatchesWithinTheSameComponent()
    {
        Assert.Equal(Ids(f.Panel), Matches(await f.SearchAsync($"Observation?component-code-value-quantity={Loinc}|8480-6$gt130")));
        // 90 belongs to the diastolic component, not the systolic one: no match.
        Assert.Empty(Matches(await f.SearchAsync($"Observation?component-code-value-quantity={Loinc}|8480-6$lt100")));
        Assert.Equal(Ids(f.Panel), Matches(await f.SearchAsync($"Observation?combo-code-value-quantity={Loinc}|8462-4$90")));
        Assert.Equal(Ids(f.Systolic, f.Panel), Matches(await f.SearchAsync($"Observation?combo-code-value-quantity={Loinc}|8480-6$ge120")));
    }

    // ---- special parameters and :missing -----------------------------------------------------------

    [Fact]
    public async Task Id_ListAndNot_Match()
    {
        Assert.Equal(Ids(f.Muller, f.Smith), Matches(await f.SearchAsync($"Patient?_id={f.Muller.Id},{f.Smith.Id}")));
        Assert.Equal(Ids(f.Smithson), Matches(await f.SearchAsync($"Patient?_id:not={f.Muller.Id},{f.Smith.Id}")));
    }

    [Fact]
    public async Task Missing_TrueAndFalse_SplitResources()
    {
        Assert.Equal(Ids(f.Smithson), Matches(await f.SearchAsync("Patient?identifier:missing=true")));
        Assert.Equal(Ids(f.Muller, f.Smith), Matches(await f.SearchAsync("Patient?identifier:missing=false")));
        Assert.Equal(Ids(f.Smith, f.Smithson), Matches(await f.SearchAsync("Patient?organization:missing=true")));
        Assert.Equal(Ids(f.Weight1, f.Systolic, f.Weight2), Matches(await f.SearchAsync("Observation?value-quantity:missing=false")));
        Assert.Equal(Ids(f.Weight1, f.Systolic, f.Weight2), Matches(await f.SearchAsync("Observation?code-value-quantity:missing=false")));
    }

    [Fact]
    public async Task EscapedComma_IsPartOfTheValue()
    {
        var odd = await f.Host.CreateAsync(new Organization { Name = "Smith, Jones and Partners" });
        Assert.Equal(Ids(odd), Matches(await f.SearchAsync("Organization?name:exact=Smith\\, Jones and Partners")));
        Assert.Empty(Matches(await f.SearchAsync("Organization?name:exact=Smith, Jones and Partners")));
    }
}
