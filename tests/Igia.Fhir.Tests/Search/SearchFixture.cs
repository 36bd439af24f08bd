using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Igia.Fhir.Tests.Search;

/// <summary>One FHIR server with a small, known data set, shared (read-only) by the search tests of the "Search" collection.</summary>
public sealed class SearchFixture : IAsyncLifetime
{
    public const string Loinc = "http://loinc.org";
    public const string Ucum = "http://unitsofmeasure.org";
    public const string Mrn = "http://example.org/mrn";

    public FhirTestHost Host { get; private set; } = null!;

    public Organization Acme { get; private set; } = null!;

    public Practitioner House { get; private set; } = null!;

    /// <summary>Jürgen Müller, male, born 1980-05-10, MRN-1, active, in Zürich, managed by Acme, tagged vip.</summary>
    public Patient Muller { get; private set; } = null!;

    /// <summary>Anna Smith, female, born 1990, MRN-2.</summary>
    public Patient Smith { get; private set; } = null!;

    /// <summary>Bob Smithson, other, born 2001-12-31, no identifier.</summary>
    public Patient Smithson { get; private set; } = null!;

    /// <summary>Müller's body weight, 80 kg, 2020-01-15T10:00:00Z, final, performed by House.</summary>
    public Observation Weight1 { get; private set; } = null!;

    /// <summary>Müller's systolic pressure, 120 mm[Hg], 2021-06-01, preliminary.</summary>
    public Observation Systolic { get; private set; } = null!;

    /// <summary>Smith's body weight, 80000 g, effective over 2019.</summary>
    public Observation Weight2 { get; private set; } = null!;

    /// <summary>Smith's blood pressure panel: components systolic 140 and diastolic 90 mm[Hg].</summary>
    public Observation Panel { get; private set; } = null!;

    public Encounter Visit { get; private set; } = null!;

    public RiskAssessment Risk { get; private set; } = null!;

    public ValueSet ValueSet { get; private set; } = null!;

    public Medication Medication { get; private set; } = null!;

    public MedicationRequest Prescription { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await FhirTestHost.StartAsync();
        Acme = await Host.CreateAsync(new Organization { Name = "Acme Hospital" });
        House = await Host.CreateAsync(new Practitioner { Name = [new HumanName { Family = "House", Given = ["Gregory"] }] });
        Muller = await Host.CreateAsync(new Patient
        {
            Meta = new Meta
            {
                Tag = [new Coding("http://example.org/tags", "vip")],
                Security = [new Coding("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R")],
                Profile = ["http://example.org/StructureDefinition/special-patient"],
            },
            Name = [new HumanName { Family = "Müller", Given = ["Jürgen"] }],
            Gender = AdministrativeGender.Male,
            BirthDate = "1980-05-10",
            Identifier = [new Identifier(Mrn, "MRN-1")],
            Active = true,
            Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Email, null, "jurgen@example.org")],
            Address = [new Address { City = "Zürich", Line = ["Bahnhofstrasse 1"] }],
            ManagingOrganization = new ResourceReference($"Organization/{Acme.Id}"),
        });
        Smith = await Host.CreateAsync(new Patient
        {
            Name = [new HumanName { Family = "Smith", Given = ["Anna"] }],
            Gender = AdministrativeGender.Female,
            BirthDate = "1990",
            Identifier = [new Identifier(Mrn, "MRN-2")],
            GeneralPractitioner = [new ResourceReference($"Practitioner/{House.Id}")],
        });
        Smithson = await Host.CreateAsync(new Patient
        {
            Name = [new HumanName { Family = "Smithson", Given = ["Bob"] }],
            Gender = AdministrativeGender.Other,
            BirthDate = "2001-12-31",
        });
        Weight1 = await Host.CreateAsync(new Observation
        {
            Status = ObservationStatus.Final,
            Code = new CodeableConcept { Coding = [new Coding(Loinc, "29463-7", "Body weight")] },
            Subject = new ResourceReference($"Patient/{Muller.Id}"),
            Performer = [new ResourceReference($"Practitioner/{House.Id}")],
            Effective = new FhirDateTime("2020-01-15T10:00:00Z"),
            Value = new Quantity { Value = 80, Unit = "kg", System = Ucum, Code = "kg" },
        });
        Systolic = await Host.CreateAsync(new Observation
        {
            Status = ObservationStatus.Preliminary,
            Code = new CodeableConcept { Coding = [new Coding(Loinc, "8480-6", "Systolic blood pressure")] },
            Subject = new ResourceReference($"{Host.BaseUrl}/Patient/{Muller.Id}"),
            Effective = new FhirDateTime("2021-06-01"),
            Value = new Quantity { Value = 120, Unit = "mmHg", System = Ucum, Code = "mm[Hg]" },
        });
        Weight2 = await Host.CreateAsync(new Observation
        {
            Status = ObservationStatus.Final,
            Code = new CodeableConcept { Coding = [new Coding(Loinc, "29463-7", "Body weight")] },
            Subject = new ResourceReference($"Patient/{Smith.Id}"),
            Effective = new Period { Start = "2019-01-01", End = "2019-12-31" },
            Value = new Quantity { Value = 80000, Unit = "g", System = Ucum, Code = "g" },
        });
        Panel = await Host.CreateAsync(new Observation
        {
            Status = ObservationStatus.Final,
            Code = new CodeableConcept { Coding = [new Coding(Loinc, "85354-9", "Blood pressure panel")] },
            Subject = new ResourceReference($"Patient/{Smith.Id}"),
            Effective = new FhirDateTime("2022-02-02T08:00:00Z"),
            Component =
            [
                new Observation.ComponentComponent
                {
                    Code = new CodeableConcept { Coding = [new Coding(Loinc, "8480-6")] },
                    Value = new Quantity { Value = 140, Unit = "mmHg", System = Ucum, Code = "mm[Hg]" },
                },
                new Observation.ComponentComponent
                {
                    Code = new CodeableConcept { Coding = [new Coding(Loinc, "8462-4")] },
                    Value = new Quantity { Value = 90, Unit = "mmHg", System = Ucum, Code = "mm[Hg]" },
                },
            ],
        });
        Visit = await Host.CreateAsync(new Encounter
        {
            Status = Encounter.EncounterStatus.Finished,
            Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"),
            Subject = new ResourceReference($"Patient/{Muller.Id}"),
            Period = new Period { Start = "2020-01-15T09:00:00Z", End = "2020-01-15T11:00:00Z" },
        });
        Risk = await Host.CreateAsync(new RiskAssessment
        {
            Status = ObservationStatus.Final,
            Subject = new ResourceReference($"Patient/{Smith.Id}"),
            Prediction = [new RiskAssessment.PredictionComponent { Probability = new FhirDecimal(0.25m) }],
        });
        ValueSet = await Host.CreateAsync(new ValueSet { Url = "http://example.org/fhir/ValueSet/colours", Status = PublicationStatus.Active, Name = "Colours" });
        Medication = await Host.CreateAsync(new Medication { Code = new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", "1049502") });
        Prescription = await Host.CreateAsync(new MedicationRequest
        {
            Status = MedicationRequest.MedicationrequestStatus.Active,
            Intent = MedicationRequest.MedicationRequestIntent.Order,
            Subject = new ResourceReference($"Patient/{Muller.Id}"),
            Medication = new ResourceReference($"Medication/{Medication.Id}"),
            Requester = new ResourceReference($"Practitioner/{House.Id}"),
        });
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    /// <summary>GETs a search and returns the Bundle (asserting 200).</summary>
    public async Task<Bundle> SearchAsync(string relativeUrl, bool strict = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, relativeUrl);
        if (strict)
        {
            request.Headers.Add("Prefer", "handling=strict");
        }

        using var response = await Host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {relativeUrl} gave {(int)response.StatusCode}: {text}");
        return await FhirTestHost.ReadAsync<Bundle>(response);
    }

    /// <summary>GETs a search that must fail with <paramref name="status"/>; returns its OperationOutcome.</summary>
    public async Task<OperationOutcome> SearchFailsAsync(string relativeUrl, HttpStatusCode status = HttpStatusCode.BadRequest, bool strict = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, relativeUrl);
        if (strict)
        {
            request.Headers.Add("Prefer", "handling=strict");
        }

        using var response = await Host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"GET {relativeUrl} gave {(int)response.StatusCode}, expected {(int)status}: {text}");
        return await FhirTestHost.ReadAsync<OperationOutcome>(response);
    }

    /// <summary>The ids of the entries with search mode match.</summary>
    public static string[] Matches(Bundle bundle) =>
        bundle.Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Match).Select(e => e.Resource.Id).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The ids of the entries with search mode include.</summary>
    public static string[] Included(Bundle bundle) =>
        bundle.Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Include).Select(e => e.Resource.Id).Order(StringComparer.Ordinal).ToArray();

    public static string[] Ids(params Resource[] resources) => resources.Select(r => r.Id).Order(StringComparer.Ordinal).ToArray();
}

[CollectionDefinition("Search")]
public sealed class SearchCollection : ICollectionFixture<SearchFixture>;
