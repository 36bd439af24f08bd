using Hl7.Fhir.Model;
using Igia.Fhir.Storage;
using Igia.Workflow.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Workflow.Tests.Security;

/// <summary>The FHIR store's change_log is trimmed below the workflow's cursor; nothing the engine still needs is lost.</summary>
public sealed class ChangeLogTrimTests
{
    [Fact]
    public async Task TrimChanges_Deletes_Up_To_The_Sequence_Keeps_The_Newest_And_Never_Reuses_Sequences()
    {
        await using var host = await WorkflowTestHost.StartAsync(o => o.ChangeLogTrimInterval = null);
        var feed = Assert.IsAssignableFrom<IFhirChangeFeed>(host.Services.GetRequiredService<IFhirStore>());
        for (var i = 0; i < 5; i++)
        {
            await host.CreateAsync(new Patient { Active = true });
        }

        var last = await feed.GetLastSequenceAsync(CancellationToken.None);
        Assert.Equal(5, (await feed.ReadChangesAsync(0, 100, CancellationToken.None)).Count);

        Assert.Equal(3, await feed.TrimChangesAsync(last - 2, CancellationToken.None));
        var left = await feed.ReadChangesAsync(0, 100, CancellationToken.None);
        Assert.Equal([last - 1, last], left.Select(c => c.Sequence));

        // Trimming everything keeps the newest entry: the last sequence stays known.
        Assert.Equal(1, await feed.TrimChangesAsync(long.MaxValue, CancellationToken.None));
        Assert.Equal(last, await feed.GetLastSequenceAsync(CancellationToken.None));
        Assert.Equal(0, await feed.TrimChangesAsync(long.MaxValue, CancellationToken.None));

        await host.CreateAsync(new Patient { Active = false });
        var next = Assert.Single(await feed.ReadChangesAsync(last, 100, CancellationToken.None));
        Assert.Equal(last + 1, next.Sequence);
    }

    [Fact]
    public async Task The_Engine_Trims_What_It_Processed_And_Every_Event_Still_Arrives()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync(o => o.ChangeLogTrimInterval = TimeSpan.FromMilliseconds(50));
        var feed = (IFhirChangeFeed)host.Services.GetRequiredService<IFhirStore>();
        var sub = await ActiveAsync(host, Infrastructure.Subscriptions.RestHook(receiver.Url(), "Patient", payload: "id-only"));
        for (var i = 0; i < 10; i++)
        {
            await host.CreateAsync(new Patient { Active = true });
        }

        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count >= 10), "ten events");
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), receiver.For(sub.Id, "event-notification").Select(e => e.EventNumber!.Value));

        // 11+ versions were written (the Subscription, its status, the Patients); once processed they are trimmed.
        await WorkflowTestHost.WaitForAsync(async () => (await feed.ReadChangesAsync(0, 100, CancellationToken.None)).Count <= 1, "change_log trimmed");
        Assert.True(await feed.GetLastSequenceAsync(CancellationToken.None) >= 12);

        // And the engine goes on from there.
        await host.CreateAsync(new Patient { Active = false });
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count >= 11), "eleventh event");
        Assert.Equal(11, receiver.For(sub.Id, "event-notification").Last().EventNumber);
    }

    private static async Task<Subscription> ActiveAsync(WorkflowTestHost host, Subscription subscription)
    {
        var created = await host.CreateAsync(subscription);
        await WorkflowTestHost.WaitForAsync(async () => (await host.GetAsync<Subscription>($"Subscription/{created.Id}")).Status == Subscription.SubscriptionStatus.Active, "subscription active");
        return created;
    }

    [Fact]
    public async Task No_Interval_No_Trimming()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync(o => o.ChangeLogTrimInterval = null);
        var feed = (IFhirChangeFeed)host.Services.GetRequiredService<IFhirStore>();
        var sub = await ActiveAsync(host, Infrastructure.Subscriptions.RestHook(receiver.Url(), "Patient", payload: "empty"));
        await host.CreateAsync(new Patient { Active = true });
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count >= 1), "event");
        await Task.Delay(500);
        Assert.True((await feed.ReadChangesAsync(0, 100, CancellationToken.None)).Count >= 2);
    }
}
