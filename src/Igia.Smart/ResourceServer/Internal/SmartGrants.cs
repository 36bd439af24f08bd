using Igia.Fhir.Search;
using Igia.Smart.Protocol;

namespace Igia.Smart.ResourceServer.Internal;

/// <summary>How far a grant reaches.</summary>
internal enum GrantReach
{
    /// <summary>Nothing granted.</summary>
    None,

    /// <summary>Only the launch patient's compartment (a <c>patient/</c> scope).</summary>
    Compartment,

    /// <summary>Every resource of the type (a <c>user/</c> or <c>system/</c> scope, or a patient scope on a shared type).</summary>
    Full,
}

/// <summary>What the token grants for one resource type and one permission.</summary>
/// <param name="Reach">How far it reaches.</param>
/// <param name="Constraints">The v2 <c>?param=</c> narrowings, OR-ed; null when some granting scope is unconstrained.</param>
/// <param name="ViaUser">True when a <c>user/</c> scope grants it (the user policy then applies).</param>
internal readonly record struct Grant(GrantReach Reach, IReadOnlyList<string>? Constraints, bool ViaUser)
{
    public static readonly Grant None = new(GrantReach.None, null, false);

    public bool Granted => Reach != GrantReach.None;
}

/// <summary>Turns SMART v1/v2 resource scopes into grants per resource type and permission letter (<c>c r u d s</c>).</summary>
internal static class SmartGrants
{
    /// <summary>The v2 letters a scope's permissions stand for (v1 <c>read</c> = rs, <c>write</c> = cud, <c>*</c> = cruds).</summary>
    public static string Letters(SmartScope scope) => scope.IsV2
        ? scope.Permissions ?? ""
        : scope.Permissions switch { "read" => "rs", "write" => "cud", "*" => "cruds", _ => "" };

    /// <summary>
    /// The best grant for <paramref name="resourceType"/> (or <c>*</c> for "every type") and <paramref name="permission"/>.
    /// Several scopes are not unioned: the single widest class wins (unconstrained full, unconstrained compartment, constrained
    /// full, constrained compartment), which may grant less than their union but never more.
    /// </summary>
    public static Grant For(SmartAccess access, string resourceType, char permission, bool patientScopesReachShared)
    {
        // An access is remembered with its token (SmartAccessCache): its grants are worked out once per type and permission.
        var key = (resourceType, permission, patientScopesReachShared);
        if (access.Grants.TryGetValue(key, out var known))
        {
            return known;
        }

        var grant = Compute(access, resourceType, permission, patientScopesReachShared);
        if (access.Grants.Count < 256)
        {
            access.Grants.TryAdd(key, grant);
        }

        return grant;
    }

    private static Grant Compute(SmartAccess access, string resourceType, char permission, bool patientScopesReachShared)
    {
        Grant best = Grant.None;
        List<string>? fullConstraints = null, compartmentConstraints = null;
        bool fullUnconstrained = false, compartmentUnconstrained = false, fullViaUserOnly = true, anyFull = false, anyCompartment = false;
        var typeInCompartment = resourceType == "*" || FhirCompartmentMembership.CanBeInCompartment("Patient", resourceType);
        foreach (var scope in access.Scopes)
        {
            if (scope.Kind != SmartScopeKind.Resource || (scope.ResourceType != "*" && scope.ResourceType != resourceType)
                || !Letters(scope).Contains(permission, StringComparison.Ordinal))
            {
                continue;
            }

            GrantReach reach;
            switch (scope.Context)
            {
                case "patient":
                    if (!typeInCompartment)
                    {
                        if (!patientScopesReachShared)
                        {
                            continue;
                        }

                        reach = GrantReach.Full;
                    }
                    else
                    {
                        if (access.Patient is null)
                        {
                            // A patient scope without a launch patient grants nothing (default deny).
                            continue;
                        }

                        reach = GrantReach.Compartment;
                    }

                    break;
                case "user" or "system":
                    reach = GrantReach.Full;
                    break;
                default:
                    continue;
            }

            if (reach == GrantReach.Full)
            {
                anyFull = true;
                if (scope.Context != "user")
                {
                    fullViaUserOnly = false;
                }

                if (scope.Query is null)
                {
                    fullUnconstrained = true;
                }
                else
                {
                    (fullConstraints ??= []).Add(scope.Query);
                }
            }
            else
            {
                anyCompartment = true;
                if (scope.Query is null)
                {
                    compartmentUnconstrained = true;
                }
                else
                {
                    (compartmentConstraints ??= []).Add(scope.Query);
                }
            }
        }

        if (fullUnconstrained)
        {
            best = new Grant(GrantReach.Full, null, UnconstrainedOnlyViaUser(access, resourceType, permission));
        }
        else if (compartmentUnconstrained)
        {
            best = new Grant(GrantReach.Compartment, null, false);
        }
        else if (anyFull)
        {
            best = new Grant(GrantReach.Full, fullConstraints, fullViaUserOnly);
        }
        else if (anyCompartment)
        {
            best = new Grant(GrantReach.Compartment, compartmentConstraints, false);
        }

        return best;
    }

    // True when no system/ (or shared-type patient/) scope grants the permission unconstrained, i.e. a user/ scope is what grants it.
    private static bool UnconstrainedOnlyViaUser(SmartAccess access, string resourceType, char permission)
    {
        foreach (var scope in access.Scopes)
        {
            if (scope.Kind == SmartScopeKind.Resource && scope.Context is "system" or "patient" && scope.Query is null
                && (scope.ResourceType == "*" || scope.ResourceType == resourceType) && Letters(scope).Contains(permission, StringComparison.Ordinal)
                && (scope.Context == "system" || !FhirCompartmentMembership.CanBeInCompartment("Patient", resourceType)))
            {
                return false;
            }
        }

        return true;
    }
}
