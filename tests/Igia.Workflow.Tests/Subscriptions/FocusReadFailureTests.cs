using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Workflow.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Workflow.Tests.Subscriptions;

/// <summary>A server error while reading a notification's focus is a failed attempt with back-off, then delivered once it heals.</summary>
public sealed class FocusReadFailureTests
{
    /// <summary>Answers 500 to every vread of a Task while <see cref="Failing"/> is set (the engine reads the focus by vread).</summary>
    private sealed class FailingTaskVRead : IFhirInteractionFilter
    {
        public volatile bool Failing = true;

        public ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next) =>
            Failing && interaction.Kind == FhirInteractionKind.VRead && interaction.ResourceType == "Task"
                ? ValueTask.FromResult(FhirResponse.Error(HttpStatusCode.InternalServerError, OperationOutcome.IssueType.Exception, "store unavailable (test)"))
                : next(interaction);
    }

    [Fact]
    public async Task FocusReadServerError_IsRetriedWithBackOff_ThenDeliveredOnceInOrder()
    {
        var failing = new FailingTaskVRead();
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync(configureServices: s => s.AddSingleton<IFhirInteractionFilter>(failing));
        var sub = await host.CreateAsync(Infrastructure.Subscriptions.RestHook(receiver.Url(), payload: "full-resource"));
        await WorkflowTestHost.WaitForAsync(async () => (await host.GetAsync<Subscription>($"Subscription/{sub.Id}")).Status == Subscription.SubscriptionStatus.Active, "subscription active");

        var task = await host.CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.Requested, Intent = FhirTask.TaskIntent.Order });

        // While the focus cannot be read, nothing is sent and the outbox row records failed attempts (back-off).
        await WorkflowTestHost.WaitForAsync(async () => await WorkflowTestHost.WorkflowScalarAsync(host.DataFolder, "SELECT COALESCE(MAX(attempts), 0) FROM wf_outbox WHERE kind = 'event-notification'") >= 2, "failed attempts recorded");
        Assert.Empty(receiver.For(sub.Id, "event-notification"));

        failing.Failing = false;
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count >= 1), "event after recovery");
        await Task.Delay(TimeSpan.FromSeconds(1)); // a duplicate would arrive now
        var n = Assert.Single(receiver.For(sub.Id, "event-notification"));
        Assert.Equal(1L, n.EventNumber);
        Assert.Equal(task.Id, Assert.IsType<FhirTask>(n.Bundle.Entry[1].Resource).Id);
    }
}
