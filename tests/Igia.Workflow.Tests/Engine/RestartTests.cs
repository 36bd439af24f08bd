using System.Globalization;
using Hl7.Fhir.Model;
using Igia.Workflow.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Igia.Workflow.Tests.Engine;

public sealed class RestartTests
{
    [Fact]
    public async Task StopWithArmedTimersAndPendingNotifications_StartAgain_TimersFire_EveryNotificationDelivered_NoGaps()
    {
        var folder = Path.Combine(Path.GetTempPath(), "igia-wf-tests", "restart-" + Guid.NewGuid().ToString("N"));
        await using var receiver = await NotificationReceiver.StartAsync();
        var due = DateTimeOffset.UtcNow.AddHours(1);
        string subscriptionId;
        var taskIds = new List<string>();
        string timedTaskId;
        try
        {
            await using (var host = await WorkflowTestHost.StartAsync(dataFolder: folder))
            {
                var sub = await host.CreateAsync(Infrastructure.Subscriptions.RestHook(receiver.Url()));
                subscriptionId = sub.Id;
                await WorkflowTestHost.WaitForAsync(async () => (await host.GetAsync<Subscription>($"Subscription/{sub.Id}")).Status == Subscription.SubscriptionStatus.Active, "active");

                await receiver.StopAsync();
                var timed = await host.CreateAsync(new FhirTask
                {
                    Status = FhirTask.TaskStatus.Requested,
                    Intent = FhirTask.TaskIntent.Order,
                    Restriction = new FhirTask.RestrictionComponent { Period = new Period { End = due.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture) } },
                });
                timedTaskId = timed.Id;
                taskIds.Add(timed.Id);
                await WorkflowTestHost.WaitForAsync(async () => await WorkflowTestHost.WorkflowScalarAsync(folder, "SELECT COUNT(*) FROM qrtz_triggers WHERE trigger_group = 'igia-workflow-sla'") == 1, "timer armed");
                await WorkflowTestHost.WaitForAsync(async () => await WorkflowTestHost.WorkflowScalarAsync(folder, "SELECT COUNT(*) FROM wf_outbox WHERE kind = 'event-notification'") >= 1, "notification pending");

                // More changes right before the stop: some may not even have reached the outbox yet (the change feed has them).
                for (var i = 0; i < 5; i++)
                {
                    taskIds.Add((await host.CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.Draft, Intent = FhirTask.TaskIntent.Order })).Id);
                }
            }

            Assert.Equal(1, await WorkflowTestHost.WorkflowScalarAsync(folder, "SELECT COUNT(*) FROM qrtz_triggers WHERE trigger_group = 'igia-workflow-sla'"));
            Assert.Empty(receiver.For(subscriptionId, "event-notification"));

            await receiver.RestartAsync();
            var clock = new FakeTimeProvider(due.AddHours(1));
            await using (var host = await WorkflowTestHost.StartAsync(dataFolder: folder, configureServices: s => s.AddSingleton<TimeProvider>(clock)))
            {
                await WorkflowTestHost.WaitForAsync(async () =>
                {
                    clock.Advance(TimeSpan.FromSeconds(1)); // keeps the engine's (fake) retry and poll clock moving
                    var task = await host.GetAsync<FhirTask>($"Task/{timedTaskId}");
                    return task.BusinessStatus?.Coding.Any(c => c.Code == "overdue") == true;
                }, "armed timer fired after restart");
                var escalation = await host.GetAsync<Bundle>($"Task?focus=Task/{timedTaskId}");
                Assert.Single(escalation.Entry);

                // 6 creates + the overdue update + the escalation Task = 8 Task events.
                await WorkflowTestHost.WaitForAsync(() =>
                {
                    clock.Advance(TimeSpan.FromSeconds(1));
                    return Task.FromResult(receiver.For(subscriptionId, "event-notification").Count >= 8);
                }, "every notification delivered");
                var events = receiver.For(subscriptionId, "event-notification");
                Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), events.Select(e => e.EventNumber!.Value));
                var focused = events.Select(e => e.Bundle.Entry[1].FullUrl.Split('/')[^1]).ToHashSet();
                Assert.All(taskIds, id => Assert.Contains(id, focused));
                Assert.Equal(0, await WorkflowTestHost.WorkflowScalarAsync(folder, "SELECT COUNT(*) FROM qrtz_triggers WHERE trigger_group = 'igia-workflow-sla'"));
            }
        }
        finally
        {
            Igia.Workflow.Engine.SerializedSqliteConnection.ClearAllPoolsSerialized();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
