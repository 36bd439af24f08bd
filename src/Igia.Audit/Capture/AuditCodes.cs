using Hl7.Fhir.Model;

namespace Igia.Audit.Capture;

/// <summary>The code systems, codes and profile URLs of the AuditEvents this package writes (IHE BALP, DICOM, HL7 THO).</summary>
internal static class AuditCodes
{
    public const string Dcm = "http://dicom.nema.org/resources/ontology/DCM";
    public const string AuditEventType = "http://terminology.hl7.org/CodeSystem/audit-event-type";
    public const string RestfulInteraction = "http://hl7.org/fhir/restful-interaction";
    public const string ParticipationType = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
    public const string ProvenanceParticipantType = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
    public const string ExtraSecurityRoleType = "http://terminology.hl7.org/CodeSystem/extra-security-role-type";
    public const string AuditEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
    public const string ObjectRole = "http://terminology.hl7.org/CodeSystem/object-role";
    public const string SecuritySourceType = "http://terminology.hl7.org/CodeSystem/security-source-type";
    public const string BalpEntityType = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType";
    public const string BalpUserAgentTypes = "https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes";
    public const string IheEventTypeCode = "urn:ihe:event-type-code";

    public const string ProfileBase = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/";
    public const string ProfileCreate = ProfileBase + "IHE.BasicAudit.Create";
    public const string ProfilePatientCreate = ProfileBase + "IHE.BasicAudit.PatientCreate";
    public const string ProfileRead = ProfileBase + "IHE.BasicAudit.Read";
    public const string ProfilePatientRead = ProfileBase + "IHE.BasicAudit.PatientRead";
    public const string ProfileUpdate = ProfileBase + "IHE.BasicAudit.Update";
    public const string ProfilePatientUpdate = ProfileBase + "IHE.BasicAudit.PatientUpdate";
    public const string ProfileDelete = ProfileBase + "IHE.BasicAudit.Delete";
    public const string ProfilePatientDelete = ProfileBase + "IHE.BasicAudit.PatientDelete";
    public const string ProfileQuery = ProfileBase + "IHE.BasicAudit.Query";
    public const string ProfilePatientQuery = ProfileBase + "IHE.BasicAudit.PatientQuery";
    public const string ProfileOAuthComprehensive = ProfileBase + "IHE.BasicAudit.OAUTHaccessTokenUse.Comprehensive";
    public const string ProfileIua71 = ProfileBase + "IHE.IUA.71";

    public static Coding RestType => new(AuditEventType, "rest", "Restful Operation");

    public static Coding DcmCoding(string code) => new(Dcm, code, DcmDisplay(code));

    public static CodeableConcept DcmConcept(string code) => new() { Coding = [DcmCoding(code)] };

    public static CodeableConcept Concept(string system, string code, string display) => new() { Coding = [new Coding(system, code, display)] };

    public static string DcmDisplay(string code) => code switch
    {
        "110150" => "Application",
        "110152" => "Destination Role ID",
        "110153" => "Source Role ID",
        "110110" => "Patient Record",
        "110113" => "Security Alert",
        "110114" => "User Authentication",
        "110122" => "Login",
        "110123" => "Logout",
        "110126" => "Node Authentication",
        "110132" => "Use of Restricted Function",
        _ => code,
    };

    public static Coding EntitySystemObject => new(AuditEntityType, "2", "System Object");

    public static Coding EntityPerson => new(AuditEntityType, "1", "Person");

    public static Coding RoleDomainResource => new(ObjectRole, "4", "Domain Resource");

    public static Coding RolePatient => new(ObjectRole, "1", "Patient");

    public static Coding RoleQuery => new(ObjectRole, "24", "Query");

    public static Coding RoleJob => new(ObjectRole, "20", "Job");

    public static Coding RoleSecurityResource => new(ObjectRole, "13", "Security Resource");

    public const string RequestIdDisplay = "transport specific unique identifier where http X-Request-Id is used";

    public static Coding RequestIdType => new(BalpEntityType, "XrequestId", RequestIdDisplay);

    public static Coding ApplicationServer => new(SecuritySourceType, "4", "Application Server");
}
