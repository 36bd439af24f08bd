namespace Igia.Workflow.Subscriptions;

/// <summary>URLs of the FHIR Subscriptions R5 Backport IG 1.1 (hl7.fhir.uv.subscriptions-backport) used on R4.</summary>
public static class Backport
{
    private const string Base = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";

    /// <summary>Extension on <c>Subscription.criteria</c>: a query string filter such as <c>Task?status=requested</c>.</summary>
    public const string FilterCriteria = Base + "backport-filter-criteria";

    /// <summary>Extension on <c>Subscription.channel.payload</c>: <c>empty</c>, <c>id-only</c> or <c>full-resource</c>.</summary>
    public const string PayloadContent = Base + "backport-payload-content";

    /// <summary>Extension on <c>Subscription.channel</c>: heartbeat period in seconds.</summary>
    public const string HeartbeatPeriod = Base + "backport-heartbeat-period";

    /// <summary>Extension on <c>Subscription.channel</c>: timeout of one notification in seconds.</summary>
    public const string Timeout = Base + "backport-timeout";

    /// <summary>Extension on <c>Subscription.channel</c>: max events per notification (this server sends one).</summary>
    public const string MaxCount = Base + "backport-max-count";

    /// <summary>Profile of a notification Bundle.</summary>
    public const string NotificationProfile = Base + "backport-subscription-notification-r4";

    /// <summary>Profile of the subscription-status Parameters.</summary>
    public const string StatusProfile = Base + "backport-subscription-status-r4";

    /// <summary>Profile of a backport Subscription.</summary>
    public const string SubscriptionProfile = Base + "backport-subscription";
}
