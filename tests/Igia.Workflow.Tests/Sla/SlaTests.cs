using System.Globalization;
using Hl7.Fhir.Model;
using Igia.Workflow.Sla;
using Igia.Workflow.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Igia.Workflow.Tests.Sla;

public sealed class SlaTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 8, 0, 0, TimeSpan.Zero);

    private static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture);

    private static FhirTask DueTask(DateTimeOffset due, string? owner = null, string? requester = null, FhirTask.TaskStatus status = FhirTask.TaskStatus.Requested) => new()
    {
        Status = status,
        Intent = FhirTask.TaskIntent.Order,
        Description = "Call the patient",
        Owner = owner is null ? null : new ResourceReference(owner),
        Requester = requester is null ? null : new ResourceReference(requester),
        Restriction = new FhirTask.RestrictionComponent { Period = new Period { End = Iso(due) } },
    };

    private static bool IsOverdue(FhirTask t) => t.BusinessStatus?.Coding.Any(c => c.Code == "overdue") == true;

    private static async Task<FhirTask?> EscalationOfAsync(WorkflowTestHost host, string taskId)
    {
        var found = await host.GetAsync<Bundle>($"Task?focus=Task/{taskId}");
        return found.Entry.Select(e => e.Resource).OfType<FhirTask>().SingleOrDefault();
    }

    /// <summary>Waits until a sentinel Task that is already due has been marked overdue: proof that the engine ran a full round after the clock moved.</summary>
    private static async Task EngineRoundAsync(WorkflowTestHost host, FakeTimeProvider clock)
    {
        var sentinel = await host.CreateAsync(DueTask(clock.GetUtcNow().AddSeconds(-1)));
        await WorkflowTestHost.WaitForAsync(async () => IsOverdue(await host.GetAsync<FhirTask>($"Task/{sentinel.Id}")), "sentinel overdue");
    }

    private static Task<WorkflowTestHost> StartAsync(FakeTimeProvider clock, Action<WorkflowOptions>? options = null) =>
        WorkflowTestHost.StartAsync(workflow: options, configureServices: s => s.AddSingleton<TimeProvider>(clock));

    [Fact]
    public async Task DueTimePasses_OpenTaskMarkedOverdue_EscalationToOwnerOrganization()
    {
        var clock = new FakeTimeProvider(Start);
        await using var host = await StartAsync(clock);
        var org = await host.CreateAsync(new Organization { Name = "Care team" });
        var task = await host.CreateAsync(DueTask(Start.AddHours(1), owner: $"Organization/{org.Id}"));

        clock.Advance(TimeSpan.FromMinutes(30));
        await EngineRoundAsync(host, clock);
        Assert.False(IsOverdue(await host.GetAsync<FhirTask>($"Task/{task.Id}")));
        Assert.Null(await EscalationOfAsync(host, task.Id));

        clock.Advance(TimeSpan.FromMinutes(31));
        await WorkflowTestHost.WaitForAsync(async () => IsOverdue(await host.GetAsync<FhirTask>($"Task/{task.Id}")), "task overdue");
        var overdue = await host.GetAsync<FhirTask>($"Task/{task.Id}");
        Assert.Equal(FhirTask.TaskStatus.Requested, overdue.Status);
        Assert.Equal(SlaService.BusinessStatusSystem, overdue.BusinessStatus.Coding[0].System);

        var escalation = await EscalationOfAsync(host, task.Id);
        Assert.NotNull(escalation);
        Assert.Equal($"Organization/{org.Id}", escalation.Owner.Reference);
        Assert.Equal(FhirTask.TaskStatus.Requested, escalation.Status);
        Assert.Equal("escalation", escalation.Code.Coding[0].Code);
        CoreValidator.AssertValid(escalation);
        CoreValidator.AssertValid(overdue);

        // The "overdue Tasks" worklist is a plain search.
        var worklist = await host.GetAsync<Bundle>("Task?business-status=overdue");
        Assert.Contains(worklist.Entry, e => e.Resource.Id == task.Id);

        // Fires once: more time passing adds no second escalation.
        clock.Advance(TimeSpan.FromHours(5));
        await EngineRoundAsync(host, clock);
        Assert.Single((await host.GetAsync<Bundle>($"Task?focus=Task/{task.Id}")).Entry);
    }

    [Fact]
    public async Task TaskEndsBeforeDue_TimerCancelled_NoEscalation()
    {
        var clock = new FakeTimeProvider(Start);
        await using var host = await StartAsync(clock);
        var task = await host.CreateAsync(DueTask(Start.AddHours(1), status: FhirTask.TaskStatus.Ready));
        task.Status = FhirTask.TaskStatus.InProgress;
        task = await host.PutAsync(task);
        task.Status = FhirTask.TaskStatus.Completed;
        task = await host.PutAsync(task);
        var cancelled = await host.CreateAsync(DueTask(Start.AddHours(1)));
        cancelled.Status = FhirTask.TaskStatus.Cancelled;
        await host.PutAsync(cancelled);

        clock.Advance(TimeSpan.FromHours(2));
        await EngineRoundAsync(host, clock);
        Assert.False(IsOverdue(await host.GetAsync<FhirTask>($"Task/{task.Id}")));
        Assert.Null(await EscalationOfAsync(host, task.Id));
        Assert.Null(await EscalationOfAsync(host, cancelled.Id));
    }

    [Fact]
    public async Task DueTimeMovedLater_TimerFollows()
    {
        var clock = new FakeTimeProvider(Start);
        await using var host = await StartAsync(clock);
        var task = await host.CreateAsync(DueTask(Start.AddHours(1)));
        task.Restriction.Period.End = Iso(Start.AddHours(3));
        await host.PutAsync(task);

        clock.Advance(TimeSpan.FromHours(2));
        await EngineRoundAsync(host, clock);
        Assert.False(IsOverdue(await host.GetAsync<FhirTask>($"Task/{task.Id}")));

        clock.Advance(TimeSpan.FromHours(2));
        await WorkflowTestHost.WaitForAsync(async () => IsOverdue(await host.GetAsync<FhirTask>($"Task/{task.Id}")), "task overdue at the new due time");
    }

    [Fact]
    public async Task EscalationToRequester_WhenConfigured_AndOwnerPractitionerResolvesToRoleOrganization()
    {
        var clock = new FakeTimeProvider(Start);
        await using var host = await StartAsync(clock, o => o.Escalation = EscalationTarget.Requester);
        var requester = await host.CreateAsync(new Practitioner { Name = [new HumanName { Family = "Lead" }] });
        var task = await host.CreateAsync(DueTask(Start.AddMinutes(10), owner: "Organization/elsewhere", requester: $"Practitioner/{requester.Id}"));
        clock.Advance(TimeSpan.FromMinutes(11));
        await WorkflowTestHost.WaitForAsync(async () => await EscalationOfAsync(host, task.Id) is not null, "escalation");
        Assert.Equal($"Practitioner/{requester.Id}", (await EscalationOfAsync(host, task.Id))!.Owner.Reference);
    }

    [Fact]
    public async Task OwnerPractitioner_EscalatesToTheOrganizationOfTheirRole()
    {
        var clock = new FakeTimeProvider(Start);
        await using var host = await StartAsync(clock);
        var org = await host.CreateAsync(new Organization { Name = "Clinic" });
        var nurse = await host.CreateAsync(new Practitioner { Name = [new HumanName { Family = "Nurse" }] });
        await host.CreateAsync(new PractitionerRole { Practitioner = new ResourceReference($"Practitioner/{nurse.Id}"), Organization = new ResourceReference($"Organization/{org.Id}") });
        var task = await host.CreateAsync(DueTask(Start.AddMinutes(5), owner: $"Practitioner/{nurse.Id}"));
        clock.Advance(TimeSpan.FromMinutes(6));
        await WorkflowTestHost.WaitForAsync(async () => await EscalationOfAsync(host, task.Id) is not null, "escalation");
        Assert.Equal($"Organization/{org.Id}", (await EscalationOfAsync(host, task.Id))!.Owner.Reference);
    }

    [Fact]
    public async Task RealTime_TaskDueInTwoSeconds_BecomesOverdue()
    {
        await using var host = await WorkflowTestHost.StartAsync();
        var task = await host.CreateAsync(DueTask(DateTimeOffset.UtcNow.AddSeconds(2)));
        Assert.False(IsOverdue(task));
        await WorkflowTestHost.WaitForAsync(async () => IsOverdue(await host.GetAsync<FhirTask>($"Task/{task.Id}")), "task overdue in real time");
        Assert.NotNull(await EscalationOfAsync(host, task.Id));
    }

    [Fact]
    public async Task CarePlanFromApply_ArmsProgramSlas()
    {
        var clock = new FakeTimeProvider(Start);
        await using var host = await StartAsync(clock);
        var (plan, activities) = Igia.Workflow.CarePrograms.SampleCarePrograms.DiabetesFollowUp();
        foreach (var a in activities)
        {
            await host.PutAsync(a);
        }

        await host.PutAsync(plan);
        var patient = await host.CreateAsync(new Patient());
        var p = new Parameters();
        p.Add("subject", new FhirString($"Patient/{patient.Id}"));
        using var response = await host.Client.PostAsync("PlanDefinition/diabetes-follow-up/$apply", WorkflowTestHost.JsonContent(p));
        var carePlan = await WorkflowTestHost.ReadAsync<CarePlan>(response);
        var call = carePlan.Activity[0].Reference.Reference;

        clock.Advance(TimeSpan.FromDays(3) + TimeSpan.FromMinutes(1));
        await WorkflowTestHost.WaitForAsync(async () => IsOverdue(await host.GetAsync<FhirTask>(call)), "outreach call overdue after 3 days");
        var diet = carePlan.Activity[2].Reference.Reference;
        Assert.False(IsOverdue(await host.GetAsync<FhirTask>(diet)));
        var escalation = await EscalationOfAsync(host, call.Split('/')[1]);
        Assert.Equal($"CarePlan/{carePlan.Id}", escalation!.BasedOn[0].Reference);
    }
}
