using System.Globalization;
using Hl7.Fhir.Model;

namespace Igia.Benchmarks;

/// <summary>
/// Typical clinical resources used by the micro benchmarks and the load run: a vital-sign / lab Observation
/// (about 1 KB of JSON, like those an EHR feed writes) and a Patient with the usual demographics.
/// Deterministic, so every run measures the same shapes.
/// </summary>
internal static class SampleData
{
    /// <summary>LOINC codes the seeded Observations cycle through (ten codes, so 50 Observations per patient give 5 per code).</summary>
    public static readonly (string Code, string Display, string Unit, string UnitCode, double Low, double High)[] Codes =
    [
        ("8867-4", "Heart rate", "beats/minute", "/min", 55, 105),
        ("8480-6", "Systolic blood pressure", "mmHg", "mm[Hg]", 100, 165),
        ("8462-4", "Diastolic blood pressure", "mmHg", "mm[Hg]", 60, 100),
        ("8310-5", "Body temperature", "Cel", "Cel", 36.1, 38.4),
        ("9279-1", "Respiratory rate", "breaths/minute", "/min", 11, 22),
        ("29463-7", "Body weight", "kg", "kg", 50, 120),
        ("8302-2", "Body height", "cm", "cm", 150, 195),
        ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", "kg/m2", 18, 38),
        ("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", "mg/dL", 70, 180),
        ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "%", 5, 10),
    ];

    private static readonly string[] Families = ["Smith", "Johnson", "García", "Nguyen", "Okafor", "Müller", "Rossi", "Kowalski", "Haddad", "Tanaka", "Silva", "O'Brien", "Larsen", "Dubois", "Singh"];
    private static readonly string[] Given = ["Maria", "Aisha", "Emma", "Sofia", "Mei", "James", "Mateo", "Liam", "Kenji", "Omar"];

    /// <summary>The first effective date of the seeded Observations; they are spaced <see cref="ObservationSpacingDays"/> apart.</summary>
    public static readonly DateTimeOffset FirstEffective = new(2019, 1, 7, 8, 30, 0, TimeSpan.Zero);

    /// <summary>Days between two Observations of one patient (50 Observations span about five years).</summary>
    public const int ObservationSpacingDays = 37;

    /// <summary>The logical id of seeded patient <paramref name="p"/> (1-based).</summary>
    public static string PatientId(int p) => "p" + p.ToString(CultureInfo.InvariantCulture);

    /// <summary>The logical id of Observation <paramref name="o"/> of patient <paramref name="p"/>.</summary>
    public static string ObservationId(int p, int o) => $"o{p}-{o}";

    /// <summary>A Patient with identifier, name, telecom, gender, birth date, address and the usual codings.</summary>
    public static Patient Patient(int p)
    {
        var family = Families[p % Families.Length];
        var given = Given[(p / 3) % Given.Length];
        return new Patient
        {
            Id = PatientId(p),
            Identifier =
            [
                new Identifier
                {
                    Use = Identifier.IdentifierUse.Usual,
                    Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number"),
                    System = "urn:oid:1.2.36.146.595.217.0.1",
                    Value = "MRN" + (100000 + p).ToString(CultureInfo.InvariantCulture),
                },
            ],
            Active = true,
            Name =
            [
                new HumanName { Use = HumanName.NameUse.Official, Family = family, Given = [given, p % 2 == 0 ? "Anne" : "Lee"] },
            ],
            Telecom =
            [
                new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Home, $"+1 555 01{p % 100:00}"),
                new ContactPoint(ContactPoint.ContactPointSystem.Email, null, $"{given.ToLowerInvariant()}.{p}@example.org"),
            ],
            Gender = p % 2 == 0 ? AdministrativeGender.Female : AdministrativeGender.Male,
            BirthDate = new DateTime(1940 + (p % 70), 1 + (p % 12), 1 + (p % 28), 0, 0, 0, DateTimeKind.Unspecified).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            Address =
            [
                new Address
                {
                    Use = Address.AddressUse.Home,
                    Line = [$"{10 + (p % 900)} Elm Street"],
                    City = "Springfield",
                    State = "IL",
                    PostalCode = $"627{p % 100:00}",
                    Country = "US",
                },
            ],
            MaritalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", p % 3 == 0 ? "M" : "S"),
            Communication = [new Patient.CommunicationComponent { Language = new CodeableConcept("urn:ietf:bcp:47", "en-US", "English (United States)"), Preferred = true }],
            ManagingOrganization = new ResourceReference("Organization/org1", "Springfield General Hospital"),
        };
    }

    /// <summary>Observation <paramref name="o"/> (0-based) of patient <paramref name="p"/>: a LOINC-coded vital sign or lab with a quantity, reference range and interpretation.</summary>
    public static Observation Observation(int p, int o)
    {
        var c = Codes[o % Codes.Length];
        var effective = FirstEffective.AddDays(o * ObservationSpacingDays).AddMinutes(p % 600);
        var value = Math.Round(c.Low + ((p * 31 + o * 17) % 100) / 100.0 * (c.High - c.Low), 1);
        var isLab = c.Code is "2339-0" or "4548-4";
        var category = isLab ? ("laboratory", "Laboratory") : ("vital-signs", "Vital Signs");
        return new Observation
        {
            Id = ObservationId(p, o),
            Meta = isLab ? null : new Meta { Profile = ["http://hl7.org/fhir/StructureDefinition/vitalsigns"] },
            Status = ObservationStatus.Final,
            Category = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/observation-category", category.Item1, category.Item2)],
            Code = new CodeableConcept("http://loinc.org", c.Code, c.Display, c.Display),
            Subject = new ResourceReference($"Patient/{PatientId(p)}", $"{Given[(p / 3) % Given.Length]} {Families[p % Families.Length]}"),
            Encounter = new ResourceReference($"Encounter/e{p}-{o / 5}"),
            Effective = new FhirDateTime(effective),
            Issued = effective.AddHours(1),
            Performer = [new ResourceReference("Practitioner/pr" + (p % 25).ToString(CultureInfo.InvariantCulture))],
            Value = new Quantity((decimal)value, c.UnitCode, "http://unitsofmeasure.org") { Unit = c.Unit },
            Interpretation = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", value > c.High - (c.High - c.Low) * 0.1 ? "H" : "N")],
            ReferenceRange =
            [
                new Observation.ReferenceRangeComponent
                {
                    Low = new Quantity((decimal)c.Low, c.UnitCode, "http://unitsofmeasure.org") { Unit = c.Unit },
                    High = new Quantity((decimal)c.High, c.UnitCode, "http://unitsofmeasure.org") { Unit = c.Unit },
                },
            ],
        };
    }
}
