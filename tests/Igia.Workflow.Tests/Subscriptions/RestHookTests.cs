using System.Net;
using Hl7.Fhir.Model;
using Igia.Workflow.Tests.Infrastructure;

namespace Igia.Workflow.Tests.Subscriptions;

public sealed class RestHookTests
{
    private static async Task<Subscription> SubscribeAsync(WorkflowTestHost host, NotificationReceiver receiver, Subscription subscription)
    {
        var created = await host.CreateAsync(subscription);
        await WorkflowTestHost.WaitForAsync(async () => (await host.GetAsync<Subscription>($"Subscription/{created.Id}")).Status == Subscription.SubscriptionStatus.Active, "subscription active");
        return created;
    }

    private static FhirTask NewTask(string description = "Call the patient") => new() { Status = FhirTask.TaskStatus.Requested, Intent = FhirTask.TaskIntent.Order, Description = description };

    [Fact]
    public async Task Handshake_ThenEventNotifications_WithEventNumbers_FullResource_ValidBundles()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync();
        var sub = await SubscribeAsync(host, receiver, Infrastructure.Subscriptions.RestHook(receiver.Url(), headers: "Authorization: Bearer secret-token-123"));

        var handshake = Assert.Single(receiver.For(sub.Id, "handshake"));
        Assert.Equal(0, handshake.EventsSinceStart);
        Assert.Equal("Bearer secret-token-123", handshake.Headers["Authorization"]);
        Assert.StartsWith("application/fhir+json", handshake.ContentType);

        var task = await host.CreateAsync(NewTask());
        task.Status = FhirTask.TaskStatus.Accepted;
        task = await host.PutAsync(task);
        await host.CreateAsync(new Patient()); // other topic: no notification

        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count >= 2), "two events");
        var events = receiver.For(sub.Id, "event-notification");
        Assert.Equal(2, events.Count);
        Assert.Equal([1L, 2L], events.Select(e => e.EventNumber!.Value));
        var second = events[1];
        Assert.Equal(Bundle.BundleType.History, second.Bundle.Type);
        Assert.Equal(2, second.EventsSinceStart);
        var focus = Assert.IsType<FhirTask>(second.Bundle.Entry[1].Resource);
        Assert.Equal(FhirTask.TaskStatus.Accepted, focus.Status);
        Assert.Equal("2", focus.Meta.VersionId);
        Assert.EndsWith($"/Task/{task.Id}", second.Bundle.Entry[1].FullUrl);
        Assert.EndsWith($"Task/{task.Id}", ((ResourceReference)second.Status.Parameter.Single(p => p.Name == "notification-event").Part.Single(p => p.Name == "focus").Value).Reference);
        foreach (var n in receiver.For(sub.Id))
        {
            CoreValidator.AssertValid(n.Bundle);
        }

        // $status reports the count.
        var status = await host.GetAsync<Bundle>($"Subscription/{sub.Id}/$status");
        var parameters = (Parameters)Assert.Single(status.Entry).Resource;
        Assert.Equal("2", ((FhirString)parameters.GetSingle("events-since-subscription-start").Value).Value);
        Assert.Equal("query-status", ((Code)parameters.GetSingle("type").Value).Value);
        Assert.Equal("active", ((Code)parameters.GetSingle("status").Value).Value);
        var typeLevel = await host.GetAsync<Bundle>($"Subscription/$status?id={sub.Id}");
        Assert.Single(typeLevel.Entry);
    }

    [Theory]
    [InlineData("id-only")]
    [InlineData("empty")]
    public async Task Payloads_IdOnlyAndEmpty(string payload)
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync();
        var sub = await SubscribeAsync(host, receiver, Infrastructure.Subscriptions.RestHook(receiver.Url(), payload: payload));
        var task = await host.CreateAsync(NewTask());
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count >= 1), "event");
        var n = Assert.Single(receiver.For(sub.Id, "event-notification"));
        var ev = n.Status.Parameter.Single(p => p.Name == "notification-event");
        if (payload == "empty")
        {
            Assert.Single(n.Bundle.Entry);
            Assert.DoesNotContain(ev.Part, p => p.Name == "focus");
        }
        else
        {
            Assert.Equal(2, n.Bundle.Entry.Count);
            Assert.Null(n.Bundle.Entry[1].Resource);
            Assert.EndsWith($"/Task/{task.Id}", n.Bundle.Entry[1].FullUrl);
            Assert.Contains(ev.Part, p => p.Name == "focus");
        }

        CoreValidator.AssertValid(n.Bundle);
    }

    [Fact]
    public async Task FilterCriteria_OnlyMatchingChangesNotify_CarePlanTopicToo()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync();
        var completed = await SubscribeAsync(host, receiver, Infrastructure.Subscriptions.RestHook(receiver.Url("completed"), filter: "Task?status=completed"));
        var carePlans = await SubscribeAsync(host, receiver, Infrastructure.Subscriptions.RestHook(receiver.Url("careplans"), topicType: "CarePlan", payload: "id-only"));
        var task = await host.CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.Ready, Intent = FhirTask.TaskIntent.Order });
        task.Status = FhirTask.TaskStatus.InProgress;
        task = await host.PutAsync(task);
        task.Status = FhirTask.TaskStatus.Completed;
        task = await host.PutAsync(task);
        var patient = await host.CreateAsync(new Patient());
        await host.CreateAsync(new CarePlan { Status = RequestStatus.Active, Intent = CarePlan.CarePlanIntent.Plan, Subject = new ResourceReference($"Patient/{patient.Id}") });

        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(completed.Id, "event-notification").Count >= 1 && receiver.For(carePlans.Id, "event-notification").Count >= 1), "filtered events");
        // A later unmatched change and a later matching one: exactly the matching one arrives next.
        await host.CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.Draft, Intent = FhirTask.TaskIntent.Order });
        var another = await host.CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.Ready, Intent = FhirTask.TaskIntent.Order });
        another.Status = FhirTask.TaskStatus.InProgress;
        another = await host.PutAsync(another);
        another.Status = FhirTask.TaskStatus.Completed;
        await host.PutAsync(another);
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(completed.Id, "event-notification").Count >= 2), "second completed event");
        var events = receiver.For(completed.Id, "event-notification");
        Assert.Equal(2, events.Count);
        Assert.Equal([1L, 2L], events.Select(e => e.EventNumber!.Value));
        Assert.All(events, e => Assert.Equal(FhirTask.TaskStatus.Completed, ((FhirTask)e.Bundle.Entry[1].Resource).Status));
        Assert.All(receiver.For(completed.Id), e => Assert.Equal("completed", e.Path));
        Assert.Single(receiver.For(carePlans.Id, "event-notification"));
    }

    [Fact]
    public async Task Heartbeat_IsSentWhenIdle()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync();
        var sub = await SubscribeAsync(host, receiver, Infrastructure.Subscriptions.RestHook(receiver.Url(), heartbeatSeconds: 1));
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "heartbeat").Count >= 2), "two heartbeats");
        var heartbeat = receiver.For(sub.Id, "heartbeat")[0];
        Assert.Single(heartbeat.Bundle.Entry);
        CoreValidator.AssertValid(heartbeat.Bundle);
    }

    [Fact]
    public async Task ReceiverDownForAWhile_ThenBack_EveryEventArrives_NoGaps_StatusErrorThenActive()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync(o => o.ErrorAfterFailures = 2);
        var sub = await SubscribeAsync(host, receiver, Infrastructure.Subscriptions.RestHook(receiver.Url()));
        var task = await host.CreateAsync(NewTask("1"));
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count >= 1), "first event");

        await receiver.StopAsync();
        for (var i = 2; i <= 15; i++)
        {
            await host.CreateAsync(NewTask(i.ToString()));
        }

        await WorkflowTestHost.WaitForAsync(async () => (await host.GetAsync<Subscription>($"Subscription/{sub.Id}")).Status == Subscription.SubscriptionStatus.Error, "subscription in error");
        var inError = await host.GetAsync<Subscription>($"Subscription/{sub.Id}");
        Assert.False(string.IsNullOrEmpty(inError.Error));
        Assert.DoesNotContain("127.0.0.1", inError.Error);

        await receiver.RestartAsync();
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count >= 15), "all 15 events");
        var numbers = receiver.For(sub.Id, "event-notification").Select(e => e.EventNumber!.Value).ToList();
        Assert.Equal(Enumerable.Range(1, 15).Select(i => (long)i), numbers);
        await WorkflowTestHost.WaitForAsync(async () => (await host.GetAsync<Subscription>($"Subscription/{sub.Id}")).Status == Subscription.SubscriptionStatus.Active, "active again");
    }

    [Fact]
    public async Task ReceiverAnswers500_RetriedWithBackoff_UntilItTakesIt()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync();
        var sub = await SubscribeAsync(host, receiver, Infrastructure.Subscriptions.RestHook(receiver.Url()));
        receiver.FailWith = 503;
        await host.CreateAsync(NewTask());
        await host.CreateAsync(NewTask());
        await Task.Delay(1500); // let a few attempts fail (not a timing assertion)
        Assert.Empty(receiver.For(sub.Id, "event-notification"));
        receiver.FailWith = null;
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count >= 2), "events after recovery");
        Assert.Equal([1L, 2L], receiver.For(sub.Id, "event-notification").Select(e => e.EventNumber!.Value));
    }

    [Fact]
    public async Task SubscriptionOff_StopsNotifications()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync();
        var sub = await SubscribeAsync(host, receiver, Infrastructure.Subscriptions.RestHook(receiver.Url()));
        var current = await host.GetAsync<Subscription>($"Subscription/{sub.Id}");
        current.Status = Subscription.SubscriptionStatus.Off;
        await host.PutAsync(current);
        await host.CreateAsync(NewTask());
        var marker = await SubscribeAsync(host, receiver, Infrastructure.Subscriptions.RestHook(receiver.Url("marker")));
        await host.CreateAsync(NewTask());
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(marker.Id, "event-notification").Count >= 1), "marker event");
        Assert.Empty(receiver.For(sub.Id, "event-notification"));
    }

    public static TheoryData<string, string> BadSubscriptions() => new()
    {
        { "unknown topic", """{"resourceType":"Subscription","status":"requested","reason":"x","criteria":"http://example.org/topic/nope","channel":{"type":"rest-hook","endpoint":"http://127.0.0.1:1/hook","payload":"application/fhir+json"}}""" },
        { "websocket", """{"resourceType":"Subscription","status":"requested","reason":"x","criteria":"http://igia.dev/fhir/SubscriptionTopic/Task","channel":{"type":"websocket","payload":"application/fhir+json"}}""" },
        { "relative endpoint", """{"resourceType":"Subscription","status":"requested","reason":"x","criteria":"http://igia.dev/fhir/SubscriptionTopic/Task","channel":{"type":"rest-hook","endpoint":"/hook","payload":"application/fhir+json"}}""" },
        { "ftp endpoint", """{"resourceType":"Subscription","status":"requested","reason":"x","criteria":"http://igia.dev/fhir/SubscriptionTopic/Task","channel":{"type":"rest-hook","endpoint":"ftp://127.0.0.1/hook","payload":"application/fhir+json"}}""" },
        { "bad payload content", """{"resourceType":"Subscription","status":"requested","reason":"x","criteria":"http://igia.dev/fhir/SubscriptionTopic/Task","channel":{"type":"rest-hook","endpoint":"http://127.0.0.1:1/hook","payload":"application/fhir+json","_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":"everything"}]}}}""" },
        { "xml payload", """{"resourceType":"Subscription","status":"requested","reason":"x","criteria":"http://igia.dev/fhir/SubscriptionTopic/Task","channel":{"type":"rest-hook","endpoint":"http://127.0.0.1:1/hook","payload":"application/fhir+xml"}}""" },
        { "date filter", """{"resourceType":"Subscription","status":"requested","reason":"x","criteria":"http://igia.dev/fhir/SubscriptionTopic/Task","_criteria":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":"Task?authored-on=2020"}]},"channel":{"type":"rest-hook","endpoint":"http://127.0.0.1:1/hook","payload":"application/fhir+json"}}""" },
        { "unknown filter", """{"resourceType":"Subscription","status":"requested","reason":"x","criteria":"http://igia.dev/fhir/SubscriptionTopic/Task","_criteria":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":"Task?nope=1"}]},"channel":{"type":"rest-hook","endpoint":"http://127.0.0.1:1/hook","payload":"application/fhir+json"}}""" },
        { "filter on other type", """{"resourceType":"Subscription","status":"requested","reason":"x","criteria":"http://igia.dev/fhir/SubscriptionTopic/Task","_criteria":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":"Patient?name=x"}]},"channel":{"type":"rest-hook","endpoint":"http://127.0.0.1:1/hook","payload":"application/fhir+json"}}""" },
        { "header injection", """{"resourceType":"Subscription","status":"requested","reason":"x","criteria":"http://igia.dev/fhir/SubscriptionTopic/Task","channel":{"type":"rest-hook","endpoint":"http://127.0.0.1:1/hook","payload":"application/fhir+json","header":["X-A: 1\r\nX-B: 2"]}}""" },
        { "negative heartbeat", """{"resourceType":"Subscription","status":"requested","reason":"x","criteria":"http://igia.dev/fhir/SubscriptionTopic/Task","channel":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period","valueInteger":-5}],"type":"rest-hook","endpoint":"http://127.0.0.1:1/hook","payload":"application/fhir+json"}}""" },
    };

    [Theory]
    [MemberData(nameof(BadSubscriptions))]
    public async Task BadSubscription_Is4xxOperationOutcome_NothingStored(string why, string json)
    {
        await using var host = await WorkflowTestHost.StartAsync();
        using var response = await host.Client.PostAsync("Subscription", WorkflowTestHost.JsonContent(json));
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{why}: {(int)response.StatusCode}");
        Assert.IsType<OperationOutcome>(await WorkflowTestHost.ReadAsync<Resource>(response));
        Assert.Equal(0, (await host.GetAsync<Bundle>("Subscription?_summary=count")).Total);
    }

    [Fact]
    public async Task Status_OfUnknownSubscription_Is404()
    {
        await using var host = await WorkflowTestHost.StartAsync();
        using var response = await host.Client.GetAsync("Subscription/nope/$status");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
