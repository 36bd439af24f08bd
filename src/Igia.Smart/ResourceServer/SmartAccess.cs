using System.Security.Claims;
using Igia.Smart.Protocol;

namespace Igia.Smart.ResourceServer;

/// <summary>
/// What a validated access token grants, as the resource server reads it: its resource scopes, the launch patient, the
/// user's FHIR resource and the client. Built once per request from the authenticated principal.
/// </summary>
public sealed class SmartAccess
{
    /// <summary>Creates the access from its parts.</summary>
    /// <param name="scopes">The granted scopes (non-resource scopes are kept but grant no data).</param>
    /// <param name="patient">The launch patient's id, if any.</param>
    /// <param name="fhirUser">The user's FHIR resource (e.g. <c>Practitioner/123</c> or an absolute URL), if any.</param>
    /// <param name="clientId">The client the token was issued to, if known.</param>
    /// <param name="principal">The authenticated principal.</param>
    public SmartAccess(IReadOnlyList<SmartScope> scopes, string? patient, string? fhirUser, string? clientId, ClaimsPrincipal principal)
    {
        Scopes = scopes;
        Patient = patient;
        FhirUser = fhirUser;
        ClientId = clientId;
        Principal = principal;
    }

    /// <summary>The granted scopes.</summary>
    public IReadOnlyList<SmartScope> Scopes { get; }

    /// <summary>The launch patient's logical id (the <c>patient</c> claim), or null.</summary>
    public string? Patient { get; }

    /// <summary>The user's FHIR resource (the <c>fhirUser</c> claim), or null.</summary>
    public string? FhirUser { get; }

    /// <summary>The client id (<c>client_id</c> or <c>azp</c>), or null.</summary>
    public string? ClientId { get; }

    /// <summary>The authenticated principal the access was read from.</summary>
    public ClaimsPrincipal Principal { get; }

    /// <summary>Grants already worked out for this token, by (resource type, permission, patient scopes reach shared types).</summary>
    internal System.Collections.Concurrent.ConcurrentDictionary<(string Type, char Permission, bool Shared), Internal.Grant> Grants { get; } = new();

    /// <summary>Reads the access of <paramref name="principal"/>: scopes from <c>scope</c> (space-separated, or repeated) or <c>scp</c>.</summary>
    /// <param name="principal">An authenticated principal.</param>
    /// <param name="patientClaim">The claim type of the patient id.</param>
    /// <param name="fhirUserClaim">The claim type of the FHIR user.</param>
    public static SmartAccess FromPrincipal(ClaimsPrincipal principal, string patientClaim = "patient", string fhirUserClaim = "fhirUser")
    {
        ArgumentNullException.ThrowIfNull(principal);
        var values = new List<string>();
        foreach (var claim in principal.Claims)
        {
            if (claim.Type is "scope" or "scp" or "http://schemas.microsoft.com/identity/claims/scope")
            {
                values.AddRange(claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
        }

        var scopes = SmartScope.ParseGranted(string.Join(' ', values));
        var patient = principal.FindFirst(patientClaim)?.Value;
        var fhirUser = principal.FindFirst(fhirUserClaim)?.Value;
        var client = principal.FindFirst("client_id")?.Value ?? principal.FindFirst("azp")?.Value;
        return new SmartAccess(scopes, string.IsNullOrEmpty(patient) ? null : patient, string.IsNullOrEmpty(fhirUser) ? null : fhirUser, client, principal);
    }
}
