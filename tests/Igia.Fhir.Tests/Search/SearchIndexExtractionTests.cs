using Hl7.Fhir.Model;
using Igia.Fhir.Search;
using Igia.Fhir.Server;
using Microsoft.Extensions.Options;

namespace Igia.Fhir.Tests.Search;

/// <summary>Unit tests of write-time index extraction (<see cref="FhirSearchService.Extract"/>).</summary>
public sealed class SearchIndexExtractionTests
{
    private static readonly FhirSearchService Service = new(new SearchParameterRegistry(), Options.Create(new FhirServerOptions()), TimeProvider.System);

    [Fact]
    public void Extract_Patient_GivesNormalisedNameTokenDateAndReferenceRows()
    {
        var patient = new Patient
        {
            Id = "p1",
            Meta = new Meta { Tag = [new Coding("http://example.org/tags", "vip")], Profile = ["http://example.org/StructureDefinition/p"] },
            Name = [new HumanName { Family = "Müller", Given = ["Jürgen"] }],
            Gender = AdministrativeGender.Male,
            BirthDate = "1980-05-10",
            Identifier = [new Identifier("http://example.org/mrn", "MRN-1")],
            Active = true,
            ManagingOrganization = new ResourceReference("Organization/o1"),
            Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Email, null, "j@example.org")],
        };

        var rows = Service.Extract(patient);

        Assert.Contains(new StringIndexEntry("family", "muller", "Müller"), rows);
        Assert.Contains(new StringIndexEntry("name", "jurgen", "Jürgen"), rows);
        Assert.Contains(new TokenIndexEntry("identifier", "http://example.org/mrn", "MRN-1", null), rows);
        Assert.Contains(new TokenIndexEntry("gender", "http://hl7.org/fhir/administrative-gender", "male", null), rows);
        Assert.Contains(new TokenIndexEntry("active", null, "true", null), rows);
        Assert.Contains(new TokenIndexEntry("email", "email", "j@example.org", null), rows);
        Assert.Contains(new TokenIndexEntry("_tag", "http://example.org/tags", "vip", null), rows);
        Assert.Contains(new UriIndexEntry("_profile", "http://example.org/StructureDefinition/p"), rows);
        Assert.Contains(new ReferenceIndexEntry("organization", "Organization", "o1", null), rows);
        var birth = Assert.Single(rows.OfType<DateIndexEntry>(), r => r.ParameterCode == "birthdate");
        Assert.Equal(new DateTimeOffset(1980, 5, 10, 0, 0, 0, TimeSpan.Zero), birth.Low);
        Assert.Equal(new DateTimeOffset(1980, 5, 11, 0, 0, 0, TimeSpan.Zero).AddTicks(-1), birth.High);
    }

    [Fact]
    public void Extract_Observation_ResolvesPatientSubjectAndBuildsCompositeAndCanonicalQuantity()
    {
        var observation = new Observation
        {
            Status = ObservationStatus.Final,
            Code = new CodeableConcept("http://loinc.org", "29463-7", "Body weight"),
            Subject = new ResourceReference("Patient/p1"),
            Effective = new FhirDateTime("2020-01-15T10:00:00Z"),
            Value = new Quantity(80, "kg") { System = "http://unitsofmeasure.org", Code = "kg" },
        };

        var rows = Service.Extract(observation);

        Assert.Contains(new ReferenceIndexEntry("subject", "Patient", "p1", null), rows);
        Assert.Contains(new ReferenceIndexEntry("patient", "Patient", "p1", null), rows);
        Assert.Contains(new TokenIndexEntry("code", "http://loinc.org", "29463-7", null), rows);
        Assert.Contains(new TokenIndexEntry("code", null, null, "body weight"), rows);
        var quantity = Assert.Single(rows.OfType<QuantityIndexEntry>(), r => r.ParameterCode == "value-quantity");
        Assert.Equal(80m, quantity.Value);
        Assert.Equal("g", quantity.CanonicalCode);
        Assert.Equal(80000m, quantity.CanonicalValue);
        var composite = Assert.Single(rows.OfType<CompositeIndexEntry>(), r => r.ParameterCode == "code-value-quantity");
        Assert.Equal(2, composite.Components.Count);
        Assert.Contains(composite.Components[0], r => r is TokenIndexEntry { Code: "29463-7", ParameterCode: "code-value-quantity$0" });
        Assert.Contains(composite.Components[1], r => r is QuantityIndexEntry { Value: 80m, ParameterCode: "code-value-quantity$1" });
    }

    [Fact]
    public void Extract_ObservationAboutAGroup_HasSubjectButNoPatientRow()
    {
        var observation = new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "1"), Subject = new ResourceReference("Group/g1") };

        var rows = Service.Extract(observation);

        Assert.Contains(new ReferenceIndexEntry("subject", "Group", "g1", null), rows);
        Assert.DoesNotContain(rows, r => r.ParameterCode == "patient");
    }

    [Fact]
    public void Extract_PeriodAndAbsoluteReference_GivesOpenRangeAndUrl()
    {
        var encounter = new Encounter
        {
            Status = Encounter.EncounterStatus.Finished,
            Period = new Period { Start = "2021-03-01" },
            Subject = new ResourceReference("http://other.example.org/fhir/Patient/x9/_history/3"),
        };

        var rows = Service.Extract(encounter);

        var period = Assert.Single(rows.OfType<DateIndexEntry>(), r => r.ParameterCode == "date");
        Assert.Equal(new DateTimeOffset(2021, 3, 1, 0, 0, 0, TimeSpan.Zero), period.Low);
        Assert.Equal(DateTimeOffset.MaxValue, period.High);
        Assert.Contains(new ReferenceIndexEntry("subject", "Patient", "x9", "http://other.example.org/fhir/Patient/x9"), rows);
    }
}
