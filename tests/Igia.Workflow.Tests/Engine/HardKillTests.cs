using System.Globalization;
using Hl7.Fhir.Model;
using Igia.Workflow.Engine;
using Igia.Workflow.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Workflow.Tests.Engine;

/// <summary>
/// Fail-over after a hard kill: a workflow node in its own process is killed with SIGKILL while an SLA timer job and a
/// notification POST are in flight on it; a node started afterwards on the same PostgreSQL (job store and workflow
/// tables) and FHIR store finds it dead when it stops checking in and recovers its jobs. The timer fires once (one
/// escalation) and every event is delivered; the notification that was in flight is sent again (at least once).
/// </summary>
public sealed class HardKillTests
{
    private static async Task<T> SendAsync<T>(HttpClient client, HttpMethod method, string url, Resource? body = null)
        where T : Resource
    {
        using var request = new HttpRequestMessage(method, url) { Content = body is null ? null : WorkflowTestHost.JsonContent(body) };
        using var response = await client.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        return await WorkflowTestHost.ReadAsync<T>(response);
    }

    [Fact]
    public async Task NodeKilledMidTimerAndMidDelivery_OtherNodeRecoversBoth_OneEscalation_EveryEventDelivered()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var receiver = await NotificationReceiver.StartAsync();
        var shared = Path.Combine(Path.GetTempPath(), "igia-wf-tests", "hardkill-" + Guid.NewGuid().ToString("N"));
        var folderA = Path.Combine(shared, "node-a");
        Directory.CreateDirectory(folderA);
        var fhir = Path.Combine(shared, "fhir.db");
        try
        {
            string subscriptionId;
            string timedId;
            await using (var a = await WorkflowNodeProcess.StartAsync(folderA, fhir, postgres.ConnectionString, blockSlaFirings: true))
            {
                using var client = new HttpClient { BaseAddress = new Uri(a.BaseUrl + "/"), Timeout = TimeSpan.FromSeconds(100) };
                var sub = await SendAsync<Subscription>(client, HttpMethod.Post, "Subscription", Infrastructure.Subscriptions.RestHook(receiver.Url(), payload: "id-only"));
                subscriptionId = sub.Id;
                await WorkflowTestHost.WaitForAsync(async () => (await SendAsync<Subscription>(client, HttpMethod.Get, $"Subscription/{sub.Id}")).Status == Subscription.SubscriptionStatus.Active, "active", 120);

                // Event 1 reaches the receiver from node A and is never answered: A's delivery job is in flight.
                receiver.Hold = n => n.Type == "event-notification" && n.EventNumber == 1;
                await SendAsync<FhirTask>(client, HttpMethod.Post, "Task", new FhirTask { Status = FhirTask.TaskStatus.Draft, Intent = FhirTask.TaskIntent.Order });
                await WorkflowTestHost.WaitForAsync(() => Task.FromResult(!receiver.Held.IsEmpty), "event 1 in flight on node A", 120);

                // A Task due in a few seconds: its timer fires on A, whose SLA job stops before writing anything.
                var due = DateTimeOffset.UtcNow.AddSeconds(3).ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture);
                timedId = (await SendAsync<FhirTask>(client, HttpMethod.Post, "Task", new FhirTask
                {
                    Status = FhirTask.TaskStatus.Requested,
                    Intent = FhirTask.TaskIntent.Order,
                    Restriction = new FhirTask.RestrictionComponent { Period = new Period { End = due } },
                })).Id;
                await WorkflowTestHost.WaitForAsync(() => Task.FromResult(a.HasPrinted("SLA-BLOCKED")), "the SLA timer in flight on node A: " + a.Output, 120);

                await a.KillAsync();
            }

            receiver.Hold = null;
            Assert.Empty(receiver.For(subscriptionId, "event-notification"));
            await using var b = await WorkflowTestHost.StartAsync(fhirDatabase: fhir, workflow: o =>
            {
                o.PostgreSqlJobStore = postgres.ConnectionString;
                o.ClusterCheckinInterval = TimeSpan.FromSeconds(1);
            });

            // B declares A dead once it stops checking in, and runs A's in-flight jobs again (Quartz cluster recovery).
            await WorkflowTestHost.WaitForAsync(async () => (await b.GetAsync<FhirTask>($"Task/{timedId}")).BusinessStatus?.Coding.Any(c => c.Code == "overdue") == true, "overdue after fail-over", 180);
            const int Events = 4; // Task 1, the timed Task, its overdue update, the escalation Task
            await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(subscriptionId, "event-notification").Count >= Events), "every notification after fail-over", 180);
            await Task.Delay(TimeSpan.FromSeconds(2)); // a duplicate would arrive now

            Assert.Single((await b.GetAsync<Bundle>($"Task?focus=Task/{timedId}")).Entry);
            Assert.True(b.Services.GetRequiredService<WorkflowEngine>().TimerFirings.GetValueOrDefault(timedId) >= 1, "the timer ran on node B");
            Assert.Equal([1L, 2, 3, 4], receiver.For(subscriptionId, "event-notification").Select(n => n.EventNumber!.Value));
            Assert.Equal(1L, Assert.Single(receiver.Held).EventNumber); // sent by A, unanswered, sent again by B
        }
        finally
        {
            try
            {
                Directory.Delete(shared, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
