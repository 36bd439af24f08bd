using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;
using Igia.Workflow.Tests.Infrastructure;

namespace Igia.Workflow.Tests.Tasks;

/// <summary>One server for the class: every allowed and every illegal transition of the R4 typical machine, over HTTP.</summary>
public sealed class TaskHostFixture : IAsyncLifetime
{
    public WorkflowTestHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await WorkflowTestHost.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public sealed class TaskStateMachineHttpTests(TaskHostFixture fixture) : IClassFixture<TaskHostFixture>
{
    private WorkflowTestHost Host => fixture.Host;

    /// <summary>The machine as the issue states it, written out independently of the implementation.</summary>
    private static readonly Dictionary<string, string[]> Expected = new()
    {
        ["draft"] = ["requested", "ready", "cancelled"],
        ["requested"] = ["received", "accepted", "rejected", "cancelled"],
        ["received"] = ["accepted", "rejected", "cancelled"],
        ["accepted"] = ["in-progress", "cancelled"],
        ["ready"] = ["in-progress", "cancelled"],
        ["in-progress"] = ["on-hold", "completed", "failed"],
        ["on-hold"] = ["in-progress"],
        ["completed"] = [],
        ["failed"] = [],
        ["rejected"] = [],
        ["cancelled"] = [],
        ["entered-in-error"] = [],
    };

    private static readonly string[] All = [.. Expected.Keys];

    private static bool Allowed(string from, string to) => from == to || Expected[from].Contains(to) || (to == "entered-in-error" && from != to);

    public static TheoryData<string, string> AllowedPairs()
    {
        var data = new TheoryData<string, string>();
        foreach (var from in All)
        {
            foreach (var to in All.Where(to => to != from && Allowed(from, to)))
            {
                data.Add(from, to);
            }
        }

        return data;
    }

    public static TheoryData<string, string> IllegalPairs()
    {
        var data = new TheoryData<string, string>();
        foreach (var from in All)
        {
            foreach (var to in All.Where(to => !Allowed(from, to)))
            {
                data.Add(from, to);
            }
        }

        return data;
    }

    /// <summary>A shortest path of allowed steps from an initial status (draft/requested/ready) to <paramref name="target"/>.</summary>
    private static List<string> PathTo(string target)
    {
        var queue = new Queue<List<string>>([["draft"], ["requested"], ["ready"]]);
        var seen = new HashSet<string>();
        while (queue.Count > 0)
        {
            var path = queue.Dequeue();
            if (path[^1] == target)
            {
                return path;
            }

            if (!seen.Add(path[^1]))
            {
                continue;
            }

            foreach (var next in Expected[path[^1]].Append("entered-in-error"))
            {
                queue.Enqueue([.. path, next]);
            }
        }

        throw new InvalidOperationException("unreachable " + target);
    }

    private static FhirTask NewTask(string status) => new()
    {
        Status = EnumUtility.ParseLiteral<FhirTask.TaskStatus>(status),
        Intent = FhirTask.TaskIntent.Order,
        Description = "Call the patient",
    };

    /// <summary>Creates a Task and walks it to <paramref name="status"/> with PUTs.</summary>
    private async Task<FhirTask> TaskInAsync(string status)
    {
        var path = PathTo(status);
        var task = await Host.CreateAsync(NewTask(path[0]));
        foreach (var step in path.Skip(1))
        {
            task.Status = EnumUtility.ParseLiteral<FhirTask.TaskStatus>(step);
            task = await Host.PutAsync(task);
        }

        Assert.Equal(status, task.Status!.Value.GetLiteral());
        return task;
    }

    [Theory]
    [MemberData(nameof(AllowedPairs))]
    public async Task Put_AllowedTransition_Succeeds(string from, string to)
    {
        var task = await TaskInAsync(from);
        task.Status = EnumUtility.ParseLiteral<FhirTask.TaskStatus>(to);
        using var response = await Host.Client.PutAsync($"Task/{task.Id}", WorkflowTestHost.JsonContent(task));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stored = await Host.GetAsync<FhirTask>($"Task/{task.Id}");
        Assert.Equal(to, stored.Status!.Value.GetLiteral());
    }

    [Theory]
    [MemberData(nameof(IllegalPairs))]
    public async Task Put_IllegalTransition_Is422NamingAllowedNextStates(string from, string to)
    {
        var task = await TaskInAsync(from);
        var version = task.Meta.VersionId;
        task.Status = EnumUtility.ParseLiteral<FhirTask.TaskStatus>(to);
        using var response = await Host.Client.PutAsync($"Task/{task.Id}", WorkflowTestHost.JsonContent(task));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var outcome = await WorkflowTestHost.ReadAsync<OperationOutcome>(response);
        var issue = Assert.Single(outcome.Issue);
        Assert.Equal(OperationOutcome.IssueType.BusinessRule, issue.Code);
        Assert.Equal("Task.status", Assert.Single(issue.Expression));
        var allowedNext = Expected[from].Append(from == "entered-in-error" ? null : "entered-in-error").OfType<string>().ToList();
        var expectedList = allowedNext.Count == 0 ? "none" : null;
        Assert.Contains($"from '{from}' to '{to}'", issue.Diagnostics);
        if (expectedList is not null)
        {
            Assert.EndsWith(": none.", issue.Diagnostics);
        }

        foreach (var next in allowedNext)
        {
            Assert.Contains(next, issue.Diagnostics.Split(':')[^1]);
        }

        // Nothing changed.
        var stored = await Host.GetAsync<FhirTask>($"Task/{task.Id}");
        Assert.Equal(version, stored.Meta.VersionId);
        Assert.Equal(from, stored.Status!.Value.GetLiteral());
    }

    [Theory]
    [InlineData("received")]
    [InlineData("accepted")]
    [InlineData("in-progress")]
    [InlineData("on-hold")]
    [InlineData("completed")]
    [InlineData("failed")]
    [InlineData("rejected")]
    [InlineData("cancelled")]
    [InlineData("entered-in-error")]
    public async Task Create_WithNonInitialStatus_Is422(string status)
    {
        using var response = await Host.Client.PostAsync("Task", WorkflowTestHost.JsonContent(NewTask(status)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var outcome = await WorkflowTestHost.ReadAsync<OperationOutcome>(response);
        Assert.Contains("draft, requested, ready", outcome.Issue[0].Diagnostics);
    }

    [Fact]
    public async Task Create_WithoutStatus_Is400()
    {
        using var response = await Host.Client.PostAsync("Task", WorkflowTestHost.JsonContent("""{"resourceType":"Task","intent":"order"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task UpdateAsCreate_WithIllegalInitialStatus_Is422()
    {
        var task = NewTask("completed");
        task.Id = "new-" + Guid.NewGuid().ToString("N")[..8];
        using var response = await Host.Client.PutAsync($"Task/{task.Id}", WorkflowTestHost.JsonContent(task));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        using var read = await Host.Client.GetAsync($"Task/{task.Id}");
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async Task BusinessStatusAndStatusReason_ChangeFreelyWithinAStatus_AndAreKept()
    {
        var task = await TaskInAsync("in-progress");
        task.BusinessStatus = new CodeableConcept("http://example.org/bs", "waiting-for-lab");
        task = await Host.PutAsync(task);
        task.BusinessStatus = new CodeableConcept("http://example.org/bs", "lab-received");
        task = await Host.PutAsync(task);
        task.Status = FhirTask.TaskStatus.OnHold;
        task.StatusReason = new CodeableConcept { Text = "Patient travelling" };
        task = await Host.PutAsync(task);
        var stored = await Host.GetAsync<FhirTask>($"Task/{task.Id}");
        Assert.Equal("lab-received", stored.BusinessStatus.Coding[0].Code);
        Assert.Equal("Patient travelling", stored.StatusReason.Text);
        Assert.Equal(FhirTask.TaskStatus.OnHold, stored.Status);
    }

    [Fact]
    public async Task JsonPatch_IllegalTransition_Is422_AndLegalOneApplies()
    {
        var task = await TaskInAsync("completed");
        using var bad = new HttpRequestMessage(HttpMethod.Patch, $"Task/{task.Id}")
        {
            Content = new StringContent("""[{"op":"replace","path":"/status","value":"in-progress"}]""", Encoding.UTF8, "application/json-patch+json"),
        };
        using var badResponse = await Host.Client.SendAsync(bad);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, badResponse.StatusCode);
        Assert.Contains("entered-in-error", (await WorkflowTestHost.ReadAsync<OperationOutcome>(badResponse)).Issue[0].Diagnostics);

        var ready = await TaskInAsync("ready");
        using var good = new HttpRequestMessage(HttpMethod.Patch, $"Task/{ready.Id}")
        {
            Content = new StringContent("""[{"op":"replace","path":"/status","value":"in-progress"}]""", Encoding.UTF8, "application/json-patch+json"),
        };
        using var goodResponse = await Host.Client.SendAsync(good);
        Assert.Equal(HttpStatusCode.OK, goodResponse.StatusCode);
    }

    [Fact]
    public async Task FhirPathPatch_IllegalTransition_Is422()
    {
        var task = await TaskInAsync("draft");
        var patch = new Parameters();
        patch.Parameter.Add(new Parameters.ParameterComponent
        {
            Name = "operation",
            Part =
            [
                new() { Name = "type", Value = new Code("replace") },
                new() { Name = "path", Value = new FhirString("Task.status") },
                new() { Name = "value", Value = new Code("completed") },
            ],
        });
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"Task/{task.Id}") { Content = WorkflowTestHost.JsonContent(patch) };
        using var response = await Host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("requested, ready, cancelled, entered-in-error", (await WorkflowTestHost.ReadAsync<OperationOutcome>(response)).Issue[0].Diagnostics);
    }

    [Fact]
    public async Task ConditionalUpdate_IllegalTransition_Is422()
    {
        var task = await TaskInAsync("cancelled");
        var identifier = "wf-" + Guid.NewGuid().ToString("N");
        task.Identifier = [new Identifier("http://example.org/tasks", identifier)];
        using (var tag = new HttpRequestMessage(HttpMethod.Put, $"Task/{task.Id}") { Content = WorkflowTestHost.JsonContent(task) })
        {
            // Same status: allowed (adds the identifier).
            using var ok = await Host.Client.SendAsync(tag);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        task.Id = null;
        task.Status = FhirTask.TaskStatus.Ready;
        using var response = await Host.Client.PutAsync($"Task?identifier=http://example.org/tasks|{identifier}", WorkflowTestHost.JsonContent(task));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
    }

    private static Bundle Transaction(params (FhirTask Task, Bundle.HTTPVerb Verb, string Url)[] entries)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        foreach (var (task, verb, url) in entries)
        {
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = verb == Bundle.HTTPVerb.POST ? "urn:uuid:" + Guid.NewGuid() : null,
                Resource = task,
                Request = new Bundle.RequestComponent { Method = verb, Url = url },
            });
        }

        return bundle;
    }

    [Fact]
    public async Task Transaction_WithOneIllegalTransition_IsRefusedWhole_NothingChanges()
    {
        var a = await TaskInAsync("requested");
        var b = await TaskInAsync("completed");
        a.Status = FhirTask.TaskStatus.Accepted;
        b.Status = FhirTask.TaskStatus.InProgress;
        var bundle = Transaction((a, Bundle.HTTPVerb.PUT, $"Task/{a.Id}"), (b, Bundle.HTTPVerb.PUT, $"Task/{b.Id}"), (NewTask("draft"), Bundle.HTTPVerb.POST, "Task"));
        using var response = await Host.Client.PostAsync("", WorkflowTestHost.JsonContent(bundle));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var outcome = await WorkflowTestHost.ReadAsync<OperationOutcome>(response);
        Assert.Contains(outcome.Issue, i => i.Diagnostics.Contains("from 'completed' to 'in-progress'"));
        Assert.Equal(FhirTask.TaskStatus.Requested, (await Host.GetAsync<FhirTask>($"Task/{a.Id}")).Status);
        Assert.Equal(FhirTask.TaskStatus.Completed, (await Host.GetAsync<FhirTask>($"Task/{b.Id}")).Status);
    }

    [Fact]
    public async Task Transaction_CreatingTaskWithIllegalInitialStatus_IsRefused()
    {
        var bundle = Transaction((NewTask("draft"), Bundle.HTTPVerb.POST, "Task"), (NewTask("completed"), Bundle.HTTPVerb.POST, "Task"));
        using var response = await Host.Client.PostAsync("", WorkflowTestHost.JsonContent(bundle));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
    }

    [Fact]
    public async Task Transaction_WithLegalTransitions_Commits()
    {
        var a = await TaskInAsync("requested");
        var b = await TaskInAsync("in-progress");
        a.Status = FhirTask.TaskStatus.Accepted;
        b.Status = FhirTask.TaskStatus.Completed;
        var bundle = Transaction((a, Bundle.HTTPVerb.PUT, $"Task/{a.Id}"), (b, Bundle.HTTPVerb.PUT, $"Task/{b.Id}"), (NewTask("ready"), Bundle.HTTPVerb.POST, "Task"));
        using var response = await Host.Client.PostAsync("", WorkflowTestHost.JsonContent(bundle));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FhirTask.TaskStatus.Accepted, (await Host.GetAsync<FhirTask>($"Task/{a.Id}")).Status);
        Assert.Equal(FhirTask.TaskStatus.Completed, (await Host.GetAsync<FhirTask>($"Task/{b.Id}")).Status);
    }

    [Fact]
    public async Task Batch_IllegalEntryFails_OthersApply()
    {
        var a = await TaskInAsync("ready");
        var b = await TaskInAsync("failed");
        a.Status = FhirTask.TaskStatus.InProgress;
        b.Status = FhirTask.TaskStatus.Ready;
        var bundle = Transaction((a, Bundle.HTTPVerb.PUT, $"Task/{a.Id}"), (b, Bundle.HTTPVerb.PUT, $"Task/{b.Id}"));
        bundle.Type = Bundle.BundleType.Batch;
        using var response = await Host.Client.PostAsync("", WorkflowTestHost.JsonContent(bundle));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await WorkflowTestHost.ReadAsync<Bundle>(response);
        Assert.StartsWith("200", result.Entry[0].Response.Status);
        Assert.StartsWith("422", result.Entry[1].Response.Status);
        Assert.Equal(FhirTask.TaskStatus.Failed, (await Host.GetAsync<FhirTask>($"Task/{b.Id}")).Status);
    }

    [Fact]
    public async Task Delete_IsNotATransition_AndRecreateStartsOver()
    {
        var task = await TaskInAsync("completed");
        using var deleted = await Host.Client.DeleteAsync($"Task/{task.Id}");
        Assert.True(deleted.IsSuccessStatusCode);
        task.Status = FhirTask.TaskStatus.Draft;
        using var recreated = await Host.Client.PutAsync($"Task/{task.Id}", WorkflowTestHost.JsonContent(task));
        Assert.True(recreated.IsSuccessStatusCode);
    }
}

public sealed class TaskStateMachineConfigurationTests
{
    [Fact]
    public async Task CustomMachine_AllowsReopeningAndForbidsCancel()
    {
        await using var host = await WorkflowTestHost.StartAsync(configureWorkflow: wf => wf.ConfigureTaskStateMachine(m =>
        {
            m.Allow(FhirTask.TaskStatus.Completed, FhirTask.TaskStatus.InProgress);
            m.Forbid(FhirTask.TaskStatus.Requested, FhirTask.TaskStatus.Cancelled);
            m.InitialStatuses.Add(FhirTask.TaskStatus.InProgress);
        }));
        var task = await host.CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.InProgress, Intent = FhirTask.TaskIntent.Order });
        task.Status = FhirTask.TaskStatus.Completed;
        task = await host.PutAsync(task);
        task.Status = FhirTask.TaskStatus.InProgress;
        task = await host.PutAsync(task);
        Assert.Equal(FhirTask.TaskStatus.InProgress, task.Status);

        var requested = await host.CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.Requested, Intent = FhirTask.TaskIntent.Order });
        requested.Status = FhirTask.TaskStatus.Cancelled;
        using var response = await host.Client.PutAsync($"Task/{requested.Id}", WorkflowTestHost.JsonContent(requested));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("received", (await WorkflowTestHost.ReadAsync<OperationOutcome>(response)).Issue[0].Diagnostics);
    }

    [Fact]
    public void DefaultMachine_TerminalStatuses()
    {
        var m = Igia.Workflow.Tasks.TaskStateMachine.CreateDefault();
        Assert.True(m.IsTerminal(FhirTask.TaskStatus.Completed));
        Assert.True(m.IsTerminal(FhirTask.TaskStatus.Cancelled));
        Assert.True(m.IsTerminal(FhirTask.TaskStatus.EnteredInError));
        Assert.False(m.IsTerminal(FhirTask.TaskStatus.OnHold));
    }
}
