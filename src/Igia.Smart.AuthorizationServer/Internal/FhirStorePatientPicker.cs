using System.Globalization;
using System.Net;
using System.Security.Claims;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Claim = System.Security.Claims.Claim;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>
/// Default <see cref="ISmartPatientPicker"/>: searches Patients in the Igia FHIR store in process (through
/// <see cref="IFhirInteractionExecutor"/>, so every filter runs), as the authorization server itself (a system principal
/// allowed <c>system/Patient.rs</c>). A user whose <c>fhirUser</c> is a Patient only ever sees themselves.
/// </summary>
internal sealed class FhirStorePatientPicker(IFhirInteractionExecutor executor, Microsoft.Extensions.Options.IOptions<SmartAuthorizationServerOptions> options) : ISmartPatientPicker
{
    private ClaimsPrincipal Caller => options.Value.PatientPickerPrincipal ?? SystemPrincipal;

    internal static readonly ClaimsPrincipal SystemPrincipal = new(new ClaimsIdentity(
        [new Claim("sub", "igia-smart-authorization-server"), new Claim("client_id", "igia-smart-authorization-server"), new Claim("scope", "system/Patient.rs")],
        authenticationType: "Igia.Smart.AuthorizationServer.System"));

    public async ValueTask<IReadOnlyList<SmartPatientChoice>> SearchAsync(string? query, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var own = OwnPatient(user);
        var parameters = new List<KeyValuePair<string, string>> { new("_count", "20"), new("_sort", "family") };
        if (own is not null)
        {
            parameters.Add(new("_id", own));
        }
        else if (!string.IsNullOrWhiteSpace(query))
        {
            parameters.Add(new("name", query.Trim()));
        }

        var response = await executor.ExecuteAsync(new FhirInteraction
        {
            Kind = FhirInteractionKind.Search,
            ResourceType = "Patient",
            Method = "GET",
            RelativeUrl = "Patient",
            Parameters = parameters,
            User = Caller,
            CancellationToken = cancellationToken,
        }).ConfigureAwait(false);
        if (!response.IsSuccess || response.Resource is not Bundle bundle)
        {
            return [];
        }

        return bundle.Entry.Select(e => e.Resource).OfType<Patient>().Select(p => new SmartPatientChoice(p.Id ?? "", Display(p))).ToList();
    }

    public async ValueTask<bool> CanPickAsync(string patientId, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var own = OwnPatient(user);
        if (own is not null)
        {
            return string.Equals(own, patientId, StringComparison.Ordinal);
        }

        var response = await executor.ExecuteAsync(new FhirInteraction
        {
            Kind = FhirInteractionKind.Read,
            ResourceType = "Patient",
            Id = patientId,
            Method = "GET",
            RelativeUrl = "Patient/" + patientId,
            User = Caller,
            CancellationToken = cancellationToken,
        }).ConfigureAwait(false);
        return response.StatusCode == HttpStatusCode.OK;
    }

    /// <summary>The patient id of a user whose fhirUser is a Patient, else null.</summary>
    internal static string? OwnPatient(ClaimsPrincipal user)
    {
        var fhirUser = user.FindFirst(SmartAuthzDefaults.FhirUserClaim)?.Value;
        if (fhirUser is null)
        {
            return null;
        }

        var parts = fhirUser.TrimEnd('/').Split('/');
        return parts.Length >= 2 && parts[^2] == "Patient" ? parts[^1] : null;
    }

    private static string Display(Patient p)
    {
        var name = p.Name.FirstOrDefault();
        var text = name is null ? p.Id : name.Text ?? string.Join(' ', name.Given.Append(name.Family).Where(s => !string.IsNullOrEmpty(s)));
        var mrn = p.Identifier.FirstOrDefault()?.Value;
        return string.Create(CultureInfo.InvariantCulture, $"{text} — born {p.BirthDate ?? "?"}{(mrn is null ? "" : $" — {mrn}")}");
    }
}
