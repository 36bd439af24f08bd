using System.Globalization;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;

namespace Igia.Workflow.Subscriptions;

/// <summary>What the engine needs of a backport Subscription, read and checked once.</summary>
internal sealed class SubscriptionInfo
{
    public required string Id { get; init; }

    public required string Topic { get; init; }

    public required string ResourceType { get; init; }

    public required SubscriptionFilter Filter { get; init; }

    public required Uri Endpoint { get; init; }

    public required string Payload { get; init; }

    public required string ContentType { get; init; }

    public required IReadOnlyList<(string Name, string Value)> Headers { get; init; }

    public TimeSpan? Heartbeat { get; init; }

    public TimeSpan? Timeout { get; init; }

    public Subscription.SubscriptionStatus Status { get; init; }

    public DateTimeOffset? End { get; init; }

    /// <summary>
    /// Most events per notification (<c>backport-max-count</c> on <c>Subscription.channel</c>): consecutive events waiting
    /// for the Subscription go out together in one notification Bundle, up to this many. 1 when absent (one per notification).
    /// </summary>
    public int MaxCount { get; init; } = 1;

    /// <summary>The Subscription's version (<c>meta.versionId</c>), when known: whose authorization context applies.</summary>
    public int? VersionId { get; init; }

    /// <summary>Reads and checks a Subscription; throws <see cref="FhirException"/> (4xx) naming what is wrong.</summary>
    public static SubscriptionInfo Parse(Subscription s, string topicBase)
    {
        var topic = s.Criteria ?? throw Invalid("Subscription.criteria must be the canonical URL of a topic.");
        var prefix = topicBase.TrimEnd('/') + "/";
        var type = topic.StartsWith(prefix, StringComparison.Ordinal) ? topic[prefix.Length..] : null;
        if (type is null || !ModelInfo.IsKnownResource(type))
        {
            throw Invalid($"Unknown subscription topic. This server's topics are {prefix}[ResourceType], e.g. {prefix}Task or {prefix}CarePlan.");
        }

        var filters = s.CriteriaElement.Extension.Where(e => e.Url == Backport.FilterCriteria).Select(e => (e.Value as FhirString)?.Value ?? throw Invalid("backport-filter-criteria needs a valueString.")).ToList();
        var filter = SubscriptionFilter.Parse(type, filters);

        if (s.Channel is null || s.Channel.Type != Subscription.SubscriptionChannelType.RestHook)
        {
            throw Invalid("Only the rest-hook channel is supported.");
        }

        if (!Uri.TryCreate(s.Channel.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            throw Invalid("Subscription.channel.endpoint must be an absolute http(s) URL.");
        }

        var payloadElement = s.Channel.PayloadElement;
        var payload = payloadElement?.Extension.FirstOrDefault(e => e.Url == Backport.PayloadContent)?.Value switch
        {
            null => payloadElement?.Value is null ? "empty" : "id-only",
            Code c when c.Value is "empty" or "id-only" or "full-resource" => c.Value,
            _ => throw Invalid("backport-payload-content must be empty, id-only or full-resource."),
        };
        var contentType = s.Channel.Payload ?? "application/fhir+json";
        if (contentType.Split(';')[0].Trim() is not ("application/fhir+json" or "application/json"))
        {
            throw Invalid("This server sends notifications as application/fhir+json.");
        }

        var headers = new List<(string, string)>();
        foreach (var header in s.Channel.Header)
        {
            var colon = header?.IndexOf(':') ?? -1;
            if (colon <= 0 || header!.AsSpan(0, colon).ContainsAny("\r\n ") || header.AsSpan(colon + 1).ContainsAny("\r\n"))
            {
                throw Invalid("Each Subscription.channel.header must be 'Name: value'.");
            }

            if (header!.AsSpan(0, colon).Trim().Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                throw Invalid("Subscription.channel.header must not set Host (the endpoint's host is used).");
            }

            headers.Add((header![..colon].Trim(), header[(colon + 1)..].Trim()));
        }

        return new SubscriptionInfo
        {
            Id = s.Id ?? "",
            Topic = topic,
            ResourceType = type,
            Filter = filter,
            Endpoint = endpoint,
            Payload = payload,
            ContentType = "application/fhir+json",
            Headers = headers,
            Heartbeat = Seconds(s.Channel, Backport.HeartbeatPeriod),
            Timeout = Seconds(s.Channel, Backport.Timeout),
            MaxCount = s.Channel.Extension.FirstOrDefault(e => e.Url == Backport.MaxCount)?.Value switch
            {
                null => 1,
                PositiveInt { Value: > 0 and <= MaxEventsPerNotification } p => p.Value!.Value,
                _ => throw Invalid($"backport-max-count must be a positiveInt from 1 to {MaxEventsPerNotification}."),
            },
            Status = s.Status ?? Subscription.SubscriptionStatus.Requested,
            End = s.End,
            VersionId = int.TryParse(s.Meta?.VersionId, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null,
        };
    }

    /// <summary>The largest <c>backport-max-count</c> accepted (bounds the size of one notification).</summary>
    public const int MaxEventsPerNotification = 1000;

    private static TimeSpan? Seconds(Subscription.ChannelComponent channel, string url) =>
        channel.Extension.FirstOrDefault(e => e.Url == url)?.Value switch
        {
            UnsignedInt { Value: > 0 } u => TimeSpan.FromSeconds(u.Value!.Value),
            PositiveInt { Value: > 0 } p => TimeSpan.FromSeconds(p.Value!.Value),
            Integer { Value: > 0 } i => TimeSpan.FromSeconds(i.Value!.Value),
            null => null,
            _ => throw Invalid($"{url} must be a positive number of seconds."),
        };

    private static FhirException Invalid(string message) => new(System.Net.HttpStatusCode.UnprocessableEntity, OperationOutcome.IssueType.Invalid, message);
}
