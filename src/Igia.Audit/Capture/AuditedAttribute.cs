using Hl7.Fhir.Model;

namespace Igia.Audit;

/// <summary>
/// Endpoint metadata that opts a non-FHIR ASP.NET Core endpoint that touches PHI into the audit trail: every request to it
/// is recorded (DICOM 110110 Patient Record, with its outcome), and in guaranteed mode its response is held until the
/// record is durable. Put it on a controller or action, or add it with <c>.WithAudit()</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class AuditedAttribute : Attribute
{
    /// <summary>The route parameter that holds the patient's logical id (e.g. <c>patientId</c>), if any.</summary>
    public string? PatientRouteParameter { get; init; }

    /// <summary>The action recorded; by default derived from the HTTP method (GET read, POST create, PUT/PATCH update, DELETE delete).</summary>
    public AuditEvent.AuditEventAction? Action { get; init; }
}
