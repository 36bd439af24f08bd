using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Xml;
using Hl7.Fhir.Model;

namespace Igia.Audit.Internal;

/// <summary>
/// FHIR JSON of AuditEvents on the capture path. The Firely serializer is general and costs tens of microseconds and
/// ~16 KB per event — a large share of a FHIR read. This writer covers exactly the elements the capture sets and writes
/// the same bytes the Firely serializer writes (same element order, escaping and instant format; a test holds it to
/// that). Any event using an element outside that set (extensions, purposeOfEvent, details, ...) goes to Firely.
/// </summary>
internal static class AuditEventJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>The event as FHIR JSON (UTF-8).</summary>
    /// <param name="ev">The event.</param>
    /// <param name="known">
    /// True for events the capture built (<see cref="Capture.AuditEventFactory"/>), which use only elements this writer
    /// covers (a test holds the factory to that): the check of every element is skipped.
    /// </param>
    public static byte[] Serialize(AuditEvent ev, bool known = false)
    {
        if (!known && !Supported(ev))
        {
            return FhirJson.Serialize(ev);
        }

        var w = Begin();
        Write(w, ev);
        return End(w);
    }

    /// <summary>This thread's writer, reset to an empty buffer, with the escaping the Firely serializer uses.</summary>
    internal static Utf8JsonWriter Begin()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var w = t_writer;
        if (w is null)
        {
            w = t_writer = new Utf8JsonWriter(buffer, WriterOptions);
        }
        else
        {
            w.Reset(buffer);
        }

        return w;
    }

    /// <summary>What <paramref name="w"/> (from <see cref="Begin"/>) wrote.</summary>
    internal static byte[] End(Utf8JsonWriter w)
    {
        w.Flush();
        return t_buffer!.WrittenSpan.ToArray();
    }

    private static void Write(Utf8JsonWriter w, AuditEvent ev)
    {
        w.WriteStartObject();
        w.WriteString("resourceType"u8, "AuditEvent"u8);
        String(w, "id"u8, ev.Id);
        if (ev.Meta is { } meta && meta.Profile.Any())
        {
            w.WriteStartObject("meta"u8);
            w.WriteStartArray("profile"u8);
            foreach (var profile in meta.Profile)
            {
                w.WriteStringValue(profile);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        Coding(w, "type"u8, ev.Type);
        if (ev.Subtype.Count > 0)
        {
            w.WriteStartArray("subtype"u8);
            foreach (var c in ev.Subtype)
            {
                Coding(w, default, c);
            }

            w.WriteEndArray();
        }

        String(w, "action"u8, ev.ActionElement?.JsonValue as string);
        if (ev.RecordedElement is { } recorded && InstantText(recorded) is { } text)
        {
            w.WriteString("recorded"u8, text);
        }

        String(w, "outcome"u8, ev.OutcomeElement?.JsonValue as string);
        String(w, "outcomeDesc"u8, ev.OutcomeDesc);
        if (ev.Agent.Count > 0)
        {
            w.WriteStartArray("agent"u8);
            foreach (var agent in ev.Agent)
            {
                w.WriteStartObject();
                if (agent.Type is { } type)
                {
                    w.WriteStartObject("type"u8);
                    w.WriteStartArray("coding"u8);
                    foreach (var c in type.Coding)
                    {
                        Coding(w, default, c);
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }

                Reference(w, "who"u8, agent.Who);
                String(w, "name"u8, agent.Name);
                if (agent.Requestor is { } requestor)
                {
                    w.WriteBoolean("requestor"u8, requestor);
                }

                if (agent.PolicyElement.Count > 0)
                {
                    w.WriteStartArray("policy"u8);
                    foreach (var policy in agent.PolicyElement)
                    {
                        w.WriteStringValue(policy.Value);
                    }

                    w.WriteEndArray();
                }

                if (agent.Network is { } network)
                {
                    w.WriteStartObject("network"u8);
                    String(w, "address"u8, network.Address);
                    String(w, "type"u8, network.TypeElement?.JsonValue as string);
                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (ev.Source is { } source)
        {
            w.WriteStartObject("source"u8);
            String(w, "site"u8, source.Site);
            Reference(w, "observer"u8, source.Observer);
            if (source.Type.Count > 0)
            {
                w.WriteStartArray("type"u8);
                foreach (var c in source.Type)
                {
                    Coding(w, default, c);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        if (ev.Entity.Count > 0)
        {
            w.WriteStartArray("entity"u8);
            foreach (var entity in ev.Entity)
            {
                w.WriteStartObject();
                Reference(w, "what"u8, entity.What);
                Coding(w, "type"u8, entity.Type);
                Coding(w, "role"u8, entity.Role);
                String(w, "name"u8, entity.Name);
                String(w, "description"u8, entity.Description);
                if (entity.Query is { } query)
                {
                    w.WriteBase64String("query"u8, query);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    /// <summary>An instant as the Firely serializer writes it.</summary>
    internal static string? InstantText(Instant instant) => instant.JsonValue switch
    {
        string text => text,
        DateTimeOffset time => XmlConvert.ToString(time),
        _ => null,
    };

    private static void String(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void Coding(Utf8JsonWriter w, ReadOnlySpan<byte> name, Coding? coding)
    {
        if (coding is not null)
        {
            Coding(w, name, coding.System, coding.Code, coding.Display);
        }
    }

    /// <summary>A Coding, named or (with an empty <paramref name="name"/>) an array item; absent parts are left out.</summary>
    internal static void Coding(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? system, string? code, string? display)
    {
        if (name.IsEmpty)
        {
            w.WriteStartObject();
        }
        else
        {
            w.WriteStartObject(name);
        }

        String(w, "system"u8, system);
        String(w, "code"u8, code);
        String(w, "display"u8, display);
        w.WriteEndObject();
    }

    private static void Reference(Utf8JsonWriter w, ReadOnlySpan<byte> name, ResourceReference? reference)
    {
        if (reference is null)
        {
            return;
        }

        w.WriteStartObject(name);
        String(w, "reference"u8, reference.Reference);
        if (reference.Identifier is { } identifier)
        {
            Identifier(w, identifier.System, identifier.Value);
        }

        String(w, "display"u8, reference.Display);
        w.WriteEndObject();
    }

    /// <summary>A Reference's identifier; absent parts are left out.</summary>
    internal static void Identifier(Utf8JsonWriter w, string? system, string? value)
    {
        w.WriteStartObject("identifier"u8);
        String(w, "system"u8, system);
        String(w, "value"u8, value);
        w.WriteEndObject();
    }

    /// <summary>True when every element set on <paramref name="ev"/> is one this writer writes.</summary>
    internal static bool Supported(AuditEvent ev)
    {
        if (!Plain(ev) || ev.Contained.Count > 0 || ev.Text is not null || ev.ImplicitRules is not null || ev.Language is not null
            || ev.Period is not null || ev.PurposeOfEvent.Count > 0 || ev.Type is null || ev.ActionElement is { } a && !Plain(a)
            || ev.RecordedElement is { } r && !Plain(r) || ev.OutcomeElement is { } o && !Plain(o) || ev.OutcomeDescElement is { } od && !Plain(od)
            || ev.IdElement is { } id && !Plain(id))
        {
            return false;
        }

        if (ev.Meta is { } meta && (!Plain(meta) || meta.VersionId is not null || meta.LastUpdated is not null || meta.Source is not null
            || meta.Security.Count > 0 || meta.Tag.Count > 0 || meta.ProfileElement.Any(p => !Plain(p))))
        {
            return false;
        }

        if (!CodingOk(ev.Type) || !ev.Subtype.All(CodingOk))
        {
            return false;
        }

        foreach (var agent in ev.Agent)
        {
            if (!Plain(agent) || agent.Role.Count > 0 || agent.AltId is not null || agent.Location is not null || agent.Media is not null
                || agent.PurposeOfUse.Count > 0 || agent.Type is { } t && (!Plain(t) || t.Text is not null || !t.Coding.All(CodingOk))
                || !ReferenceOk(agent.Who) || agent.NameElement is { } n && !Plain(n) || agent.RequestorElement is { } q && !Plain(q)
                || agent.PolicyElement.Any(p => !Plain(p)) || agent.Network is { } net && (!Plain(net) || net.AddressElement is { } na && !Plain(na) || net.TypeElement is { } nt && !Plain(nt)))
            {
                return false;
            }
        }

        if (ev.Source is { } source && (!Plain(source) || source.SiteElement is { } site && !Plain(site) || !ReferenceOk(source.Observer) || !source.Type.All(CodingOk)))
        {
            return false;
        }

        foreach (var entity in ev.Entity)
        {
            if (!Plain(entity) || entity.Lifecycle is not null || entity.SecurityLabel.Count > 0 || entity.Detail.Count > 0
                || !ReferenceOk(entity.What) || !CodingOk(entity.Type) || !CodingOk(entity.Role)
                || entity.NameElement is { } en && !Plain(en) || entity.DescriptionElement is { } ed && !Plain(ed) || entity.QueryElement is { } eq && !Plain(eq))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Plain(Base element) => element switch
    {
        Element e => e.ElementId is null && e.Extension.Count == 0 && (e is not BackboneElement b || b.ModifierExtension.Count == 0),
        Resource => true,
        _ => false,
    };

    private static bool CodingOk(Coding? c) =>
        c is null || (Plain(c) && c.Version is null && c.UserSelected is null && (c.SystemElement is null || Plain(c.SystemElement))
            && (c.CodeElement is null || Plain(c.CodeElement)) && (c.DisplayElement is null || Plain(c.DisplayElement)));

    private static bool ReferenceOk(ResourceReference? r) =>
        r is null || (Plain(r) && r.Type is null && (r.ReferenceElement is null || Plain(r.ReferenceElement)) && (r.DisplayElement is null || Plain(r.DisplayElement))
            && (r.Identifier is not { } i || (Plain(i) && i.Use is null && i.Type is null && i.Period is null && i.Assigner is null
                && (i.SystemElement is null || Plain(i.SystemElement)) && (i.ValueElement is null || Plain(i.ValueElement)))));
}
