using System.Text;
using System.Text.Json;
using Hl7.Fhir.Model;
using Igia.Audit.Internal;
using Igia.Fhir.Pipeline;

namespace Igia.Audit.Capture;

/// <summary>
/// The hot path of capture: the BALP events of read, vread, search, create, update and patch written as FHIR JSON
/// straight from the interaction, without building the Firely AuditEvent and serialising it (which cost about as much as
/// the unaudited read itself). It writes exactly the bytes <see cref="Build"/> + <see cref="AuditEventJson"/> write for
/// the same interaction (a test holds it to that for every kind and outcome), so the BALP validation of the built events
/// covers these too.
/// </summary>
internal sealed partial class AuditEventFactory
{
    /// <summary>True for the interactions <see cref="JsonForInteraction"/> writes.</summary>
    public static bool WritesJsonDirectly(FhirInteractionKind kind) => kind is FhirInteractionKind.Read or FhirInteractionKind.VRead or FhirInteractionKind.Search
        or FhirInteractionKind.Create or FhirInteractionKind.Update or FhirInteractionKind.Patch;

    /// <summary>
    /// The events of <see cref="ForInteraction"/>, as FHIR JSON (UTF-8), for the kinds of
    /// <see cref="WritesJsonDirectly"/>.
    /// </summary>
    public List<byte[]> JsonForInteraction(FhirInteraction interaction, int status, FhirResponse? response, IEnumerable<string>? knownPatients)
    {
        if (!WritesJsonDirectly(interaction.Kind))
        {
            throw new ArgumentException($"{interaction.Kind} is not written directly.", nameof(interaction));
        }

        var (pattern, caller, patients, type, id) = Prepare(interaction, status, response, knownPatients);
        var events = new List<byte[]>(patients.Count);
        foreach (var patient in patients)
        {
            events.Add(WriteJson(interaction, pattern, caller, status, response, type, id, patient));
        }

        return events;
    }

    /// <summary>Mirrors <see cref="Build"/> for the Create, Read, Update and Query patterns, element by element in FHIR order.</summary>
    private byte[] WriteJson(FhirInteraction interaction, Pattern pattern, CallerInfo caller, int status, FhirResponse? response, string? type, string? id, string? patient)
    {
        var success = status < 400;
        var w = AuditEventJson.Begin();
        w.WriteStartObject();
        w.WriteString("resourceType"u8, "AuditEvent"u8);
        w.WriteString("id"u8, NewId());
        // Written directly only for Create, Read, Update and Query, whose server role is always a DICOM code.
        var (clientCode, serverRole, userCode) = RolesOf(pattern);
        var serverCode = serverRole!;
        if (success)
        {
            w.WriteStartObject("meta"u8);
            w.WriteStartArray("profile"u8);
            w.WriteStringValue(ProfileOf(pattern, patient is not null));
            if (ClaimsOAuthComprehensive(caller, userCode))
            {
                w.WriteStringValue(AuditCodes.ProfileOAuthComprehensive);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        AuditEventJson.Coding(w, "type"u8, AuditCodes.AuditEventType, "rest", "Restful Operation");
        var subtype = SubtypeOf(interaction);
        w.WriteStartArray("subtype"u8);
        AuditEventJson.Coding(w, default, AuditCodes.RestfulInteraction, subtype, subtype);
        w.WriteEndArray();
        w.WriteString("action"u8, pattern switch
        {
            Pattern.Read => "R"u8,
            Pattern.Create => "C"u8,
            Pattern.Update => "U"u8,
            _ => "E"u8,
        });
        w.WriteString("recorded"u8, AuditEventJson.InstantText(new Instant(_time.GetUtcNow()))!);
        w.WriteString("outcome"u8, success ? "0"u8 : status < 500 ? "4"u8 : "8"u8);
        if (!success)
        {
            w.WriteString("outcomeDesc"u8, OutcomeDescOf(status, response?.Resource as OperationOutcome));
        }

        w.WriteStartArray("agent"u8);

        // The client (ClientAgent).
        w.WriteStartObject();
        Concept(w, AuditCodes.Dcm, clientCode, AuditCodes.DcmDisplay(clientCode));
        w.WriteStartObject("who"u8);
        if (caller.ClientId is not null)
        {
            AuditEventJson.Identifier(w, null, caller.ClientId);
        }
        else
        {
            w.WriteString("display"u8, caller.ClientAddress ?? Environment.MachineName);
        }

        w.WriteEndObject();
        w.WriteBoolean("requestor"u8, !caller.HasUser);
        if (caller.ClientAddress is not null)
        {
            Network(w, caller.ClientAddress, caller.AddressIsIp ? "2"u8 : "1"u8);
        }
        else
        {
            Network(w, Environment.MachineName, "1"u8);
        }

        w.WriteEndObject();

        // This server (ServerAgent).
        w.WriteStartObject();
        Concept(w, AuditCodes.Dcm, serverCode, AuditCodes.DcmDisplay(serverCode));
        w.WriteStartObject("who"u8);
        AuditEventJson.Identifier(w, null, SourceId);
        w.WriteString("display"u8, SourceId);
        w.WriteEndObject();
        w.WriteBoolean("requestor"u8, false);
        if (interaction.BaseUrl.Length > 0)
        {
            Network(w, interaction.BaseUrl, "5"u8);
        }
        else
        {
            Network(w, Environment.MachineName, "1"u8);
        }

        w.WriteEndObject();

        if (caller.HasUser)
        {
            // The user (UserAgent).
            w.WriteStartObject();
            Concept(w, AuditCodes.ParticipationType, userCode, UserRoleDisplay(userCode));
            w.WriteStartObject("who"u8);
            if (caller.FhirUser is not null)
            {
                w.WriteString("reference"u8, caller.FhirUser);
            }

            if (caller.Subject is not null)
            {
                AuditEventJson.Identifier(w, AsUri(caller.Issuer), caller.Subject);
            }

            w.WriteEndObject();
            w.WriteBoolean("requestor"u8, true);
            if (caller.TokenId is not null)
            {
                w.WriteStartArray("policy"u8);
                w.WriteStringValue(caller.TokenId);
                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        if (caller.ClientId is not null)
        {
            // The OAuth client (ApplicationAgent).
            w.WriteStartObject();
            Concept(w, AuditCodes.Dcm, "110150", AuditCodes.DcmDisplay("110150"));
            w.WriteStartObject("who"u8);
            AuditEventJson.Identifier(w, null, caller.ClientId);
            w.WriteEndObject();
            w.WriteBoolean("requestor"u8, false);
            w.WriteEndObject();
        }

        w.WriteEndArray();

        w.WriteStartObject("source"u8);
        if (_options.Site is not null)
        {
            w.WriteString("site"u8, _options.Site);
        }

        w.WriteStartObject("observer"u8);
        AuditEventJson.Identifier(w, null, SourceId);
        w.WriteString("display"u8, SourceId);
        w.WriteEndObject();
        w.WriteStartArray("type"u8);
        AuditEventJson.Coding(w, default, AuditCodes.SecuritySourceType, "4", "Application Server");
        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteStartArray("entity"u8);
        if (pattern == Pattern.Query)
        {
            w.WriteStartObject();
            AuditEventJson.Coding(w, "type"u8, AuditCodes.AuditEntityType, "2", "System Object");
            AuditEventJson.Coding(w, "role"u8, AuditCodes.ObjectRole, "24", "Query");
            w.WriteBase64String("query"u8, Encoding.UTF8.GetBytes(RequestLine(interaction)));
            w.WriteEndObject();
        }
        else
        {
            w.WriteStartObject();
            w.WriteStartObject("what"u8);
            if (type is not null && id is not null)
            {
                w.WriteString("reference"u8, interaction.VersionId is { } versionId ? $"{type}/{id}/_history/{versionId}" : $"{type}/{id}");
            }
            else
            {
                w.WriteString("display"u8, type ?? "unknown");
            }

            w.WriteEndObject();
            AuditEventJson.Coding(w, "type"u8, AuditCodes.AuditEntityType, "2", "System Object");
            AuditEventJson.Coding(w, "role"u8, AuditCodes.ObjectRole, "4", "Domain Resource");
            w.WriteEndObject();
        }

        if (patient is not null)
        {
            w.WriteStartObject();
            w.WriteStartObject("what"u8);
            w.WriteString("reference"u8, "Patient/" + patient);
            w.WriteEndObject();
            AuditEventJson.Coding(w, "type"u8, AuditCodes.AuditEntityType, "1", "Person");
            AuditEventJson.Coding(w, "role"u8, AuditCodes.ObjectRole, "1", "Patient");
            w.WriteEndObject();
        }

        if (caller.RequestId is not null)
        {
            w.WriteStartObject();
            w.WriteStartObject("what"u8);
            AuditEventJson.Identifier(w, null, caller.RequestId);
            w.WriteEndObject();
            AuditEventJson.Coding(w, "type"u8, AuditCodes.BalpEntityType, "XrequestId", AuditCodes.RequestIdDisplay);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        return AuditEventJson.End(w);
    }

    private static void Concept(Utf8JsonWriter w, string system, string code, string display)
    {
        w.WriteStartObject("type"u8);
        w.WriteStartArray("coding"u8);
        AuditEventJson.Coding(w, default, system, code, display);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Network(Utf8JsonWriter w, string address, ReadOnlySpan<byte> type)
    {
        w.WriteStartObject("network"u8);
        w.WriteString("address"u8, address);
        w.WriteString("type"u8, type);
        w.WriteEndObject();
    }
}
