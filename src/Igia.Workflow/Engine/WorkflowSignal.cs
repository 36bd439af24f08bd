using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Quartz;

namespace Igia.Workflow.Engine;

/// <summary>
/// The workflow's use of the Quartz.NET scheduler: the job and trigger keys, nudges (<c>TriggerJob</c>) for the
/// change-feed pump and per-Subscription delivery, SLA timers as one-shot triggers, and retries as rescheduled
/// triggers. Nudges are coalesced in-process: one pending nudge per job is enough, because a job that starts reads
/// everything that is there.
/// </summary>
internal sealed partial class WorkflowSignal(ISchedulerFactory factory, ILogger<WorkflowSignal> logger)
{
    /// <summary>Job and trigger group of the engine's own jobs.</summary>
    public const string Group = "igia-workflow";

    /// <summary>Job group of the per-Subscription delivery jobs (job name = Subscription id).</summary>
    public const string DeliveryGroup = "igia-workflow-delivery";

    /// <summary>Trigger group of the SLA timers (trigger name = Task id).</summary>
    public const string SlaGroup = "igia-workflow-sla";

    /// <summary>Trigger group of SLA timers re-armed after a conflict (trigger name = Task id).</summary>
    public const string SlaRetryGroup = "igia-workflow-sla-retry";

    /// <summary>Trigger group of delivery retries (trigger name = Subscription id).</summary>
    public const string RetryGroup = "igia-workflow-retry";

    /// <summary>Job data key of a timer's due time (UTC ticks).</summary>
    public const string DueKey = "due";

    public static readonly JobKey PumpJob = new("change-feed", Group);
    public static readonly JobKey SlaJob = new("sla-timer", Group);
    public static readonly JobKey DeliveryTemplateJob = new("delivery-template", Group);
    public static readonly TriggerKey PollTrigger = new("change-feed-poll", Group);

    private readonly JobFlags _pump = new();
    private readonly ConcurrentDictionary<string, JobFlags> _delivery = new(StringComparer.Ordinal);

    public static JobKey DeliveryJob(string subscriptionId) => new(subscriptionId, DeliveryGroup);

    private ValueTask<IScheduler> SchedulerAsync(CancellationToken ct) => factory.GetScheduler(ct);

    /// <summary>Asks for a change-feed pump now (after each committed write). Never throws: the poll trigger is the safety net.</summary>
    public void Wake()
    {
        Request(_pump, PumpJob, null);
    }

    /// <summary>Called by the pump job as it starts on this node.</summary>
    public void PumpBegin() => Begin(_pump);

    /// <summary>Takes the pending request for a pump round; true when a write asked for one since the last round started.</summary>
    public void TakePump() => Take(_pump);

    /// <summary>Whether a write asked for a pump since the current round started.</summary>
    public bool PumpRequested => Volatile.Read(ref _pump.Requested) == 1;

    /// <summary>Called by the pump job as it ends on this node: asks again through the scheduler if a request came in after the last round.</summary>
    public void PumpEnd(IScheduler scheduler) => End(_pump, PumpJob, scheduler);

    /// <summary>Asks for delivery to a Subscription now (through the scheduler of the job that asks).</summary>
    public void WakeDelivery(IScheduler scheduler, string subscriptionId) =>
        Request(_delivery.GetOrAdd(subscriptionId, static _ => new JobFlags()), DeliveryJob(subscriptionId), scheduler);

    /// <summary>Called by a delivery job as it starts on this node.</summary>
    public void DeliveryBegin(string subscriptionId) => Begin(_delivery.GetOrAdd(subscriptionId, static _ => new JobFlags()));

    /// <summary>Takes the pending request for a delivery round of the Subscription.</summary>
    public void TakeDelivery(string subscriptionId)
    {
        if (_delivery.TryGetValue(subscriptionId, out var f))
        {
            Take(f);
        }
    }

    /// <summary>Whether delivery to the Subscription was asked for since the current round started.</summary>
    public bool DeliveryRequested(string subscriptionId) => _delivery.TryGetValue(subscriptionId, out var f) && Volatile.Read(ref f.Requested) == 1;

    /// <summary>Called by a delivery job as it ends on this node.</summary>
    public void DeliveryEnd(IScheduler scheduler, string subscriptionId)
    {
        if (_delivery.TryGetValue(subscriptionId, out var f))
        {
            End(f, DeliveryJob(subscriptionId), scheduler);
        }
    }

    // A request while this node runs the job is taken by the running job's next round (it goes round again at once);
    // only otherwise is the job triggered through the scheduler. Triggering a [DisallowConcurrentExecution] job that
    // is running stores a BLOCKED trigger that fires a redundant run after it: every such run is several write
    // transactions in the job store, which shares the SQLite file with the outbox, and their lock contention (not the
    // nudge's wait) is what delayed notifications. Running, then Requested (job end) against Requested, then Running
    // (request), each after a full fence: at least one side sees the other, so no request is lost.
    private void Request(JobFlags f, JobKey job, IScheduler? scheduler)
    {
        Interlocked.Exchange(ref f.Requested, 1);
        if (Volatile.Read(ref f.Running) == 0)
        {
            Nudge(f, job, scheduler);
        }
    }

    private static void Begin(JobFlags f) => Interlocked.Exchange(ref f.Running, 1);

    private static void Take(JobFlags f) => Interlocked.Exchange(ref f.Requested, 0);

    private void End(JobFlags f, JobKey job, IScheduler scheduler)
    {
        Interlocked.Exchange(ref f.Running, 0);
        if (Volatile.Read(ref f.Requested) == 1)
        {
            Nudge(f, job, scheduler);
        }
    }

    // One nudge in flight per job is enough: once its trigger is stored, the run it fires (on any node of a cluster)
    // starts after it and reads everything committed before.
    private void Nudge(JobFlags f, JobKey job, IScheduler? scheduler)
    {
        if (Interlocked.Exchange(ref f.Nudged, 1) == 0)
        {
            _ = NudgeAsync(job, () => Volatile.Write(ref f.Nudged, 0), scheduler);
        }
    }

    private sealed class JobFlags
    {
        public int Requested;
        public int Running;
        public int Nudged;
    }

    private async Task NudgeAsync(JobKey job, Action done, IScheduler? scheduler = null)
    {
        try
        {
            scheduler ??= await SchedulerAsync(CancellationToken.None);
            await scheduler.TriggerJob(job, CancellationToken.None);
        }
        catch (Exception e)
        {
            // Not stored yet (first start), or shutting down: the periodic poll picks the work up.
            LogNudgeFailed(logger, job.ToString(), e.GetType().Name);
        }
        finally
        {
            done();
        }
    }

    /// <summary>Stores the durable, non-concurrent delivery job of a Subscription (idempotent).</summary>
    public async Task EnsureDeliveryJobAsync(IScheduler scheduler, string subscriptionId, CancellationToken ct)
    {
        var key = DeliveryJob(subscriptionId);
        if (!await scheduler.Exists(key, ct))
        {
            var job = JobBuilder.Create<DeliveryJob>().WithIdentity(key).StoreDurably().RequestRecovery().Build();
            await scheduler.AddJob(job, new AddJobOptions { Replace = true }, ct);
        }
    }

    /// <summary>Removes a Subscription's delivery job and its triggers.</summary>
    public async Task DeleteDeliveryJobAsync(IScheduler scheduler, string subscriptionId, CancellationToken ct)
    {
        await scheduler.DeleteJob(DeliveryJob(subscriptionId), ct);
        _delivery.TryRemove(subscriptionId, out _);
    }

    /// <summary>Schedules the next delivery attempt of a Subscription (replaces an earlier retry).</summary>
    public async Task ScheduleRetryAsync(IScheduler scheduler, string subscriptionId, DateTimeOffset at, CancellationToken ct)
    {
        var trigger = TriggerBuilder.Create(scheduler.TimeProvider)
            .WithIdentity(new TriggerKey(subscriptionId, RetryGroup))
            .ForJob(DeliveryJob(subscriptionId))
            .StartAt(at)
            .WithSimpleSchedule(s => s.WithMisfireInstruction(SimpleTriggerMisfireInstruction.FireNow))
            .Build();
        await scheduler.ScheduleJob(trigger, new ScheduleJobOptions { Replace = true }, ct);
    }

    /// <summary>Arms, moves or (with <paramref name="due"/> null) cancels the SLA timer of a Task.</summary>
    public async Task SetTimerAsync(IScheduler scheduler, string taskId, DateTimeOffset? due, CancellationToken ct)
    {
        var key = new TriggerKey(taskId, SlaGroup);
        var retry = new TriggerKey(taskId, SlaRetryGroup);
        if (due is null)
        {
            if (await scheduler.Exists(key, ct))
            {
                await scheduler.UnscheduleJob(key, ct);
            }

            if (await scheduler.Exists(retry, ct))
            {
                await scheduler.UnscheduleJob(retry, ct);
            }

            return;
        }

        if (await scheduler.GetTrigger(key, ct) is { } existing && existing.JobDataMap.GetString(DueKey) == Ticks(due.Value))
        {
            return;
        }

        await scheduler.ScheduleJob(Timer(scheduler, key, due.Value, due.Value), new ScheduleJobOptions { Replace = true }, ct);
    }

    /// <summary>Fires a Task's timer again later (the first attempt met a concurrent write).</summary>
    public async Task RetryTimerAsync(IScheduler scheduler, string taskId, DateTimeOffset due, DateTimeOffset at, CancellationToken ct)
    {
        await scheduler.ScheduleJob(Timer(scheduler, new TriggerKey(taskId, SlaRetryGroup), due, at), new ScheduleJobOptions { Replace = true }, ct);
    }

    // A one-shot trigger at the due time. Ignoring misfires: a timer that passed while no node ran fires at once on start.
    private static ITrigger Timer(IScheduler scheduler, TriggerKey key, DateTimeOffset due, DateTimeOffset at) =>
        TriggerBuilder.Create(scheduler.TimeProvider)
            .WithIdentity(key)
            .ForJob(SlaJob)
            .UsingJobData(DueKey, Ticks(due))
            .StartAt(at)
            .WithSimpleSchedule(s => s.WithMisfireInstruction(SimpleTriggerMisfireInstruction.IgnoreMisfires))
            .Build();

    private static string Ticks(DateTimeOffset t) => t.UtcTicks.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not trigger {Job} now ({ExceptionType}); the poll trigger will run it.")]
    private static partial void LogNudgeFailed(ILogger logger, string job, string exceptionType);
}
