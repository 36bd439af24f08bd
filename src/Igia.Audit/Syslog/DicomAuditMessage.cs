using System.Globalization;
using System.Text;
using System.Xml;
using Hl7.Fhir.Model;
using Igia.Audit.Capture;

namespace Igia.Audit.Syslog;

/// <summary>
/// Maps an AuditEvent to the DICOM PS3.15 A.5 audit message (the ATNA/RFC 3881 XML): EventIdentification,
/// ActiveParticipant per agent, AuditSourceIdentification, ParticipantObjectIdentification per entity — the mapping
/// the FHIR AuditEvent resource documents. Coded values use <c>csd-code</c>/<c>codeSystemName</c>/<c>originalText</c>;
/// <c>codeSystemName</c> is <c>DCM</c> for DICOM codes and the code system URI otherwise.
/// </summary>
internal static class DicomAuditMessage
{
    private static readonly XmlWriterSettings Settings = new() { OmitXmlDeclaration = true, Indent = false, Encoding = new UTF8Encoding(false) };

    public static byte[] ToXml(AuditEvent ev)
    {
        using var stream = new MemoryStream();
        using (var xml = XmlWriter.Create(stream, Settings))
        {
            xml.WriteStartElement("AuditMessage");

            xml.WriteStartElement("EventIdentification");
            if (ev.Action is { } action)
            {
                xml.WriteAttributeString("EventActionCode", action.ToString());
            }

            xml.WriteAttributeString("EventDateTime", (ev.Recorded ?? DateTimeOffset.UnixEpoch).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            xml.WriteAttributeString("EventOutcomeIndicator", Logging.LoggerAuditSink.OutcomeCode(ev.Outcome) is var o && o != "-" ? o : "0");
            Coded(xml, "EventID", ev.Type);
            foreach (var subtype in ev.Subtype)
            {
                Coded(xml, "EventTypeCode", subtype);
            }

            if (ev.OutcomeDesc is { Length: > 0 } description)
            {
                xml.WriteElementString("EventOutcomeDescription", description);
            }

            xml.WriteEndElement();

            foreach (var agent in ev.Agent)
            {
                xml.WriteStartElement("ActiveParticipant");
                var who = agent.Who;
                var userId = who?.Identifier?.Value ?? who?.Reference ?? who?.Display ?? agent.AltId ?? "unknown";
                xml.WriteAttributeString("UserID", userId);
                if (who?.Identifier?.Value is not null && who.Reference is { } reference)
                {
                    xml.WriteAttributeString("AlternativeUserID", reference);
                }

                if ((agent.Name ?? who?.Display) is { } name && name != userId)
                {
                    xml.WriteAttributeString("UserName", name);
                }

                xml.WriteAttributeString("UserIsRequestor", agent.Requestor == true ? "true" : "false");
                if (agent.Network is { Address: { } address } network)
                {
                    xml.WriteAttributeString("NetworkAccessPointID", address);
                    if (network.Type is { } type)
                    {
                        xml.WriteAttributeString("NetworkAccessPointTypeCode", ((int)type + 1).ToString(CultureInfo.InvariantCulture));
                    }
                }

                foreach (var coding in agent.Type?.Coding ?? [])
                {
                    Coded(xml, "RoleIDCode", coding);
                }

                xml.WriteEndElement();
            }

            xml.WriteStartElement("AuditSourceIdentification");
            if (ev.Source?.Site is { } site)
            {
                xml.WriteAttributeString("AuditEnterpriseSiteID", site);
            }

            xml.WriteAttributeString("AuditSourceID", ev.Source?.Observer?.Identifier?.Value ?? ev.Source?.Observer?.Display ?? ev.Source?.Observer?.Reference ?? "unknown");
            foreach (var type in ev.Source?.Type ?? [])
            {
                Coded(xml, "AuditSourceTypeCode", type);
            }

            xml.WriteEndElement();

            foreach (var entity in ev.Entity)
            {
                xml.WriteStartElement("ParticipantObjectIdentification");
                var role = entity.Role?.Code;
                var id = entity.What?.Reference ?? entity.What?.Identifier?.Value ?? entity.What?.Display
                    ?? (role == "24" ? ev.Subtype.FirstOrDefault()?.Code ?? "query" : "unknown");
                xml.WriteAttributeString("ParticipantObjectID", id);
                if (entity.Type is { System: AuditCodes.AuditEntityType, Code: { } typeCode })
                {
                    xml.WriteAttributeString("ParticipantObjectTypeCode", typeCode);
                }

                if (entity.Role is { System: AuditCodes.ObjectRole, Code: { } roleCode })
                {
                    xml.WriteAttributeString("ParticipantObjectTypeCodeRole", roleCode);
                }

                if (entity.Lifecycle?.Code is { } lifecycle)
                {
                    xml.WriteAttributeString("ParticipantObjectDataLifeCycle", lifecycle);
                }

                // ParticipantObjectIDTypeCode: what kind of id ParticipantObjectID is.
                var idType = role switch
                {
                    "1" => new Coding("RFC-3881", "2", "Patient Number"),
                    "24" => ev.Subtype.FirstOrDefault() ?? new Coding("RFC-3881", "12", "URI"),
                    _ when entity.Type is { System: AuditCodes.BalpEntityType } t => t,
                    _ => new Coding("RFC-3881", "12", "URI"),
                };
                Coded(xml, "ParticipantObjectIDTypeCode", idType);
                if (entity.Name is { } entityName)
                {
                    xml.WriteElementString("ParticipantObjectName", entityName);
                }
                else if (entity.Query is { Length: > 0 } query)
                {
                    xml.WriteElementString("ParticipantObjectQuery", Convert.ToBase64String(query));
                }

                foreach (var detail in entity.Detail)
                {
                    xml.WriteStartElement("ParticipantObjectDetail");
                    xml.WriteAttributeString("type", detail.Type ?? "");
                    var value = detail.Value switch
                    {
                        Base64Binary b => b.Value ?? [],
                        FhirString s => Encoding.UTF8.GetBytes(s.Value ?? ""),
                        _ => [],
                    };
                    xml.WriteAttributeString("value", Convert.ToBase64String(value));
                    xml.WriteEndElement();
                }

                if (entity.Description is { } entityDescription)
                {
                    xml.WriteElementString("ParticipantObjectDescription", entityDescription);
                }

                xml.WriteEndElement();
            }

            xml.WriteEndElement();
        }

        return stream.ToArray();
    }

    private static void Coded(XmlWriter xml, string element, Coding? coding)
    {
        if (coding is null)
        {
            return;
        }

        xml.WriteStartElement(element);
        xml.WriteAttributeString("csd-code", coding.Code ?? "");
        xml.WriteAttributeString("codeSystemName", coding.System == AuditCodes.Dcm ? "DCM" : coding.System ?? "");
        xml.WriteAttributeString("originalText", coding.Display ?? coding.Code ?? "");
        xml.WriteEndElement();
    }
}
