using System.Net;
using Hl7.Fhir.Model;
using Igia.Workflow.CarePrograms;
using Igia.Workflow.Tests.Infrastructure;

namespace Igia.Workflow.Tests.CarePrograms;

public sealed class ApplyTests(Igia.Workflow.Tests.Tasks.TaskHostFixture fixture) : IClassFixture<Igia.Workflow.Tests.Tasks.TaskHostFixture>
{
    private WorkflowTestHost Host => fixture.Host;

    private async Task<(Patient Patient, Practitioner Nurse, Organization Clinic)> SeedAsync()
    {
        var (plan, activities) = SampleCarePrograms.DiabetesFollowUp();
        foreach (var a in activities)
        {
            await Host.PutAsync(a);
        }

        await Host.PutAsync(plan);
        var patient = await Host.CreateAsync(new Patient { Name = [new HumanName { Family = "Test", Given = ["Dia"] }] });
        var nurse = await Host.CreateAsync(new Practitioner { Name = [new HumanName { Family = "Nurse" }] });
        var clinic = await Host.CreateAsync(new Organization { Name = "Diabetes clinic" });
        return (patient, nurse, clinic);
    }

    private static Parameters ApplyParameters(string subject, string? practitioner = null, string? organization = null)
    {
        var p = new Parameters();
        p.Add("subject", new FhirString(subject));
        if (practitioner is not null)
        {
            p.Add("practitioner", new FhirString(practitioner));
        }

        if (organization is not null)
        {
            p.Add("organization", new FhirString(organization));
        }

        return p;
    }

    [Fact]
    public async Task PlanDefinitionApply_CreatesCarePlanGoalsAndRequestsInOneTransaction_AllValidAgainstCoreSpec()
    {
        var (patient, nurse, clinic) = await SeedAsync();
        using var response = await Host.Client.PostAsync("PlanDefinition/diabetes-follow-up/$apply",
            WorkflowTestHost.JsonContent(ApplyParameters($"Patient/{patient.Id}", $"Practitioner/{nurse.Id}", $"Organization/{clinic.Id}")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var carePlan = await WorkflowTestHost.ReadAsync<CarePlan>(response);
        Assert.NotNull(carePlan.Id);
        Assert.Equal(RequestStatus.Active, carePlan.Status);
        Assert.Equal($"Patient/{patient.Id}", carePlan.Subject.Reference);
        Assert.Equal(SampleCarePrograms.DiabetesFollowUpUrl + "|1.0.0", Assert.Single(carePlan.InstantiatesCanonical));
        Assert.Equal(3, carePlan.Activity.Count);
        var goal = await Host.GetAsync<Goal>(Assert.Single(carePlan.Goal).Reference);

        var resources = new List<Resource> { carePlan, goal };
        foreach (var activity in carePlan.Activity)
        {
            Assert.Matches("^(Task|ServiceRequest)/[A-Za-z0-9.-]+$", activity.Reference.Reference);
            resources.Add(await Host.GetAsync<Resource>(activity.Reference.Reference));
        }

        var tasks = resources.OfType<FhirTask>().ToList();
        Assert.Equal(2, tasks.Count);
        Assert.All(tasks, t =>
        {
            Assert.Equal(FhirTask.TaskStatus.Requested, t.Status);
            Assert.Equal($"CarePlan/{carePlan.Id}", Assert.Single(t.BasedOn).Reference);
            Assert.Equal($"Organization/{clinic.Id}", t.Owner.Reference);
            Assert.Equal($"Practitioner/{nurse.Id}", t.Requester.Reference);
            Assert.NotNull(t.Restriction.Period.End);
            Assert.Single(t.PerformerType);
            Assert.Equal($"Goal/{goal.Id}", ((ResourceReference)t.Input[0].Value).Reference);
        });
        var call = tasks.Single(t => t.InstantiatesCanonical.Contains("outreach-call"));
        Assert.Equal("224535009", call.PerformerType[0].Coding[0].Code);
        var due = DateTimeOffset.Parse(call.Restriction.Period.End) - DateTimeOffset.Parse(call.Restriction.Period.Start);
        Assert.Equal(TimeSpan.FromDays(3), due);
        var lab = Assert.Single(resources.OfType<ServiceRequest>());
        Assert.Equal("4548-4", lab.Code.Coding[0].Code);
        Assert.Equal(Hl7.Fhir.Model.Goal.GoalLifecycleStatus.Active, goal.LifecycleStatus);
        Assert.NotNull(goal.Target[0].Due);

        foreach (var resource in resources)
        {
            CoreValidator.AssertValid(resource);
        }

        // Worklists are plain searches.
        var open = await Host.GetAsync<Bundle>($"Task?owner=Organization/{clinic.Id}&status=requested,received,accepted,ready,in-progress,on-hold");
        Assert.Equal(2, open.Entry.Count);
        var ofPlan = await Host.GetAsync<Bundle>($"Task?based-on=CarePlan/{carePlan.Id}");
        Assert.Equal(2, ofPlan.Entry.Count);
    }

    [Fact]
    public async Task AdHocTask_CanBeAddedToARunningCarePlan_AndShowsInItsWorklist()
    {
        var (patient, _, _) = await SeedAsync();
        using var response = await Host.Client.PostAsync("PlanDefinition/diabetes-follow-up/$apply", WorkflowTestHost.JsonContent(ApplyParameters($"Patient/{patient.Id}")));
        var carePlan = await WorkflowTestHost.ReadAsync<CarePlan>(response);
        var adHoc = await Host.CreateAsync(new FhirTask
        {
            Status = FhirTask.TaskStatus.Ready,
            Intent = FhirTask.TaskIntent.Order,
            Description = "Check foot ulcer",
            BasedOn = [new ResourceReference($"CarePlan/{carePlan.Id}")],
            For = new ResourceReference($"Patient/{patient.Id}"),
        });
        CoreValidator.AssertValid(adHoc);
        var ofPlan = await Host.GetAsync<Bundle>($"Task?based-on=CarePlan/{carePlan.Id}");
        Assert.Contains(ofPlan.Entry, e => e.Resource.Id == adHoc.Id);
        Assert.Equal(3, ofPlan.Entry.Count);
    }

    [Fact]
    public async Task PlanDefinitionApply_TypeLevelWithInlineDefinitionAndContainedActivity()
    {
        var patient = await Host.CreateAsync(new Patient());
        var plan = new PlanDefinition
        {
            Status = PublicationStatus.Draft,
            Title = "Inline",
            Contained = [new ActivityDefinition { Id = "a1", Status = PublicationStatus.Draft, Kind = ActivityDefinition.RequestResourceType.Task, Title = "Contained step" }],
            Action =
            [
                new PlanDefinition.ActionComponent { Title = "Contained step", Definition = new Canonical("#a1") },
                new PlanDefinition.ActionComponent
                {
                    Title = "Group",
                    Action = [new PlanDefinition.ActionComponent { Title = "Plain action", Timing = new Duration { Value = 2, Code = "h", System = "http://unitsofmeasure.org", Unit = "h" } }],
                },
            ],
        };
        var p = ApplyParameters($"Patient/{patient.Id}");
        p.Parameter.Add(new Parameters.ParameterComponent { Name = "planDefinition", Resource = plan });
        using var response = await Host.Client.PostAsync("PlanDefinition/$apply", WorkflowTestHost.JsonContent(p));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var carePlan = await WorkflowTestHost.ReadAsync<CarePlan>(response);
        Assert.Equal(2, carePlan.Activity.Count);
        var plain = await Host.GetAsync<FhirTask>(carePlan.Activity[1].Reference.Reference);
        Assert.Equal("Plain action", plain.Description);
        Assert.Equal(TimeSpan.FromHours(2), DateTimeOffset.Parse(plain.Restriction.Period.End) - DateTimeOffset.Parse(plain.Restriction.Period.Start));
        CoreValidator.AssertValid(carePlan);
        CoreValidator.AssertValid(plain);
    }

    [Fact]
    public async Task ActivityDefinitionApply_CreatesTheTask_ValidAgainstCoreSpec()
    {
        var (patient, nurse, _) = await SeedAsync();
        using var response = await Host.Client.PostAsync("ActivityDefinition/diabetes-outreach-call/$apply",
            WorkflowTestHost.JsonContent(ApplyParameters($"Patient/{patient.Id}", $"Practitioner/{nurse.Id}")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var task = await WorkflowTestHost.ReadAsync<FhirTask>(response);
        Assert.Equal(FhirTask.TaskStatus.Requested, task.Status);
        Assert.Equal($"Practitioner/{nurse.Id}", task.Owner.Reference);
        CoreValidator.AssertValid(await Host.GetAsync<FhirTask>($"Task/{task.Id}"));

        using var sr = await Host.Client.PostAsync("ActivityDefinition/diabetes-hba1c-order/$apply", WorkflowTestHost.JsonContent(ApplyParameters($"Patient/{patient.Id}")));
        Assert.Equal(HttpStatusCode.OK, sr.StatusCode);
        CoreValidator.AssertValid(await WorkflowTestHost.ReadAsync<ServiceRequest>(sr));
    }

    [Theory]
    [InlineData("PlanDefinition/diabetes-follow-up/$apply", null, HttpStatusCode.BadRequest)]
    [InlineData("PlanDefinition/diabetes-follow-up/$apply", "Patient/does-not-exist", HttpStatusCode.UnprocessableEntity)]
    [InlineData("PlanDefinition/diabetes-follow-up/$apply", "not a reference", HttpStatusCode.BadRequest)]
    [InlineData("PlanDefinition/diabetes-follow-up/$apply", "Patient/../../x", HttpStatusCode.BadRequest)]
    [InlineData("PlanDefinition/nope/$apply", "Patient/x", HttpStatusCode.NotFound)]
    [InlineData("PlanDefinition/$apply", "Patient/x", HttpStatusCode.BadRequest)]
    public async Task Apply_BadInput_Is4xxOperationOutcome_NothingCreated(string url, string? subject, HttpStatusCode expected)
    {
        await SeedAsync();
        var before = (await Host.GetAsync<Bundle>("CarePlan?_summary=count")).Total;
        var p = subject is null ? new Parameters() : ApplyParameters(subject);
        using var response = await Host.Client.PostAsync(url, WorkflowTestHost.JsonContent(p));
        Assert.Equal(expected, response.StatusCode);
        Assert.IsType<OperationOutcome>(await WorkflowTestHost.ReadAsync<Resource>(response));
        Assert.Equal(before, (await Host.GetAsync<Bundle>("CarePlan?_summary=count")).Total);
    }

    [Fact]
    public async Task Apply_ByGet_IsRefused()
    {
        using var response = await Host.Client.GetAsync("PlanDefinition/diabetes-follow-up/$apply?subject=Patient/x");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task Apply_MissingActivityDefinition_Is422_NothingCreated()
    {
        var patient = await Host.CreateAsync(new Patient());
        var plan = await Host.CreateAsync(new PlanDefinition
        {
            Status = PublicationStatus.Active,
            Action = [new PlanDefinition.ActionComponent { Title = "x", Definition = new Canonical("http://example.org/ActivityDefinition/missing") }],
        });
        var before = (await Host.GetAsync<Bundle>("CarePlan?_summary=count")).Total;
        using var response = await Host.Client.PostAsync($"PlanDefinition/{plan.Id}/$apply", WorkflowTestHost.JsonContent(ApplyParameters($"Patient/{patient.Id}")));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal(before, (await Host.GetAsync<Bundle>("CarePlan?_summary=count")).Total);
    }
}
