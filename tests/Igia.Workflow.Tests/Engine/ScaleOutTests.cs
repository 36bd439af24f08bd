using System.Globalization;
using Hl7.Fhir.Model;
using Igia.Workflow.Engine;
using Igia.Workflow.Tests.Infrastructure;
using Npgsql;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Workflow.Tests.Engine;

/// <summary>
/// Two workflow hosts on a private PostgreSQL that holds both the clustered Quartz.NET job store and the workflow's own
/// tables (cursor, outbox, subscriptions, writers), each host on its own data folder; they share one FHIR store file
/// (a multi-node deployment needs a shared FHIR store too).
/// </summary>
public sealed class ScaleOutTests
{
    private static Task<WorkflowTestHost> NodeAsync(string shared, PostgresServer postgres) =>
        WorkflowTestHost.StartAsync(fhirDatabase: Path.Combine(shared, "fhir.db"), workflow: o =>
        {
            o.PostgreSqlJobStore = postgres.ConnectionString;
            o.ClusterCheckinInterval = TimeSpan.FromSeconds(1);
        });

    private static void Delete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static FhirTask Due(DateTimeOffset due) => new()
    {
        Status = FhirTask.TaskStatus.Requested,
        Intent = FhirTask.TaskIntent.Order,
        Restriction = new FhirTask.RestrictionComponent { Period = new Period { End = due.ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture) } },
    };

    [Fact]
    public async Task TwoNodes_EachTimerFiresExactlyOnceAcrossTheCluster()
    {
        await using var postgres = await PostgresServer.StartAsync();
        var folder = Path.Combine(Path.GetTempPath(), "igia-wf-tests", "scale-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            await using var a = await NodeAsync(folder, postgres);
            await using var b = await NodeAsync(folder, postgres);
            var due = DateTimeOffset.UtcNow.AddSeconds(4);
            var ids = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                ids.Add((await (i % 2 == 0 ? a : b).CreateAsync(Due(due))).Id);
            }

            foreach (var id in ids)
            {
                await WorkflowTestHost.WaitForAsync(async () => (await a.GetAsync<FhirTask>($"Task/{id}")).BusinessStatus?.Coding.Any(c => c.Code == "overdue") == true, $"Task/{id} overdue", 120);
            }

            // Let any duplicate firing happen before counting.
            await Task.Delay(TimeSpan.FromSeconds(3));
            var firingsA = a.Services.GetRequiredService<WorkflowEngine>().TimerFirings;
            var firingsB = b.Services.GetRequiredService<WorkflowEngine>().TimerFirings;
            foreach (var id in ids)
            {
                Assert.Equal(1, firingsA.GetValueOrDefault(id) + firingsB.GetValueOrDefault(id));
                Assert.Single((await b.GetAsync<Bundle>($"Task?focus=Task/{id}")).Entry);
            }
        }
        finally
        {
            Delete(folder);
        }
    }

    [Fact]
    public async Task TwoNodes_OneStopsMidway_EveryNotificationOnceInOrderWithoutGaps()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await using var receiver = await NotificationReceiver.StartAsync();
        var folder = Path.Combine(Path.GetTempPath(), "igia-wf-tests", "scale-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var a = await NodeAsync(folder, postgres);
            await using var b = await NodeAsync(folder, postgres);
            var sub = await a.CreateAsync(Infrastructure.Subscriptions.RestHook(receiver.Url(), payload: "id-only"));
            await WorkflowTestHost.WaitForAsync(async () => (await b.GetAsync<Subscription>($"Subscription/{sub.Id}")).Status == Subscription.SubscriptionStatus.Active, "active");

            const int Total = 40;
            var written = 0;
            try
            {
                for (; written < Total / 2; written++)
                {
                    await (written % 2 == 0 ? a : b).CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.Draft, Intent = FhirTask.TaskIntent.Order });
                }
            }
            finally
            {
                // Node A stops while notifications are still in flight; B carries on.
                await a.DisposeAsync();
            }

            for (; written < Total; written++)
            {
                await b.CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.Draft, Intent = FhirTask.TaskIntent.Order });
            }

            await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count >= Total), "every notification", 120);
            await Task.Delay(TimeSpan.FromSeconds(2)); // a duplicate would arrive now
            var numbers = receiver.For(sub.Id, "event-notification").Select(n => n.EventNumber!.Value).ToList();
            Assert.Equal(Enumerable.Range(1, Total).Select(i => (long)i), numbers);

            // The workflow's state is in PostgreSQL, not in a node's folder.
            Assert.False(File.Exists(Path.Combine(b.DataFolder, "workflow.db")));
            await using var connection = new NpgsqlConnection(postgres.ConnectionString);
            await connection.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT events FROM wf_subscription WHERE id = @id", connection);
            cmd.Parameters.AddWithValue("id", sub.Id);
            Assert.Equal((long)Total, await cmd.ExecuteScalarAsync());
            cmd.CommandText = "SELECT COUNT(*) FROM wf_subscriber WHERE sub_id = @id";
            Assert.Equal(1L, await cmd.ExecuteScalarAsync());
        }
        finally
        {
            Delete(folder);
        }
    }
}
