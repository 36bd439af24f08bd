using System.Net;
using Hl7.Fhir.Model;
using Igia.Workflow.Subscriptions;
using Igia.Workflow.Tests.Infrastructure;

namespace Igia.Workflow.Tests.Subscriptions;

/// <summary>
/// <c>backport-max-count</c>: events waiting for one Subscription go out together, up to that many per notification
/// Bundle, in order and without gaps; without it, one event per notification.
/// </summary>
public sealed class BatchedNotificationTests
{
    private static Subscription WithMaxCount(Subscription s, DataType value)
    {
        s.Channel.Extension.Add(new Extension(Backport.MaxCount, value));
        return s;
    }

    private static IReadOnlyList<long> EventNumbers(NotificationReceiver.Received n) =>
        n.Status.Parameter.Where(p => p.Name == "notification-event")
            .Select(p => long.Parse(((FhirString)p.Part.Single(x => x.Name == "event-number").Value).Value)).ToList();

    [Fact]
    public async Task Backlog_WithMaxCount_GoesOutInBundlesOfAtMostMaxCount_InOrder_NoGaps_ValidBundles()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync();
        var sub = await host.CreateAsync(WithMaxCount(Infrastructure.Subscriptions.RestHook(receiver.Url(), payload: "full-resource"), new PositiveInt(10)));
        await WorkflowTestHost.WaitForAsync(async () => (await host.GetAsync<Subscription>($"Subscription/{sub.Id}")).Status == Subscription.SubscriptionStatus.Active, "subscription active");

        // A backlog of 25 events while the receiver is down, then the receiver comes back.
        await receiver.StopAsync();
        var ids = new List<string>();
        for (var i = 0; i < 25; i++)
        {
            ids.Add((await host.CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.Draft, Intent = FhirTask.TaskIntent.Order })).Id);
        }

        await WorkflowTestHost.WaitForAsync(async () => await WorkflowTestHost.WorkflowScalarAsync(host.DataFolder, "SELECT COUNT(*) FROM wf_outbox WHERE kind = 'event-notification'") == 25, "the backlog in the outbox");
        await receiver.RestartAsync();
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Sum(n => EventNumbers(n).Count) >= 25), "every event", 120);
        await Task.Delay(TimeSpan.FromSeconds(1)); // a duplicate would arrive now

        var notifications = receiver.For(sub.Id, "event-notification");
        Assert.Equal([10, 10, 5], notifications.Select(n => EventNumbers(n).Count));
        Assert.Equal(Enumerable.Range(1, 25).Select(i => (long)i), notifications.SelectMany(EventNumbers));
        Assert.Equal([10L, 20, 25], notifications.Select(n => n.EventsSinceStart));
        // One focus entry per event, in event order, each the Task it names.
        Assert.Equal(ids, notifications.SelectMany(n => n.Bundle.Entry.Skip(1)).Select(e => Assert.IsType<FhirTask>(e.Resource).Id));
        foreach (var n in notifications)
        {
            CoreValidator.AssertValid(n.Bundle);
        }
    }

    [Fact]
    public async Task WithoutMaxCount_OneEventPerNotification()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync();
        var sub = await host.CreateAsync(Infrastructure.Subscriptions.RestHook(receiver.Url(), payload: "id-only"));
        await WorkflowTestHost.WaitForAsync(async () => (await host.GetAsync<Subscription>($"Subscription/{sub.Id}")).Status == Subscription.SubscriptionStatus.Active, "subscription active");
        await receiver.StopAsync();
        for (var i = 0; i < 5; i++)
        {
            await host.CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.Draft, Intent = FhirTask.TaskIntent.Order });
        }

        await WorkflowTestHost.WaitForAsync(async () => await WorkflowTestHost.WorkflowScalarAsync(host.DataFolder, "SELECT COUNT(*) FROM wf_outbox WHERE kind = 'event-notification'") == 5, "the backlog in the outbox");
        await receiver.RestartAsync();
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count >= 5), "every event", 120);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var notifications = receiver.For(sub.Id, "event-notification");
        Assert.All(notifications, n => Assert.Single(EventNumbers(n)));
        Assert.Equal([1L, 2, 3, 4, 5], notifications.SelectMany(EventNumbers));
    }

    [Theory]
    [InlineData("integer", "0")]
    [InlineData("positiveInt", "1001")]
    [InlineData("string", "ten")]
    public async Task BadMaxCount_Is422_NothingStored(string type, string value)
    {
        await using var host = await WorkflowTestHost.StartAsync();
        var s = Infrastructure.Subscriptions.RestHook("http://127.0.0.1:9/hook");
        var json = WorkflowTestHost.Serialize(s).Replace("\"channel\":{", $"\"channel\":{{\"extension\":[{{\"url\":\"{Backport.MaxCount}\",\"value{char.ToUpperInvariant(type[0])}{type[1..]}\":{(type == "string" ? $"\"{value}\"" : value)}}}],", StringComparison.Ordinal);
        using var response = await host.Client.PostAsync("Subscription", WorkflowTestHost.JsonContent(json));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("backport-max-count", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty((await host.GetAsync<Bundle>("Subscription")).Entry);
    }
}
