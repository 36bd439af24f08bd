using Hl7.Fhir.Model;
using Igia.Audit;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Opts endpoints into the audit trail.</summary>
public static class AuditEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Audits every request to these endpoints (see <see cref="AuditedAttribute"/>). <paramref name="patientRouteParameter"/>
    /// names the route value holding the patient's id, if any.
    /// </summary>
    public static TBuilder WithAudit<TBuilder>(this TBuilder builder, string? patientRouteParameter = null, AuditEvent.AuditEventAction? action = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithMetadata(new AuditedAttribute { PatientRouteParameter = patientRouteParameter, Action = action });
    }
}
