using Hl7.Fhir.Model;
using Igia.IntegrationTests.Infrastructure;
using Igia.Sandbox;

namespace Igia.IntegrationTests.Sandbox;

/// <summary>The sandbox started the way the README says, checked through real HTTP.</summary>
public sealed class SandboxTests
{
    [Fact]
    public async System.Threading.Tasks.Task Sandbox_FirstStart_SeedsDataThatSearchFinds()
    {
        using var data = new TempFolder("igia-sandbox");
        await using var sandbox = await SandboxHost.StartAsync(data.Path);

        Assert.True(File.Exists(data.Combine("fhir.db")), $"--data was not used: no fhir.db in {data.Path}.\n{sandbox.Server.Output}");

        var capabilities = await sandbox.Http.GetAsync<CapabilityStatement>("metadata");
        Assert.Contains(capabilities.Rest.Single().Resource, r => r.Type == "Patient");

        var page = await sandbox.Http.GetAsync<Bundle>("Patient?_count=5");
        Assert.Equal(Bundle.BundleType.Searchset, page.Type);
        var patients = page.Entry.Select(e => e.Resource).OfType<Patient>().ToList();
        Assert.Equal(5, patients.Count);
        Assert.All(patients, p => Assert.NotEmpty(p.Name));
        Assert.Equal(SandboxSeeder.PatientCount, page.Total);
        Assert.Contains(page.Link, l => l.Relation == "next");

        var patient = patients[0];
        var observations = (await sandbox.Http.SearchAllAsync($"Observation?patient={patient.Id}")).OfType<Observation>().ToList();
        Assert.Equal(SandboxSeeder.ObservationsPerPatient, observations.Count);
        Assert.All(observations, o => Assert.Equal($"Patient/{patient.Id}", o.Subject?.Reference));
        Assert.All(observations, o => Assert.Equal("http://loinc.org", o.Code.Coding.Single().System));

        var mrn = patient.Identifier.Single();
        var byIdentifier = await sandbox.Http.SearchAllAsync($"Patient?identifier={Uri.EscapeDataString($"{mrn.System}|{mrn.Value}")}");
        Assert.Equal(patient.Id, Assert.Single(byIdentifier).Id);

        var read = await sandbox.Http.GetAsync<Patient>($"Patient/{patient.Id}");
        Assert.Equal(patient.Id, read.Id);

        // Igia.Audit copies every record into the store (after it is durable locally): "who looked at this record".
        var deadline = DateTime.UtcNow.AddSeconds(60);
        List<AuditEvent> events;
        do
        {
            events = (await sandbox.Http.SearchAllAsync($"AuditEvent?patient=Patient/{patient.Id}&subtype=read")).OfType<AuditEvent>().ToList();
        }
        while (events.Count == 0 && DateTime.UtcNow < deadline && await Delay());
        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.Contains(e.Entity, en => en.What?.Reference == $"Patient/{patient.Id}"));
        Assert.NotEmpty(Directory.GetFiles(data.Combine("audit"), "*.jsonl", SearchOption.AllDirectories));

        static async Task<bool> Delay()
        {
            await System.Threading.Tasks.Task.Delay(500);
            return true;
        }
    }

    [Fact]
    public async System.Threading.Tasks.Task Sandbox_FirstStart_AppliesTheCareProgramAndMovesATask()
    {
        using var data = new TempFolder("igia-sandbox");
        await using var sandbox = await SandboxHost.StartAsync(data.Path);

        var carePlans = (await sandbox.Http.SearchAllAsync("CarePlan")).OfType<CarePlan>().ToList();
        Assert.NotEmpty(carePlans);
        Assert.True(carePlans.Count <= 3, $"{carePlans.Count} care plans: the seeder applies the program to three patients at most.");
        Assert.True(File.Exists(data.Combine("workflow.db")), $"No workflow.db in {data.Path}.\n{sandbox.Server.Output}");
        foreach (var carePlan in carePlans)
        {
            var patient = carePlan.Subject.Reference;
            Assert.StartsWith("Patient/", patient);
            var diabetes = await sandbox.Http.SearchAllAsync($"Condition?subject={patient}&code=http://snomed.info/sct|44054006");
            Assert.NotEmpty(diabetes);
            Assert.NotEmpty(carePlan.Goal);
            var tasks = (await sandbox.Http.SearchAllAsync($"Task?patient={patient}")).OfType<Hl7.Fhir.Model.Task>().ToList();
            Assert.NotEmpty(tasks);
            Assert.All(tasks, t => Assert.Equal($"CarePlan/{carePlan.Id}", t.BasedOn.Single().Reference));

            // The seeder moved the first Task requested → accepted → in-progress through the state machine: version 3.
            var moved = Assert.Single(tasks, t => t.Status == Hl7.Fhir.Model.Task.TaskStatus.InProgress);
            Assert.Equal("3", moved.Meta.VersionId);
        }

        // The state machine guards the sandbox's Tasks: in-progress → requested is not allowed.
        var task = (await sandbox.Http.SearchAllAsync("Task?status=in-progress")).OfType<Hl7.Fhir.Model.Task>().First();
        task.Status = Hl7.Fhir.Model.Task.TaskStatus.Requested;
        using var refused = await sandbox.Http.PutAsync($"Task/{task.Id}", FhirHttp.Content(task));
        Assert.True((int)refused.StatusCode is >= 400 and < 500, $"Illegal transition answered {(int)refused.StatusCode}.");
    }

    [Fact]
    public async System.Threading.Tasks.Task Sandbox_RestartOnSameData_DoesNotSeedAgain()
    {
        using var data = new TempFolder("igia-sandbox");
        int patientsBefore, versionsBefore;
        await using (var first = await SandboxHost.StartAsync(data.Path))
        {
            patientsBefore = (await first.Http.SearchAllAsync("Patient?_count=7")).Count;
            // Clinical data only: the audit trail (AuditEvents) and the workflow engine keep writing on their own.
            versionsBefore = (await first.Http.GetAsync<Bundle>("Observation/_history?_count=1")).Total ?? -1;
        }

        Assert.Equal(SandboxSeeder.PatientCount, patientsBefore);
        Assert.True(versionsBefore >= SandboxSeeder.PatientCount * SandboxSeeder.ObservationsPerPatient, $"Observation history total was {versionsBefore}.");

        await using var second = await SandboxHost.StartAsync(data.Path);
        Assert.Equal(patientsBefore, (await second.Http.SearchAllAsync("Patient?_count=7")).Count);
        Assert.Equal(versionsBefore, (await second.Http.GetAsync<Bundle>("Observation/_history?_count=1")).Total);
        Assert.True(await second.Server.WaitForOutputAsync("already holds data", TimeSpan.FromSeconds(60)), second.Server.Output);
    }
}
