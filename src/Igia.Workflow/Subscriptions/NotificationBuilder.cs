using System.Globalization;
using Hl7.Fhir.Model;

namespace Igia.Workflow.Subscriptions;

/// <summary>One notification waiting in the outbox.</summary>
internal sealed record OutboxItem(long Id, string SubscriptionId, string Kind, long? EventNumber, DateTimeOffset? EventTime, string? FocusType, string? FocusId, int? FocusVersion, string? FocusMethod, int Attempts);

/// <summary>Builds backport notification Bundles (R4): a history Bundle whose first entry is the subscription-status Parameters.</summary>
internal static class NotificationBuilder
{
    public static Parameters Status(SubscriptionInfo s, string state, string type, long eventsSinceStart, string baseUrl)
    {
        var p = new Parameters { Meta = new Meta { Profile = [Backport.StatusProfile] } };
        p.Add("subscription", new ResourceReference($"{baseUrl}/Subscription/{s.Id}"));
        p.Add("topic", new Canonical(s.Topic));
        p.Add("status", new Code(state));
        p.Add("type", new Code(type));
        p.Add("events-since-subscription-start", new FhirString(eventsSinceStart.ToString(CultureInfo.InvariantCulture)));
        return p;
    }

    /// <summary>
    /// Builds a notification of <paramref name="kind"/>; for an <c>event-notification</c>, one <c>notification-event</c>
    /// (and focus entry) per event, in order. A withheld event is sent as <c>empty</c> (no focus): a resource the
    /// subscriber may not read.
    /// </summary>
    public static Bundle Build(SubscriptionInfo s, string state, string kind, long eventsSinceStart, IReadOnlyList<NotificationEvent> events, string baseUrl, DateTimeOffset now)
    {
        var status = Status(s, state, kind, eventsSinceStart, baseUrl);
        var bundle = new Bundle
        {
            Id = Guid.NewGuid().ToString("N"),
            Type = Bundle.BundleType.History,
            Timestamp = now,
            Meta = new Meta { Profile = [Backport.NotificationProfile] },
        };
        bundle.Entry.Add(new Bundle.EntryComponent
        {
            FullUrl = "urn:uuid:" + Guid.NewGuid(),
            Resource = status,
            Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.GET, Url = $"{baseUrl}/Subscription/{s.Id}/$status" },
            Response = new Bundle.ResponseComponent { Status = "200" },
        });
        if (kind != "event-notification")
        {
            return bundle;
        }

        foreach (var (item, focus, withheld) in events)
        {
            var ev = new Parameters.ParameterComponent { Name = "notification-event" };
            ev.Part.Add(new Parameters.ParameterComponent { Name = "event-number", Value = new FhirString(item.EventNumber!.Value.ToString(CultureInfo.InvariantCulture)) });
            ev.Part.Add(new Parameters.ParameterComponent { Name = "timestamp", Value = new Instant(item.EventTime) });
            if (s.Payload != "empty" && !withheld)
            {
                var focusUrl = $"{baseUrl}/{item.FocusType}/{item.FocusId}";
                ev.Part.Add(new Parameters.ParameterComponent { Name = "focus", Value = new ResourceReference(focusUrl) });
                var method = item.FocusMethod switch
                {
                    "DELETE" => Bundle.HTTPVerb.DELETE,
                    "POST" => Bundle.HTTPVerb.POST,
                    _ => Bundle.HTTPVerb.PUT,
                };
                bundle.Entry.Add(new Bundle.EntryComponent
                {
                    FullUrl = focusUrl,
                    Resource = s.Payload == "full-resource" ? focus : null,
                    Request = new Bundle.RequestComponent { Method = method, Url = method == Bundle.HTTPVerb.POST ? item.FocusType : $"{item.FocusType}/{item.FocusId}" },
                    Response = new Bundle.ResponseComponent
                    {
                        Status = method switch { Bundle.HTTPVerb.POST => "201", Bundle.HTTPVerb.DELETE => "204", _ => "200" },
                        Etag = $"W/\"{item.FocusVersion}\"",
                    },
                });
            }

            status.Parameter.Add(ev);
        }

        return bundle;
    }
}

/// <summary>One event of a notification: the outbox row, the focus as read for the subscriber, and whether it is withheld.</summary>
internal readonly record struct NotificationEvent(OutboxItem Item, Resource? Focus, bool Withheld);
