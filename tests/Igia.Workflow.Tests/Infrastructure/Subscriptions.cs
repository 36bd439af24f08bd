using Hl7.Fhir.Model;
using Igia.Workflow.Subscriptions;

namespace Igia.Workflow.Tests.Infrastructure;

public static class Subscriptions
{
    public const string TopicBase = "http://igia.dev/fhir/SubscriptionTopic";

    public static Subscription RestHook(string endpoint, string topicType = "Task", string payload = "full-resource", string? filter = null, int? heartbeatSeconds = null, params string[] headers)
    {
        var s = new Subscription
        {
            Status = Subscription.SubscriptionStatus.Requested,
            Reason = "test",
            Criteria = $"{TopicBase}/{topicType}",
            Channel = new Subscription.ChannelComponent
            {
                Type = Subscription.SubscriptionChannelType.RestHook,
                Endpoint = endpoint,
                Payload = "application/fhir+json",
                Header = [.. headers],
            },
        };
        s.Meta = new Meta { Profile = [Backport.SubscriptionProfile] };
        s.Channel.PayloadElement.Extension.Add(new Extension(Backport.PayloadContent, new Code(payload)));
        if (filter is not null)
        {
            s.CriteriaElement.Extension.Add(new Extension(Backport.FilterCriteria, new FhirString(filter)));
        }

        if (heartbeatSeconds is { } hb)
        {
            s.Channel.Extension.Add(new Extension(Backport.HeartbeatPeriod, new UnsignedInt(hb)));
        }

        return s;
    }
}
