using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Igia.Terminology.Tests.Infrastructure;

namespace Igia.Terminology.Tests.Validation;

/// <summary>The FHIR core specification and the HL7 Terminology package, loaded once, with Firely's profile resolver.</summary>
public sealed class ValidatorFixture : IAsyncLifetime
{
    public const string EncounterProfile = "http://example.org/fhir/StructureDefinition/encounter-inpatient-class";

    public const string UcumQuantityProfile = "http://example.org/fhir/StructureDefinition/observation-ucum-quantity";

    public InProcessTerminology Terminology { get; private set; } = null!;

    public IAsyncResourceResolver Resolver { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Terminology = await InProcessTerminology.CreateAsync(c => c.AddFhirCorePackage().AddPackage(TestPaths.ThoPackage));

        // A profile that requires Encounter.class to come from the HL7 Terminology value set of encounter codes.
        var profile = new StructureDefinition
        {
            Url = EncounterProfile,
            Name = "EncounterWithActEncounterClass",
            Status = PublicationStatus.Active,
            FhirVersion = FHIRVersion.N4_0_1,
            Kind = StructureDefinition.StructureDefinitionKind.Resource,
            Abstract = false,
            Type = "Encounter",
            BaseDefinition = "http://hl7.org/fhir/StructureDefinition/Encounter",
            Derivation = StructureDefinition.TypeDerivationRule.Constraint,
            Differential = new StructureDefinition.DifferentialComponent
            {
                Element =
                [
                    new ElementDefinition("Encounter.class")
                    {
                        Binding = new ElementDefinition.ElementDefinitionBindingComponent
                        {
                            Strength = BindingStrength.Required,
                            ValueSet = "http://terminology.hl7.org/ValueSet/v3-ActEncounterCode",
                        },
                    },
                ],
            },
        };
        // A profile that requires Observation.valueQuantity to carry a UCUM unit (the core value set of all UCUM codes).
        var ucumProfile = new StructureDefinition
        {
            Url = UcumQuantityProfile,
            Name = "ObservationWithUcumQuantity",
            Status = PublicationStatus.Active,
            FhirVersion = FHIRVersion.N4_0_1,
            Kind = StructureDefinition.StructureDefinitionKind.Resource,
            Abstract = false,
            Type = "Observation",
            BaseDefinition = "http://hl7.org/fhir/StructureDefinition/Observation",
            Derivation = StructureDefinition.TypeDerivationRule.Constraint,
            Differential = new StructureDefinition.DifferentialComponent
            {
                Element =
                [
                    new ElementDefinition("Observation.value[x]")
                    {
                        Type = [new ElementDefinition.TypeRefComponent { Code = "Quantity" }],
                        Binding = new ElementDefinition.ElementDefinitionBindingComponent
                        {
                            Strength = BindingStrength.Required,
                            ValueSet = "http://hl7.org/fhir/ValueSet/ucum-units",
                        },
                    },
                ],
            },
        };
        var core = ZipSource.CreateValidationSource();
        Resolver = new CachedResolver(new SnapshotSource(new MultiResolver(new InMemoryResourceResolver(profile, ucumProfile), core)));
    }

    public async Task DisposeAsync() => await Terminology.DisposeAsync();

    /// <summary>A Firely validator that checks coded elements with the Igia terminology service.</summary>
    public Validator Validator() => new(Resolver, Terminology.Service);
}

/// <summary>Firely's validator, given the Igia terminology service, checks coded elements against core and THO value sets.</summary>
public sealed class FirelyValidatorTests(ValidatorFixture fixture) : IClassFixture<ValidatorFixture>
{
    private static IEnumerable<OperationOutcome.IssueComponent> Errors(OperationOutcome outcome) =>
        outcome.Issue.Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal);

    private static string Describe(OperationOutcome outcome) =>
        string.Join("\n", outcome.Issue.Select(i => $"{i.Severity} {i.Code}: {i.Details?.Text} @ {string.Join(",", i.Expression)}"));

    [Fact]
    public void Validate_PatientGenderInTheCoreRequiredValueSet_HasNoErrors()
    {
        var outcome = fixture.Validator().Validate(new Patient { Gender = AdministrativeGender.Female });

        Assert.True(!Errors(outcome).Any(), Describe(outcome));
    }

    [Fact]
    public void Validate_ObservationStatusOutsideTheCoreRequiredValueSet_IsAnError()
    {
        var observation = new Observation { Code = new CodeableConcept("http://loinc.org", "8867-4"), };
        observation.StatusElement = new Code<ObservationStatus>();
        observation.StatusElement.JsonValue = "done";

        var outcome = fixture.Validator().Validate(observation);

        Assert.Contains(Errors(outcome), i => i.Expression.Any(e => e?.Contains("status", StringComparison.Ordinal) == true) || (i.Details?.Text ?? "").Contains("done"));
    }

    [Fact]
    public void Validate_MaritalStatusFromTheHl7TerminologyCodeSystem_HasNoTerminologyErrors()
    {
        var patient = new Patient
        {
            MaritalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "M", "Married"),
        };

        var outcome = fixture.Validator().Validate(patient);

        Assert.True(!Errors(outcome).Any(), Describe(outcome));
    }

    [Fact]
    public void Validate_CodingWithTheWrongDisplay_IsReported()
    {
        // IMP is 'inpatient encounter' in v3-ActCode; the validator passes the display on and reports what the service says.
        var encounter = new Encounter
        {
            Status = Encounter.EncounterStatus.Finished,
            Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "IMP", "Divorced"),
        };

        var outcome = fixture.Validator().Validate(encounter, ValidatorFixture.EncounterProfile);

        Assert.True(outcome.Issue.Any(i => (i.Details?.Text ?? "").Contains("Divorced", StringComparison.Ordinal)), Describe(outcome));
    }

    [Fact]
    public void Validate_ProfileRequiringATHOValueSet_AcceptsAMember()
    {
        var encounter = new Encounter
        {
            Status = Encounter.EncounterStatus.Finished,
            Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "IMP", "inpatient encounter"),
        };

        var outcome = fixture.Validator().Validate(encounter, ValidatorFixture.EncounterProfile);

        Assert.True(!Errors(outcome).Any(), Describe(outcome));
    }

    [Fact]
    public void Validate_ProfileRequiringATHOValueSet_RejectsACodeOfTheSystemOutsideIt()
    {
        // ACADR is a valid ActCode, but not an encounter code.
        var encounter = new Encounter
        {
            Status = Encounter.EncounterStatus.Finished,
            Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "ACADR"),
        };

        var outcome = fixture.Validator().Validate(encounter, ValidatorFixture.EncounterProfile);

        Assert.Contains(Errors(outcome), i => (i.Details?.Text ?? "").Contains("ACADR", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_UcumUnitInAQuantityBoundToUcum_IsCheckedByGrammar()
    {
        Observation Weight(string unit) => new()
        {
            Status = ObservationStatus.Final,
            Code = new CodeableConcept("http://loinc.org", "29463-7"),
            Value = new Quantity { Value = 70, System = "http://unitsofmeasure.org", Code = unit, Unit = unit },
        };

        var good = fixture.Validator().Validate(Weight("kg"), ValidatorFixture.UcumQuantityProfile);
        var bad = fixture.Validator().Validate(Weight("kilos"), ValidatorFixture.UcumQuantityProfile);

        Assert.DoesNotContain(good.Issue, i => (i.Details?.Text ?? "").Contains("'kg'", StringComparison.Ordinal) && i.Severity == OperationOutcome.IssueSeverity.Error);
        Assert.True(bad.Issue.Any(i => (i.Details?.Text ?? "").Contains("kilos", StringComparison.Ordinal)), Describe(bad));
    }
}
