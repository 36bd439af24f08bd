using Hl7.Fhir.Model;
using Igia.Workflow.Tests.Infrastructure;

namespace Igia.Workflow.Tests.Subscriptions;

/// <summary>Deleting a Subscription removes the engine's record of it, including the recorded writers (<c>wf_subscriber</c>).</summary>
public sealed class SubscriptionDeletionTests
{
    [Fact]
    public async Task Delete_RemovesRecordedWriters_ReCreationKeepsItsOwn()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync();
        var sub = await host.CreateAsync(Infrastructure.Subscriptions.RestHook(receiver.Url()));
        await WorkflowTestHost.WaitForAsync(async () => (await host.GetAsync<Subscription>($"Subscription/{sub.Id}")).Status == Subscription.SubscriptionStatus.Active, "subscription active");
        sub = await host.GetAsync<Subscription>($"Subscription/{sub.Id}");
        sub.Reason = "rewritten by the client";
        await host.PutAsync(sub);
        const string Writers = "SELECT COUNT(*) FROM wf_subscriber WHERE sub_id = @id";
        Assert.Equal(2, await WorkflowTestHost.WorkflowScalarAsync(host.DataFolder, Writers, sub.Id)); // the create and the client's update (not the engine's status write)

        using (var deleted = await host.Client.DeleteAsync($"Subscription/{sub.Id}"))
        {
            deleted.EnsureSuccessStatusCode();
        }

        await WorkflowTestHost.WaitForAsync(async () => await WorkflowTestHost.WorkflowScalarAsync(host.DataFolder, Writers, sub.Id) == 0, "writers deleted");
        await WorkflowTestHost.WaitForAsync(async () => await WorkflowTestHost.WorkflowScalarAsync(host.DataFolder, "SELECT COUNT(*) FROM wf_subscription WHERE id = @id", sub.Id) == 0, "subscription state deleted");

        // Re-created under the same id (update as create): its writer is recorded anew and survives.
        var again = Infrastructure.Subscriptions.RestHook(receiver.Url());
        again.Id = sub.Id;
        await host.PutAsync(again);
        await WorkflowTestHost.WaitForAsync(async () => (await host.GetAsync<Subscription>($"Subscription/{sub.Id}")).Status == Subscription.SubscriptionStatus.Active, "re-created subscription active");
        await host.CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.Draft, Intent = FhirTask.TaskIntent.Order });
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count >= 1), "an event for the re-created subscription");
        Assert.Equal(1, await WorkflowTestHost.WorkflowScalarAsync(host.DataFolder, Writers, sub.Id));
        // Its event carries the focus, so it was read as the recorded writer (a Subscription with none gets only empty events).
        Assert.Equal(2, Assert.Single(receiver.For(sub.Id, "event-notification")).Bundle.Entry.Count);
    }
}
