using System.Globalization;
using Igia.Workflow.Sla;
using Quartz;

namespace Igia.Workflow.Engine;

/// <summary>
/// Tails the FHIR change feed into the outbox and SLA timers, then queues heartbeats and wakes delivery.
/// Non-concurrent: across a cluster exactly one node pumps at a time, so event numbers stay gapless.
/// </summary>
[DisallowConcurrentExecution]
internal sealed class ChangeFeedJob(WorkflowEngine engine, WorkflowSignal signal, Igia.Workflow.Subscriptions.ChangeLogTrimmer trimmer, Igia.Fhir.Storage.IFhirStore store) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        signal.PumpBegin();
        try
        {
            // Writes committed while this node runs the job ask the running job (not the scheduler) for another round,
            // taken here at once. Bounded, so that heartbeats and trimming below still run under a steady stream of
            // writes; a request left over then triggers the job again as it ends.
            var rounds = 0;
            do
            {
                signal.TakePump();
                await engine.PumpAsync(context.Scheduler, cancellationToken);
            }
            while (signal.PumpRequested && ++rounds < 50 && !cancellationToken.IsCancellationRequested);

            if (store is Igia.Fhir.Storage.IFhirChangeFeed feed)
            {
                await trimmer.TrimIfDueAsync(feed, cancellationToken); // change_log below the cursor (workflowsec)
            }

            await engine.EnqueueHeartbeatsAndWakeDueAsync(context.Scheduler, cancellationToken);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested || context.Scheduler.Status is SchedulerStatus.ShuttingDown or SchedulerStatus.Shutdown)
        {
            // Shutting down: the cursor did not move past what was not written; the next run (any node) redoes it.
        }
        finally
        {
            signal.PumpEnd(context.Scheduler);
        }
    }
}

/// <summary>
/// Delivers the outbox of one Subscription (the job's name is its id), in order; stops at the first failure and
/// schedules the retry as a trigger. Non-concurrent per Subscription across the cluster.
/// </summary>
[DisallowConcurrentExecution]
internal sealed class DeliveryJob(WorkflowEngine engine, WorkflowSignal signal) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        var id = context.JobDetail.Key.Name;
        signal.DeliveryBegin(id);
        try
        {
            do
            {
                signal.TakeDelivery(id);
                await engine.DeliverAsync(context.Scheduler, id, cancellationToken);
            }
            while (signal.DeliveryRequested(id) && !cancellationToken.IsCancellationRequested);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested || context.Scheduler.Status is SchedulerStatus.ShuttingDown or SchedulerStatus.Shutdown)
        {
            // Shutting down: what was not confirmed stays in the outbox for the next run (any node).
        }
        finally
        {
            signal.DeliveryEnd(context.Scheduler, id);
        }
    }
}

/// <summary>
/// An SLA timer fired (the trigger's name is the Task id, its data the due time it was armed for). Run again on another
/// node when the node that ran it died (cluster recovery): the recovery trigger has its own name and carries the
/// original trigger's key and data.
/// </summary>
internal sealed class SlaTimerJob(WorkflowEngine engine, SlaService sla, WorkflowSignal signal, TimeProvider time, Microsoft.Extensions.Options.IOptions<WorkflowOptions> options) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        var taskId = (context.Recovering && context.RecoveringTriggerKey is { } original ? original : context.Trigger.Key).Name;
        if (!long.TryParse(context.MergedJobDataMap.GetString(WorkflowSignal.DueKey), NumberStyles.Integer, CultureInfo.InvariantCulture, out var dueTicks))
        {
            return;
        }

        engine.TimerFirings.AddOrUpdate(taskId, 1, (_, n) => n + 1);
        if (!await sla.FireAsync(engine.Database, taskId, dueTicks, cancellationToken))
        {
            // A concurrent write to the Task: try again shortly (the change it made may also re-arm or cancel the timer).
            var due = new DateTimeOffset(dueTicks, TimeSpan.Zero);
            await signal.RetryTimerAsync(context.Scheduler, taskId, due, time.GetUtcNow() + options.Value.RetryDelay, cancellationToken);
        }
    }
}
