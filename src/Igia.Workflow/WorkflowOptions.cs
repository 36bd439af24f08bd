using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Igia.Workflow.Tasks;

namespace Igia.Workflow;

/// <summary>Options of <c>AddIgiaWorkflow</c>; validated at start-up.</summary>
public sealed class WorkflowOptions
{
    /// <summary>
    /// The SQLite file of the embedded workflow engine: its own tables (subscription outbox, cursor, missed Tasks, recorded
    /// Subscription writers) and its Quartz.NET job store (jobs and SLA timers). Not used when <see cref="PostgreSqlJobStore"/>
    /// is set. Default <c>data/workflow.db</c>. Read when <c>AddIgiaWorkflow</c> is called, from its configure delegate.
    /// </summary>
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

    /// <summary>
    /// Scale-out: a PostgreSQL connection string for Quartz.NET's clustered ADO.NET job store and the workflow's own tables
    /// (cursor, outbox, Subscription state and writers, missed Tasks); all tables are created if missing. Every host given
    /// the same database forms one cluster, on one machine or several: each trigger fires on one node, the change-feed
    /// pump and each Subscription's delivery run on one node at a time, and a dead node's jobs are recovered by another.
    /// The nodes must also share one FHIR store (whatever the application configures). Null (the default): everything in
    /// the embedded, non-clustered SQLite file <see cref="DatabasePath"/>. Read when <c>AddIgiaWorkflow</c> is called, from
    /// its configure delegate.
    /// </summary>
    public string? PostgreSqlJobStore { get; set; }

    /// <summary>How often a clustered node checks in; a node silent for twice as long is taken as dead and its jobs recovered. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan ClusterCheckinInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the engine looks at the change feed (a Quartz.NET trigger, the safety net behind the after-commit nudges) and queues heartbeats. Default 1 s.</summary>
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

    /// <summary>
    /// The rest-hook channel's endpoint allow-list (deny by default: with none configured, rest-hook Subscriptions are
    /// refused). E.g. <c>o.Subscriptions.Allow("https://hooks.example.org/fhir/")</c>.
    /// </summary>
    public SubscriptionOptions Subscriptions { get; set; } = new();

    /// <summary>
    /// How often the engine deletes from the FHIR store's change feed the entries it has processed (the newest is always
    /// kept). Default 1 min; null = never (when something else also reads the change feed).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "7.00:00:00")]
    public TimeSpan? ChangeLogTrimInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Who receives the escalation Task of a missed SLA.</summary>
public enum EscalationTarget
{
    /// <summary>The organization of the Task's owner (the owner itself when it is an Organization; else the requester).</summary>
    OwnerOrganization,

    /// <summary>The Task's requester.</summary>
    Requester,
}
