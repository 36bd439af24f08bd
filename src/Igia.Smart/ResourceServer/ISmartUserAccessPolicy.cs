using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;

namespace Igia.Smart.ResourceServer;

/// <summary>
/// The application's own policy for <c>user/</c> scopes: a <c>user/</c> scope says what the app may do on behalf of the
/// user, and the user (its <c>fhirUser</c>) may be allowed less. Called for every interaction that a <c>user/</c> scope
/// grants, and for every resource such an interaction returns. Register one with
/// <c>AddIgiaSmartResourceServer(...).UseUserAccessPolicy&lt;T&gt;()</c>; the default allows what the scopes allow.
/// </summary>
public interface ISmartUserAccessPolicy
{
    /// <summary>
    /// Whether the user may perform <paramref name="interaction"/> (permission <paramref name="permission"/>: one of
    /// <c>c r u d s</c>) on <paramref name="resourceType"/>. False answers 403.
    /// </summary>
    /// <param name="access">The token's access (scopes, <c>fhirUser</c>).</param>
    /// <param name="interaction">The interaction.</param>
    /// <param name="resourceType">The resource type the permission is for.</param>
    /// <param name="permission">The SMART v2 permission letter.</param>
    ValueTask<bool> AllowsAsync(SmartAccess access, FhirInteraction interaction, string resourceType, char permission);

    /// <summary>Whether the user may see <paramref name="resource"/> in a response (read, search match or include, history, operation output). False removes it (a read answers 404).</summary>
    /// <param name="access">The token's access.</param>
    /// <param name="resource">The resource about to be returned.</param>
    bool CanSee(SmartAccess access, Resource resource) => true;
}

/// <summary>The default <see cref="ISmartUserAccessPolicy"/>: a <c>user/</c> scope grants what it says.</summary>
internal sealed class ScopeOnlyUserAccessPolicy : ISmartUserAccessPolicy
{
    public ValueTask<bool> AllowsAsync(SmartAccess access, FhirInteraction interaction, string resourceType, char permission) => ValueTask.FromResult(true);
}
