using System.Security.Claims;

namespace Igia.Smart.AuthorizationServer;

/// <summary>Checks user credentials for the login page. The default uses <see cref="SmartAuthorizationServerOptions.Users"/>.</summary>
public interface ISmartUserStore
{
    /// <summary>Returns the user when the credentials are right, otherwise null.</summary>
    ValueTask<SmartUser?> ValidateAsync(string username, string password, CancellationToken cancellationToken);

    /// <summary>Finds a user by login name (to check the user still exists at refresh), or null.</summary>
    ValueTask<SmartUser?> FindAsync(string username, CancellationToken cancellationToken);
}

/// <summary>One patient offered by the patient picker.</summary>
/// <param name="Id">The Patient's logical id.</param>
/// <param name="Display">What the picker shows (name, birth date, MRN).</param>
public sealed record SmartPatientChoice(string Id, string Display);

/// <summary>
/// Finds patients for the standalone-launch patient picker (<c>launch/patient</c>). The default searches Patients in the
/// Igia FHIR store through <c>IFhirInteractionExecutor</c>; replace it with <c>UsePatientPicker&lt;T&gt;()</c>.
/// </summary>
public interface ISmartPatientPicker
{
    /// <summary>Patients matching <paramref name="query"/> (a name fragment; empty lists the first page) that <paramref name="user"/> may pick.</summary>
    ValueTask<IReadOnlyList<SmartPatientChoice>> SearchAsync(string? query, ClaimsPrincipal user, CancellationToken cancellationToken);

    /// <summary>True when <paramref name="user"/> may pick the patient <paramref name="patientId"/> (checked when a choice is posted).</summary>
    ValueTask<bool> CanPickAsync(string patientId, ClaimsPrincipal user, CancellationToken cancellationToken);
}

/// <summary>The context an EHR binds to a <c>launch</c> value.</summary>
public sealed record SmartLaunchContext
{
    /// <summary>The patient's logical id, or null.</summary>
    public string? Patient { get; init; }

    /// <summary>The encounter's logical id, or null.</summary>
    public string? Encounter { get; init; }

    /// <summary>The login name of the user the launch is for; the authorizing user must be that user. Null: any logged-in user.</summary>
    public string? User { get; init; }

    /// <summary>Other FHIR context (SMART <c>fhirContext</c>): relative references such as <c>ImagingStudy/7</c>.</summary>
    public IReadOnlyList<string> FhirContext { get; init; } = [];

    /// <summary>The client the launch is for, or null for any client.</summary>
    public string? ClientId { get; init; }
}

/// <summary>Mints and resolves EHR <c>launch</c> values: random, short-lived, single use.</summary>
public interface ISmartLaunchContexts
{
    /// <summary>Mints a new <c>launch</c> value bound to <paramref name="context"/>.</summary>
    ValueTask<string> CreateAsync(SmartLaunchContext context, CancellationToken cancellationToken);

    /// <summary>Resolves and burns <paramref name="launch"/>; null when unknown, expired or already used.</summary>
    ValueTask<SmartLaunchContext?> TakeAsync(string launch, CancellationToken cancellationToken);
}

/// <summary>Patient choices made on a picker page, handed back to the authorization endpoint (single use, bound to the user).</summary>
public interface ISmartPatientSelections
{
    /// <summary>Records that <paramref name="username"/> picked <paramref name="patientId"/>; returns the value to add to the authorization request as <c>igia_pick</c>.</summary>
    ValueTask<string> CreateAsync(string username, string patientId, CancellationToken cancellationToken);

    /// <summary>Resolves and burns a selection; null when unknown, expired or made by another user.</summary>
    ValueTask<string?> TakeAsync(string selection, string username, CancellationToken cancellationToken);
}
