using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Igia.Workflow.Tasks;

namespace Igia.Workflow;

/// <summary>Options of <c>AddIgiaWorkflow</c>; validated at start-up.</summary>
public sealed class WorkflowOptions
{
    /// <summary>The SQLite file of the workflow engine (timers, subscription outbox, cursors). Default <c>data/workflow.db</c>.</summary>
    [Required]
    public string DatabasePath { get; set; } = Path.Combine("data", "workflow.db");

    /// <summary>The Task state machine. Default: the R4 typical machine.</summary>
    public TaskStateMachine TaskStateMachine { get; set; } = TaskStateMachine.CreateDefault();

    /// <summary>Where an escalation Task goes when an SLA is missed.</summary>
    public EscalationTarget Escalation { get; set; } = EscalationTarget.OwnerOrganization;

    /// <summary>The <c>businessStatus</c> code set on a Task whose due time passed. Default <c>overdue</c>.</summary>
    [Required]
    public string OverdueCode { get; set; } = "overdue";

    /// <summary>The FHIR base URL the engine puts in notification <c>fullUrl</c>s and in-process interactions; default <c>http://localhost/fhir</c>.</summary>
    [Required]
    public string FhirBaseUrl { get; set; } = "http://localhost/fhir";

    /// <summary>The caller the engine acts as when it writes (overdue marks, escalations, Subscription status). Authorization filters must allow it.</summary>
    public ClaimsPrincipal SystemUser { get; set; } = new(new ClaimsIdentity([new Claim("sub", "igia-workflow")], "igia-workflow"));

    /// <summary>How often the engine looks at the change feed and timers when nothing wakes it earlier. Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>First retry delay of a failed notification; doubles per attempt up to <see cref="MaxRetryDelay"/>. Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between retries. Default 5 min.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Consecutive failed deliveries after which a Subscription's status becomes <c>error</c> (delivery keeps retrying). Default 3.</summary>
    [Range(1, 1000)]
    public int ErrorAfterFailures { get; set; } = 3;

    /// <summary>Timeout of one notification POST when the Subscription sets none. Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan NotificationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The canonical base of the built-in subscription topics: <c>{TopicBase}/{ResourceType}</c> (e.g. <c>…/Task</c>).</summary>
    [Required]
    public string TopicBase { get; set; } = "http://igia.dev/fhir/SubscriptionTopic";
}

/// <summary>Who receives the escalation Task of a missed SLA.</summary>
public enum EscalationTarget
{
    /// <summary>The organization of the Task's owner (the owner itself when it is an Organization; else the requester).</summary>
    OwnerOrganization,

    /// <summary>The Task's requester.</summary>
    Requester,
}
