using System.Globalization;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;

namespace Igia.Sandbox;

/// <summary>
/// On first start (an empty store), loads a small realistic data set through the FHIR pipeline: organizations,
/// practitioners and a few dozen patients with encounters, conditions, observations and medication requests.
/// Deterministic (fixed seed) so docs and tests can rely on it. Runs while the host starts, before Kestrel
/// listens, so the first request already finds the data.
/// </summary>
internal sealed class SandboxSeeder(IFhirInteractionExecutor fhir, ILogger<SandboxSeeder> logger) : IHostedService
{
    /// <summary>Number of patients seeded.</summary>
    public const int PatientCount = 40;

    /// <summary>Observations seeded per patient (one per vital sign or lab).</summary>
    public static int ObservationsPerPatient => Vitals.Length;

    private static readonly string[] Families = ["Smith", "Johnson", "García", "Nguyen", "Okafor", "Müller", "Rossi", "Kowalski", "Haddad", "Tanaka", "Silva", "O'Brien", "Larsen", "Dubois", "Singh"];
    private static readonly string[] GivenFemale = ["Maria", "Aisha", "Emma", "Sofia", "Mei", "Chloé", "Amara", "Olivia"];
    private static readonly string[] GivenMale = ["James", "Mateo", "Liam", "Kenji", "Oluwaseun", "Lukas", "Omar", "Noah"];

    private static readonly (string Code, string Display)[] Conditions =
    [
        ("44054006", "Diabetes mellitus type 2"),
        ("38341003", "Hypertensive disorder"),
        ("195967001", "Asthma"),
        ("55822004", "Hyperlipidemia"),
        ("35489007", "Depressive disorder"),
    ];

    private static readonly (string Code, string Display, string Unit, string UnitCode, double Low, double High)[] Vitals =
    [
        ("8867-4", "Heart rate", "beats/minute", "/min", 55, 105),
        ("8480-6", "Systolic blood pressure", "mmHg", "mm[Hg]", 100, 165),
        ("8462-4", "Diastolic blood pressure", "mmHg", "mm[Hg]", 60, 100),
        ("29463-7", "Body weight", "kg", "kg", 50, 120),
        ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "%", 5, 10),
    ];

    private static readonly (string Code, string Display)[] Medications =
    [
        ("860975", "metformin hydrochloride 500 MG Oral Tablet"),
        ("314076", "lisinopril 10 MG Oral Tablet"),
        ("745679", "albuterol 0.09 MG/ACTUAT Inhaler"),
        ("617312", "atorvastatin 20 MG Oral Tablet"),
        ("312938", "sertraline 50 MG Oral Tablet"),
    ];

    /// <summary>Seeds an empty store; leaves a store that holds anything (even deleted resources) alone.</summary>
    public async System.Threading.Tasks.Task StartAsync(CancellationToken cancellationToken)
    {
        var probe = await fhir.ExecuteAsync(new FhirInteraction
        {
            Kind = FhirInteractionKind.History,
            Parameters = [new("_count", "1")],
            User = SandboxAuth.System("system/*.rs"),
            CancellationToken = cancellationToken,
        });
        if (!probe.IsSuccess)
        {
            logger.LogError("Cannot tell whether the sandbox store is empty (HTTP {Status}); not seeding.", (int)probe.StatusCode);
            return;
        }

        if (probe.Resource is Bundle history && (history.Total > 0 || history.Entry.Count > 0))
        {
            logger.LogInformation("The sandbox store already holds data; not seeding.");
            return;
        }

        var response = await fhir.ExecuteAsync(new FhirInteraction
        {
            Kind = FhirInteractionKind.Transaction,
            Resource = BuildSeedBundle(),
            Method = "POST",
            User = SandboxAuth.System("system/*.cruds"),
            CancellationToken = cancellationToken,
        });
        if (response.IsSuccess)
        {
            logger.LogInformation("Seeded the sandbox with {Count} resources ({Patients} patients).", ((Bundle)response.Resource!).Entry.Count, PatientCount);
        }
        else
        {
            var diagnostics = (response.Resource as OperationOutcome)?.Issue.FirstOrDefault()?.Diagnostics;
            logger.LogError("Seeding the sandbox failed with HTTP {Status}: {Diagnostics}", (int)response.StatusCode, diagnostics);
        }
    }

    /// <inheritdoc />
    public System.Threading.Tasks.Task StopAsync(CancellationToken cancellationToken) => System.Threading.Tasks.Task.CompletedTask;

    /// <summary>The seed data as one transaction Bundle.</summary>
    internal static Bundle BuildSeedBundle()
    {
        var random = new Random(20261126);
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        string Add(Resource resource)
        {
            var fullUrl = "urn:uuid:" + new Guid(random.NextBytes(16)).ToString();
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = fullUrl,
                Resource = resource,
                Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = resource.TypeName },
            });
            return fullUrl;
        }

        var orgs = new[] { "Riverside General Hospital", "Lakeside Family Clinic" }.Select((name, i) => Add(new Organization
        {
            Active = true,
            Name = name,
            Identifier = [new Identifier("urn:oid:2.16.840.1.113883.4.7", $"ORG-{i + 1}")],
            Type = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Healthcare Provider")],
        })).ToArray();

        var practitioners = Enumerable.Range(0, 6).Select(i => Add(new Practitioner
        {
            Active = true,
            Identifier = [new Identifier("http://hl7.org/fhir/sid/us-npi", (1234567890 + i).ToString(CultureInfo.InvariantCulture))],
            Name = [new HumanName { Family = Families[(i * 7) % Families.Length], Given = [GivenFemale[i % GivenFemale.Length]], Prefix = ["Dr."] }],
        })).ToArray();

        for (var p = 0; p < PatientCount; p++)
        {
            var female = random.Next(2) == 0;
            var birth = new DateTime(1940, 1, 1).AddDays(random.Next(0, 365 * 65));
            var patientUrl = Add(new Patient
            {
                Active = true,
                Identifier = [new Identifier("urn:oid:1.2.36.146.595.217.0.1", $"MRN{100000 + p}")],
                Name = [new HumanName { Use = HumanName.NameUse.Official, Family = Families[random.Next(Families.Length)], Given = [female ? GivenFemale[random.Next(GivenFemale.Length)] : GivenMale[random.Next(GivenMale.Length)]] }],
                Gender = female ? AdministrativeGender.Female : AdministrativeGender.Male,
                BirthDate = birth.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                Address = [new Address { City = random.Next(2) == 0 ? "Springfield" : "Riverton", State = "IL", PostalCode = $"627{random.Next(10, 99)}", Country = "US" }],
                ManagingOrganization = new ResourceReference(orgs[p % orgs.Length]),
                GeneralPractitioner = [new ResourceReference(practitioners[p % practitioners.Length])],
            });

            var encounterDate = new DateTimeOffset(2025, 1, 1, 9, 0, 0, TimeSpan.Zero).AddDays(random.Next(0, 600)).AddMinutes(random.Next(0, 480));
            var encounterUrl = Add(new Encounter
            {
                Status = Encounter.EncounterStatus.Finished,
                Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", "ambulatory"),
                Type = [new CodeableConcept("http://snomed.info/sct", "185349003", "Encounter for check up")],
                Subject = new ResourceReference(patientUrl),
                Participant = [new Encounter.ParticipantComponent { Individual = new ResourceReference(practitioners[p % practitioners.Length]) }],
                Period = new Period(new FhirDateTime(encounterDate), new FhirDateTime(encounterDate.AddMinutes(30))),
                ServiceProvider = new ResourceReference(orgs[p % orgs.Length]),
            });

            var condition = Conditions[random.Next(Conditions.Length)];
            Add(new Condition
            {
                ClinicalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
                VerificationStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
                Code = new CodeableConcept("http://snomed.info/sct", condition.Code, condition.Display, condition.Display),
                Subject = new ResourceReference(patientUrl),
                Encounter = new ResourceReference(encounterUrl),
                Onset = new FhirDateTime(encounterDate.AddYears(-random.Next(1, 10))),
            });

            var medication = Medications[Array.FindIndex(Conditions, c => c.Code == condition.Code)];
            Add(new MedicationRequest
            {
                Status = MedicationRequest.MedicationrequestStatus.Active,
                Intent = MedicationRequest.MedicationRequestIntent.Order,
                Medication = new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", medication.Code, medication.Display, medication.Display),
                Subject = new ResourceReference(patientUrl),
                Encounter = new ResourceReference(encounterUrl),
                AuthoredOn = encounterDate.ToString("yyyy-MM-ddTHH:mm:ssK", CultureInfo.InvariantCulture),
                Requester = new ResourceReference(practitioners[p % practitioners.Length]),
            });

            foreach (var vital in Vitals)
            {
                var value = Math.Round(vital.Low + random.NextDouble() * (vital.High - vital.Low), 1);
                Add(new Observation
                {
                    Status = ObservationStatus.Final,
                    Category = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/observation-category", vital.Code == "4548-4" ? "laboratory" : "vital-signs")],
                    Code = new CodeableConcept("http://loinc.org", vital.Code, vital.Display, vital.Display),
                    Subject = new ResourceReference(patientUrl),
                    Encounter = new ResourceReference(encounterUrl),
                    Effective = new FhirDateTime(encounterDate.AddMinutes(5)),
                    Value = new Quantity((decimal)value, vital.UnitCode) { Unit = vital.Unit },
                });
            }
        }

        return bundle;
    }
}

internal static class RandomExtensions
{
    public static byte[] NextBytes(this Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}
