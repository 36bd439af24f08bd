using System.Diagnostics.Metrics;
using System.Globalization;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Storage;
using Igia.Workflow.Engine;
using Igia.Workflow.Internal;
using System.Data.Common;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Workflow.Sla;

/// <summary>
/// SLA timers. A Task's due time (<c>restriction.period.end</c>; <c>$apply</c> sets it from the program's timing)
/// arms a durable timer (a one-shot Quartz.NET trigger at the due time, armed by the change-feed pump before it commits its cursor);
/// when it passes on a Task that is still open, one FHIR transaction marks the Task overdue (<c>businessStatus</c>) and
/// creates an escalation Task (idempotent: conditional create on an identifier), and the missed Task is recorded.
/// A Task that ends, loses its due time or is deleted cancels its timer.
/// </summary>
internal sealed partial class SlaService(IOptions<WorkflowOptions> options, IFhirInteractionExecutor executor, TimeProvider time, ILogger<SlaService> logger)
{
    /// <summary>Code system of the <c>businessStatus</c> the engine sets.</summary>
    public const string BusinessStatusSystem = "http://igia.dev/fhir/CodeSystem/task-business-status";

    /// <summary>Code system of the engine's Task codes (e.g. <c>escalation</c>).</summary>
    public const string TaskCodeSystem = "http://igia.dev/fhir/CodeSystem/workflow-task";

    /// <summary>Identifier system of escalation Tasks (value: the missed Task's id and due time).</summary>
    public const string EscalationIdentifierSystem = "http://igia.dev/fhir/sid/escalation";

    private static readonly Counter<long> Missed = WorkflowEngine.Meter.CreateCounter<long>("igia.workflow.sla.escalations", description: "Escalation Tasks created for missed SLAs.");
    private static readonly Counter<long> TimersFired = WorkflowEngine.Meter.CreateCounter<long>("igia.workflow.sla.missed", description: "Tasks whose due time passed while open.");
    private readonly WorkflowOptions _options = options.Value;

    public static DateTimeOffset? DueOf(FhirTask task) =>
        task.Restriction?.Period?.End is { } end && DateTimeOffset.TryParse(end, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var due) ? due : null;

    private bool IsOverdue(FhirTask task) => task.BusinessStatus?.Coding.Any(c => c.Code == _options.OverdueCode) == true;

    /// <summary>
    /// The due time the Task's timer should be armed for after this change, or null when it should have none
    /// (ended, no due time, already overdue, or this due time was already missed and handled).
    /// </summary>
    public async Task<DateTimeOffset?> TimerAfterChangeAsync(DbConnection connection, DbTransaction? tx, StoredResource stored, FhirTask? task, CancellationToken ct)
    {
        var due = task is null ? null : DueOf(task);
        if (task?.Status is not { } status || _options.TaskStateMachine.IsTerminal(status) || due is null || IsOverdue(task))
        {
            return null;
        }

        if (await connection.ScalarAsync(tx, "SELECT 1 FROM wf_missed WHERE task_id = @id AND due = @due", ct, ("@id", stored.Id), ("@due", due.Value.UtcTicks)) is not null)
        {
            return null;
        }

        return due;
    }

    /// <summary>Runs a fired timer: false when it met a concurrent write and should be tried again.</summary>
    public async Task<bool> FireAsync(WorkflowDatabase db, string id, long dueTicks, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var escalation = await FireAsync(id, dueTicks, ct);
        if (escalation is null)
        {
            return false;
        }

        if (escalation.Length > 0)
        {
            TimersFired.Add(1);
        }

        await using var connection = await db.OpenAsync(ct);
        await connection.ExecAsync(null, "INSERT INTO wf_missed(task_id, due, fired, escalation) VALUES (@id, @due, @now, @esc) ON CONFLICT DO NOTHING", ct,
            ("@id", id), ("@due", dueTicks), ("@now", now.UtcTicks), ("@esc", escalation.Length == 0 ? null : escalation));
        return true;
    }

    /// <summary>Marks the Task overdue and escalates; returns the escalation reference ("" when none was needed), or null to retry later.</summary>
    private async Task<string?> FireAsync(string id, long dueTicks, CancellationToken ct)
    {
        var read = await executor.ExecuteAsync(Interactions.Read("Task", id, null, _options, ct));
        if (read.Resource is not FhirTask task || task.Status is not { } status || _options.TaskStateMachine.IsTerminal(status)
            || DueOf(task)?.UtcTicks != dueTicks || IsOverdue(task))
        {
            return ""; // Ended, re-timed or already handled: nothing to do; the change feed re-arms a new due time.
        }

        task.BusinessStatus = new CodeableConcept(BusinessStatusSystem, _options.OverdueCode, "Overdue");
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        bundle.Entry.Add(new Bundle.EntryComponent
        {
            Resource = task,
            Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"Task/{id}", IfMatch = $"W/\"{read.VersionId}\"" },
        });
        var identifier = $"{id}-{dueTicks.ToString(CultureInfo.InvariantCulture)}";
        var escalation = new FhirTask
        {
            Identifier = [new Identifier(EscalationIdentifierSystem, identifier)],
            Status = FhirTaskStatus.Requested,
            Intent = FhirTask.TaskIntent.Order,
            Priority = RequestPriority.Urgent,
            Code = new CodeableConcept(TaskCodeSystem, "escalation", "Escalation of a missed Task"),
            Description = "A Task passed its due time while still open.",
            Focus = new ResourceReference($"Task/{id}"),
            For = task.For,
            BasedOn = task.BasedOn,
            Owner = await EscalationTargetAsync(task, ct),
            AuthoredOn = time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture),
        };
        bundle.Entry.Add(new Bundle.EntryComponent
        {
            FullUrl = "urn:uuid:" + Guid.NewGuid(),
            Resource = escalation,
            Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Task", IfNoneExist = $"identifier={EscalationIdentifierSystem}|{identifier}" },
        });
        var result = await executor.ExecuteAsync(Interactions.Transaction(bundle, null, _options, ct));
        if (!result.IsSuccess)
        {
            LogFireFailed(logger, id, (int)result.StatusCode);
            return (int)result.StatusCode is 409 or 412 ? null : "";
        }

        var location = (result.Resource as Bundle)?.Entry.ElementAtOrDefault(1)?.Response?.Location;
        Missed.Add(1);
        return location?.Split("/_history")[0] ?? "";
    }

    private async Task<ResourceReference?> EscalationTargetAsync(FhirTask task, CancellationToken ct)
    {
        if (_options.Escalation == EscalationTarget.Requester)
        {
            return task.Requester;
        }

        var owner = task.Owner?.Reference;
        if (owner?.StartsWith("Organization/", StringComparison.Ordinal) == true)
        {
            return task.Owner;
        }

        if (owner?.StartsWith("PractitionerRole/", StringComparison.Ordinal) == true
            && (await executor.ExecuteAsync(Interactions.Read("PractitionerRole", owner["PractitionerRole/".Length..], null, _options, ct))).Resource is PractitionerRole { Organization: { } organization })
        {
            return organization;
        }

        if (owner?.StartsWith("Practitioner/", StringComparison.Ordinal) == true)
        {
            var roles = await executor.ExecuteAsync(Interactions.Search("PractitionerRole", [new("practitioner", owner)], null, _options, ct));
            if ((roles.Resource as Bundle)?.Entry.Select(e => e.Resource).OfType<PractitionerRole>().FirstOrDefault(r => r.Organization is not null) is { } role)
            {
                return role.Organization;
            }
        }

        return task.Requester ?? task.Owner;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not mark Task/{TaskId} overdue and escalate: {Status}.")]
    private static partial void LogFireFailed(ILogger logger, string taskId, int status);
}
