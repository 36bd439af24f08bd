using System.Net;
using System.Security.Claims;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Search;
using Igia.Fhir.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Smart.ResourceServer.Internal;

/// <summary>
/// Enforces SMART scopes on every FHIR interaction (each batch/transaction entry and each interaction an operation runs
/// included). Default deny: an interaction no scope grants is refused. <c>patient/</c> scopes confine reads, searches,
/// history, writes and operations to the launch patient's compartment; results (search matches, <c>_include</c>d and
/// <c>_revinclude</c>d resources, history entries, operation output) are checked one by one and anything outside the grant
/// is removed. Out-of-compartment reads answer 404, like resources that do not exist, so a token cannot probe for them.
/// </summary>
internal sealed partial class SmartAuthorizationFilter(
    IOptions<SmartResourceServerOptions> options,
    FhirCompartmentMembership compartments,
    IFhirStore store,
    ISmartUserAccessPolicy userPolicy,
    SmartAccessCache accessCache,
    IServiceProvider services,
    ILogger<SmartAuthorizationFilter> logger) : IFhirInteractionFilter
{
    private const string Patient = "Patient";
    private const string PatientParameter = "patient";
    private static readonly object AccessKey = new();
    private static readonly object NestedCheckKey = new();
    private readonly SmartResourceServerOptions _options = options.Value;

    public int Order => FhirFilterOrder.Authorization;

    public async ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next)
    {
        if (interaction.Kind == FhirInteractionKind.Capabilities || interaction.Items.ContainsKey(NestedCheckKey))
        {
            // The CapabilityStatement is public (SMART discovery needs it); nested checks are this filter's own searches.
            return await next(interaction);
        }

        var access = await AccessAsync(interaction);
        if (access is null)
        {
            return Unauthorized(interaction);
        }

        try
        {
            return interaction.Kind switch
            {
                FhirInteractionKind.Read or FhirInteractionKind.VRead => await ReadAsync(interaction, next, access),
                FhirInteractionKind.Search => await SearchAsync(interaction, next, access),
                FhirInteractionKind.History => await HistoryAsync(interaction, next, access),
                FhirInteractionKind.Create => await CreateAsync(interaction, next, access),
                FhirInteractionKind.Update or FhirInteractionKind.Patch or FhirInteractionKind.Delete => await ChangeAsync(interaction, next, access),
                FhirInteractionKind.Operation => await OperationAsync(interaction, next, access),
                FhirInteractionKind.Batch => await next(interaction), // every entry comes back through this filter
                FhirInteractionKind.Transaction => await TransactionAsync(interaction, next, access),
                _ => Forbidden(interaction, "This interaction is not available to SMART access tokens."),
            };
        }
        catch (Denied denied)
        {
            return denied.Response;
        }
    }

    // ---- access ---------------------------------------------------------------------------------------------

    private async ValueTask<SmartAccess?> AccessAsync(FhirInteraction interaction)
    {
        var root = interaction;
        while (root.Parent is not null)
        {
            root = root.Parent;
        }

        // Remembered on the top-level interaction, which the entries of a batch share (not in HttpContext.Items, which a
        // request would allocate for it); an interaction an operation runs without Parent finds it in SmartAccessCache.
        if (root.Items.TryGetValue(AccessKey, out var cached) && cached is SmartAccess known)
        {
            return known;
        }

        var http = root.HttpContext ?? interaction.HttpContext;

        ClaimsPrincipal? principal = IsOurs(root.User) ? root.User : IsOurs(interaction.User) ? interaction.User : null;
        // The whole Authorization header is the cache key (a single header value is the request's own string: no copy).
        var header = http is null ? null : http.Request.Headers.Authorization.ToString();
        SmartAccess? access = null;
        string? token = null;
        if (principal is null && header is { Length: > 7 })
        {
            // An app sends the same token on every request: its access is remembered briefly (see SmartAccessCache).
            access = accessCache.Find(header);
            if (access is null && (token = SmartTokenShape.BearerToken(http!.Request)) is not null)
            {
                var result = await http!.AuthenticateAsync(SmartResourceServerDefaults.AuthenticationScheme);
                if (result.Succeeded && IsOurs(result.Principal))
                {
                    principal = result.Principal;
                }
            }
        }

        if (access is null && principal is not null)
        {
            access = SmartAccess.FromPrincipal(principal, _options.PatientClaim, _options.FhirUserClaim);
            if (token is not null)
            {
                accessCache.Remember(header!, SmartTokenShape.LooksLikeJwt(token), access);
            }
        }

        if (access is not null)
        {
            root.Items[AccessKey] = access;
        }

        return access;
    }

    private static bool IsOurs(ClaimsPrincipal? principal)
    {
        if (principal is null)
        {
            return false;
        }

        foreach (var identity in principal.Identities)
        {
            if (identity.IsAuthenticated && identity.AuthenticationType == SmartResourceServerDefaults.AuthenticationScheme)
            {
                return true;
            }
        }

        return false;
    }

    // ---- read / vread ---------------------------------------------------------------------------------------

    private async ValueTask<FhirResponse> ReadAsync(FhirInteraction interaction, FhirInteractionDelegate next, SmartAccess access)
    {
        var type = interaction.ResourceType!;
        var grant = await RequireAsync(interaction, access, type, 'r');
        var confined = grant.Reach == GrantReach.Compartment && FhirCompartmentMembership.CanBeInCompartment(Patient, type);
        if (confined && type == Patient && interaction.Id != access.Patient)
        {
            return NotFound(type, interaction.Id!);
        }

        var response = await next(interaction);
        if (confined && type != Patient)
        {
            if (response.IsSuccess && response.StatusCode != HttpStatusCode.NotModified)
            {
                // The body is checked as it goes back (parsed for the check only; the stored JSON is still what is sent).
                if (!compartments.IsInCompartment(response, Patient, access.Patient!))
                {
                    return NotFound(type, interaction.Id!);
                }
            }
            else if (response.StatusCode is HttpStatusCode.NotModified or HttpStatusCode.Gone)
            {
                // No body to judge (304 to a conditional read, 410 for a deletion): judge the stored resource instead.
                await RequireInCompartmentAsync(interaction, access, type, interaction.Id!, interaction.Kind == FhirInteractionKind.VRead ? interaction.VersionId : null);
            }
        }

        if (!response.IsSuccess || response.StatusCode == HttpStatusCode.NotModified)
        {
            return response;
        }

        if (grant.Constraints is not null && !(await MatchesConstraintsAsync(interaction, type, [interaction.Id!], grant.Constraints, access)).Contains(interaction.Id!))
        {
            return NotFound(type, interaction.Id!);
        }

        if (grant.ViaUser && response.Resource is { } seen && !userPolicy.CanSee(access, seen))
        {
            return NotFound(type, interaction.Id!);
        }

        return response;
    }

    /// <summary>
    /// Checks, before the interaction runs, that the stored resource (the given version, or the current one) is in the
    /// patient's compartment; answers 404 when it is not. A resource the store does not have passes (the handler answers
    /// 404, or a write creates it and its body is checked).
    /// </summary>
    private async ValueTask RequireInCompartmentAsync(FhirInteraction interaction, SmartAccess access, string type, string id, string? versionId)
    {
        if (!FhirCompartmentMembership.CanBeInCompartment(Patient, type))
        {
            return;
        }

        if (type == Patient)
        {
            if (id != access.Patient)
            {
                throw new Denied(NotFound(type, id));
            }

            return;
        }

        int? version = int.TryParse(versionId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null;
        if (versionId is not null && version is null)
        {
            return; // not a version this server has: the handler answers 404
        }

        await using var session = await store.OpenSessionAsync(FhirSessionMode.Read, interaction.CancellationToken);
        var stored = await session.ReadAsync(type, id, version, interaction.CancellationToken);
        if (stored is null)
        {
            return;
        }

        // A deletion marker has no content: judge the resource by the version before it.
        while (stored is { Deleted: true, VersionId: > 1 })
        {
            stored = await session.ReadAsync(type, id, stored.VersionId - 1, interaction.CancellationToken);
        }

        if (stored?.Json is null || !compartments.IsInCompartment(stored, Patient, access.Patient!))
        {
            throw new Denied(NotFound(type, id));
        }
    }

    // ---- search ---------------------------------------------------------------------------------------------

    private async ValueTask<FhirResponse> SearchAsync(FhirInteraction interaction, FhirInteractionDelegate next, SmartAccess access)
    {
        Grant grant;
        if (interaction.ResourceType is { } type)
        {
            grant = await RequireAsync(interaction, access, type, 's');
        }
        else if (interaction.CompartmentType is null && interaction.GetParameter("_type") is { Length: > 0 } types)
        {
            // A system search over named types: each must be searchable; the narrowest grant applies to all.
            grant = new Grant(GrantReach.Full, null, false);
            foreach (var t in types.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var g = await RequireAsync(interaction, access, t, 's');
                if (g.Constraints is not null)
                {
                    throw new Denied(Forbidden(interaction, "A scope narrowed with '?' cannot be used in a search over several types."));
                }

                if (g.Reach == GrantReach.Compartment)
                {
                    grant = g;
                }
            }
        }
        else
        {
            grant = await RequireAsync(interaction, access, "*", 's');
        }

        var confinedByParameter = false;
        if (interaction.CompartmentType is { } compartmentType && grant.Reach == GrantReach.Compartment)
        {
            if (compartmentType != Patient || interaction.CompartmentId != access.Patient)
            {
                return Forbidden(interaction, "The token's patient scopes allow searches in the patient's own compartment only.");
            }
        }
        else if (grant.Reach == GrantReach.Compartment && (interaction.ResourceType is null || FhirCompartmentMembership.CanBeInCompartment(Patient, interaction.ResourceType)))
        {
            if (ConfinedByParameter(interaction, access))
            {
                confinedByParameter = true;
            }
            else
            {
                // Confine the search itself to the patient's compartment, so that matches, totals and paging hold nothing else.
                interaction.CompartmentType = Patient;
                interaction.CompartmentId = access.Patient;
            }
        }

        if (grant.Constraints is not null)
        {
            NarrowByConstraints(interaction, grant.Constraints);
        }

        var confinedByQuery = confinedByParameter || (interaction.CompartmentType == Patient && interaction.CompartmentId == access.Patient);
        var response = await next(interaction);
        if (response.IsSuccess && !NothingToRedact(interaction, grant, confinedByQuery) && response.Resource is Bundle bundle)
        {
            await RedactAsync(interaction, bundle, access);
        }

        return response;
    }

    /// <summary>
    /// True when the search's own <c>patient=&lt;the token's patient&gt;</c> already confines it to the token's patient compartment
    /// (see <see cref="FhirCompartmentMembership.ParameterConfinesToCompartment"/>): search parameters are AND-ed, so adding the
    /// compartment restriction would change nothing but the cost of the store's query. A page request (<c>_getpages</c>) of a
    /// type-level search gets that parameter added instead of the compartment: the store then serves the page only if the
    /// original search had exactly that parameter (so it was confined the same way), and answers 400 otherwise.
    /// </summary>
    private bool ConfinedByParameter(FhirInteraction interaction, SmartAccess access)
    {
        if (interaction.ResourceType is not { } type || type == Patient || interaction.CompartmentType is not null
            || !compartments.ParameterConfinesToCompartment(type, PatientParameter, access.Patient!, Patient, access.Patient!))
        {
            return false;
        }

        var page = false;
        foreach (var (name, value) in interaction.Parameters)
        {
            if (name == PatientParameter && value == access.Patient)
            {
                return true;
            }

            page |= name == "_getpages";
        }

        if (page)
        {
            interaction.Parameters.Add(new(PatientParameter, access.Patient!));
        }

        return page;
    }

    /// <summary>
    /// True when every entry of the result is visible by construction, so the bundle need not be parsed to be checked: a search
    /// of one type other than Patient, without <c>_include</c>/<c>_revinclude</c>/<c>_contained</c> (so only matches come back), under an unconstrained
    /// grant that needs no user policy, and either confined to the token's patient compartment by the query itself (the store
    /// decides membership by the same CompartmentDefinition links as <see cref="FhirCompartmentMembership"/>) or granted in full.
    /// </summary>
    private static bool NothingToRedact(FhirInteraction interaction, Grant grant, bool confinedByQuery)
    {
        // Patient itself is excluded: the store's compartment search of Patient also matches Patients whose link points to the
        // patient (R4 CompartmentDefinition), which a patient/ token does not see (docs/smart-server.md), so those are checked.
        if (interaction.ResourceType is null or Patient || grant.Constraints is not null || grant.ViaUser
            || !(grant.Reach == GrantReach.Full || (grant.Reach == GrantReach.Compartment && confinedByQuery)))
        {
            return false;
        }

        foreach (var (name, _) in interaction.Parameters)
        {
            // A page request (_getpages) does not name the original search's _include/_revinclude, but its page holds what they found.
            if ((name == "_getpages" && grant.Reach == GrantReach.Compartment) || name.StartsWith("_include", StringComparison.Ordinal) || name.StartsWith("_revinclude", StringComparison.Ordinal)
                || name.StartsWith("_contained", StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static void NarrowByConstraints(FhirInteraction interaction, IReadOnlyList<string> constraints)
    {
        var parsed = constraints.Select(ParseQuery).ToList();
        if (parsed.Count == 1)
        {
            interaction.Parameters.AddRange(parsed[0]);
            return;
        }

        // Several narrowed scopes are alternatives: expressible as one search only when each names the same single parameter.
        if (parsed.All(p => p.Count == 1) && parsed.Select(p => p[0].Key).Distinct(StringComparer.Ordinal).Count() == 1)
        {
            interaction.Parameters.Add(new(parsed[0][0].Key, string.Join(',', parsed.Select(p => p[0].Value))));
            return;
        }

        throw new Denied(Forbidden(interaction, "The token's narrowed scopes for this type cannot be combined into one search; ask for a single narrowed scope."));
    }

    private static List<KeyValuePair<string, string>> ParseQuery(string query)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            list.Add(eq < 0
                ? new(Uri.UnescapeDataString(pair), "")
                : new(Uri.UnescapeDataString(pair[..eq]), Uri.UnescapeDataString(pair[(eq + 1)..])));
        }

        return list;
    }

    // ---- history --------------------------------------------------------------------------------------------

    private async ValueTask<FhirResponse> HistoryAsync(FhirInteraction interaction, FhirInteractionDelegate next, SmartAccess access)
    {
        var type = interaction.ResourceType ?? "*";
        var grant = await RequireAsync(interaction, access, type, 'r');
        if (interaction.Id is null)
        {
            // Type and system history list every version of everything: they need search as well as read.
            var search = await RequireAsync(interaction, access, type, 's');
            if (search.Reach == GrantReach.Compartment)
            {
                grant = search;
            }
        }

        if (grant.Constraints is not null && interaction.Id is null)
        {
            return Forbidden(interaction, "Type and system history are not available to scopes narrowed with '?'.");
        }

        if (grant.Reach == GrantReach.Compartment && interaction.Id is not null)
        {
            await RequireInCompartmentAsync(interaction, access, type, interaction.Id, null);
        }

        if (grant.Constraints is not null && !(await MatchesConstraintsAsync(interaction, type, [interaction.Id!], grant.Constraints, access)).Contains(interaction.Id!))
        {
            return NotFound(type, interaction.Id!);
        }

        var response = await next(interaction);
        if (response.IsSuccess && response.Resource is Bundle bundle)
        {
            // Every version is checked on its own: an earlier version may have belonged to someone else.
            await RedactAsync(interaction, bundle, access);
        }

        return response;
    }

    // ---- writes ---------------------------------------------------------------------------------------------

    private async ValueTask<FhirResponse> CreateAsync(FhirInteraction interaction, FhirInteractionDelegate next, SmartAccess access)
    {
        var type = interaction.ResourceType!;
        var grant = await RequireAsync(interaction, access, type, 'c');
        RequireUnconstrainedForWrite(interaction, grant);
        if (interaction.Headers.IfNoneExist is { } ifNoneExist)
        {
            var search = await RequireAsync(interaction, access, type, 's');
            if (search.Reach == GrantReach.Compartment || grant.Reach == GrantReach.Compartment)
            {
                interaction.Headers = interaction.Headers with { IfNoneExist = ConfineCriteria(ifNoneExist, type, access) };
            }
        }

        if (grant.Reach == GrantReach.Compartment)
        {
            RequireBodyInCompartment(interaction, access, type, creating: true);
        }

        var response = await next(interaction);
        return await CheckReturnedAsync(interaction, response, access);
    }

    private async ValueTask<FhirResponse> ChangeAsync(FhirInteraction interaction, FhirInteractionDelegate next, SmartAccess access)
    {
        var type = interaction.ResourceType!;
        var permission = interaction.Kind == FhirInteractionKind.Delete ? 'd' : 'u';
        var grant = await RequireAsync(interaction, access, type, permission);
        RequireUnconstrainedForWrite(interaction, grant);
        if (interaction.IsConditional)
        {
            var search = await RequireAsync(interaction, access, type, 's');
            if (grant.Reach == GrantReach.Compartment || search.Reach == GrantReach.Compartment)
            {
                // The criteria may only match resources in the patient's compartment.
                var confining = ConfiningParameter(type, access);
                interaction.Parameters.Add(confining);
            }
        }
        else
        {
            if (grant.Reach == GrantReach.Compartment)
            {
                await RequireInCompartmentAsync(interaction, access, type, interaction.Id!, null);
            }

            if (interaction.Kind == FhirInteractionKind.Update && !await ExistsAsync(interaction, type, interaction.Id!))
            {
                // Update-as-create creates: it needs the create permission as well (SMART v2).
                var create = await RequireAsync(interaction, access, type, 'c');
                RequireUnconstrainedForWrite(interaction, create);
                if (create.Reach == GrantReach.Compartment)
                {
                    grant = create;
                }
            }
        }

        if (grant.Reach == GrantReach.Compartment)
        {
            switch (interaction.Kind)
            {
                case FhirInteractionKind.Update:
                    RequireBodyInCompartment(interaction, access, type, creating: false);
                    break;
                case FhirInteractionKind.Patch when FhirCompartmentMembership.CanBeInCompartment(Patient, type):
                    // The patched result is only known inside the handler's write session: PatientPatchValidator checks it
                    // there, before it is stored (the current version was checked above, or the criteria confined).
                    interaction.Items[PatientPatchValidator.PatientKey] = access.Patient;
                    break;
            }
        }

        var response = await next(interaction);
        return await CheckReturnedAsync(interaction, response, access);
    }

    private async ValueTask<bool> ExistsAsync(FhirInteraction interaction, string type, string id)
    {
        await using var session = await store.OpenSessionAsync(FhirSessionMode.Read, interaction.CancellationToken);
        return await session.ReadAsync(type, id, null, interaction.CancellationToken) is { Deleted: false };
    }

    private static void RequireUnconstrainedForWrite(FhirInteraction interaction, Grant grant)
    {
        if (grant.Constraints is not null)
        {
            throw new Denied(Forbidden(interaction, "Scopes narrowed with '?' grant reads and searches only; writing needs an un-narrowed scope."));
        }
    }

    private void RequireBodyInCompartment(FhirInteraction interaction, SmartAccess access, string type, bool creating)
    {
        if (!FhirCompartmentMembership.CanBeInCompartment(Patient, type) || interaction.Resource is not { } body || body.TypeName != type)
        {
            return; // the handler refuses a missing or mismatched body
        }

        if (type == Patient)
        {
            // A patient token may update its own Patient resource, never create another one.
            if (creating || (interaction.Id ?? body.Id) != access.Patient)
            {
                throw new Denied(Forbidden(interaction, "Patient scopes allow writing the token's own Patient resource only."));
            }

            return;
        }

        if (!compartments.IsInCompartment(body, Patient, access.Patient!))
        {
            throw new Denied(Forbidden(interaction, $"The {type} written is not in the compartment of the token's patient."));
        }
    }

    private static KeyValuePair<string, string> ConfiningParameter(string type, SmartAccess access)
    {
        if (type == Patient)
        {
            return new("_id", access.Patient!);
        }

        var links = FhirCompartmentMembership.LinkParameters(Patient, type) ?? [];
        var code = links.Contains("patient") ? "patient" : links.Contains("subject") ? "subject" : links.FirstOrDefault(l => l != "{def}")
            ?? throw new InvalidOperationException("A type in the Patient compartment has a linking parameter.");
        return new(code, $"{Patient}/{access.Patient}");
    }

    private static string ConfineCriteria(string criteria, string type, SmartAccess access)
    {
        var (name, value) = ConfiningParameter(type, access);
        return criteria.TrimStart('?') + "&" + Uri.EscapeDataString(name) + "=" + Uri.EscapeDataString(value);
    }

    /// <summary>A write's returned resource (Prefer: return=representation, or the match of If-None-Exist) is withheld when the token may not read it.</summary>
    private async ValueTask<FhirResponse> CheckReturnedAsync(FhirInteraction interaction, FhirResponse response, SmartAccess access)
    {
        if (!response.IsSuccess || response.Resource is not { } resource || resource is OperationOutcome)
        {
            return response;
        }

        if (!await MaySeeAsync(interaction, resource, access))
        {
            // The write stands (a token may write what it may not read); only the body it may not see is withheld.
            response.Resource = null;
        }

        return response;
    }

    // ---- transactions ---------------------------------------------------------------------------------------

    /// <summary>
    /// Every entry of a transaction comes back through this filter, but the transaction resolves conditional references,
    /// <c>ifNoneExist</c> and conditional update URLs with searches of its own before that. Those searches are only allowed
    /// where the token could search without restriction; otherwise they would tell a patient-scoped token whether another
    /// patient's data matches (found, not found, several).
    /// </summary>
    private async ValueTask<FhirResponse> TransactionAsync(FhirInteraction interaction, FhirInteractionDelegate next, SmartAccess access)
    {
        if (interaction.Resource is Bundle bundle)
        {
            foreach (var entry in bundle.Entry)
            {
                var url = entry.Request?.Url;
                var conditionalUrl = url is not null && url.Contains('?', StringComparison.Ordinal) && entry.Request?.Method is Bundle.HTTPVerb.PUT or Bundle.HTTPVerb.PATCH or Bundle.HTTPVerb.DELETE;
                if ((conditionalUrl || entry.Request?.IfNoneExist is not null) && url is not null)
                {
                    RequireUnrestrictedSearch(interaction, access, url.Split('?')[0].Split('/')[0]);
                }

                if (entry.Resource is { } resource)
                {
                    foreach (var reference in References(resource))
                    {
                        if (reference.Reference is { } r && r.Contains('?', StringComparison.Ordinal) && !r.StartsWith('#') && !r.StartsWith("urn:", StringComparison.OrdinalIgnoreCase))
                        {
                            RequireUnrestrictedSearch(interaction, access, r.Split('?')[0].Split('/')[^1]);
                        }
                    }
                }
            }
        }

        return await next(interaction);
    }

    /// <summary>Every Reference in a resource, contained resources included (the same walk as the transaction's reference rewriter).</summary>
    private static IEnumerable<ResourceReference> References(Base node)
    {
        foreach (var (_, value) in node.EnumerateElements())
        {
            foreach (var child in value is IEnumerable<Base> list ? list : value is Base one ? [one] : [])
            {
                if (child is ResourceReference reference)
                {
                    yield return reference;
                }

                if (child is not PrimitiveType)
                {
                    foreach (var r in References(child))
                    {
                        yield return r;
                    }
                }
            }
        }
    }

    private void RequireUnrestrictedSearch(FhirInteraction interaction, SmartAccess access, string type)
    {
        var grant = SmartGrants.For(access, type, 's', _options.PatientScopesReachSharedResources);
        if (grant.Reach != GrantReach.Full || grant.Constraints is not null || grant.ViaUser)
        {
            throw new Denied(Forbidden(interaction, $"A transaction resolves conditional references, ifNoneExist and conditional URLs on {type} before each entry is authorized; that needs an unrestricted search scope on {type}."));
        }
    }

    // ---- operations -----------------------------------------------------------------------------------------

    private async ValueTask<FhirResponse> OperationAsync(FhirInteraction interaction, FhirInteractionDelegate next, SmartAccess access)
    {
        var type = interaction.ResourceType ?? "*";
        var grant = await RequireAsync(interaction, access, type, 'r');
        if (grant.Reach == GrantReach.Compartment && interaction.ResourceType is not null && interaction.Id is not null)
        {
            await RequireInCompartmentAsync(interaction, access, type, interaction.Id, null);
        }

        if (grant.Constraints is not null && interaction.Id is not null
            && !(await MatchesConstraintsAsync(interaction, type, [interaction.Id], grant.Constraints, access)).Contains(interaction.Id))
        {
            return NotFound(type, interaction.Id);
        }

        // Whatever the operation does inside runs through this filter again; its output is checked here as well.
        var response = await next(interaction);
        if (!response.IsSuccess)
        {
            return response;
        }

        switch (response.Resource)
        {
            case Bundle bundle:
                await RedactAsync(interaction, bundle, access);
                break;
            case Parameters parameters:
                foreach (var parameter in parameters.Parameter.ToList())
                {
                    if (parameter.Resource is Bundle inner)
                    {
                        await RedactAsync(interaction, inner, access);
                    }
                    else if (parameter.Resource is { } r and not OperationOutcome && !await MaySeeAsync(interaction, r, access))
                    {
                        parameters.Parameter.Remove(parameter);
                    }
                }

                break;
            case OperationOutcome or null:
                break;
            case var single when !await MaySeeAsync(interaction, single, access):
                return NotFound(single.TypeName, single.Id ?? "");
        }

        return response;
    }

    // ---- results --------------------------------------------------------------------------------------------

    /// <summary>Removes every entry the token may not see: wrong type, outside the patient's compartment, outside a narrowing, or refused by the user policy.</summary>
    private async ValueTask RedactAsync(FhirInteraction interaction, Bundle bundle, SmartAccess access)
    {
        var removedMatch = false;
        var kept = new List<Bundle.EntryComponent>(bundle.Entry.Count);
        Dictionary<string, (Grant Grant, List<Bundle.EntryComponent> Entries)>? constrained = null;
        foreach (var entry in bundle.Entry)
        {
            if (entry.Resource is OperationOutcome && entry.Search?.Mode == Bundle.SearchEntryMode.Outcome)
            {
                kept.Add(entry);
                continue;
            }

            var resource = entry.Resource;
            var type = resource?.TypeName ?? TypeOf(entry);
            if (type is null)
            {
                removedMatch |= entry.Search?.Mode != Bundle.SearchEntryMode.Include;
                continue;
            }

            var grant = ReadGrant(access, type);
            var visible = grant.Reach switch
            {
                GrantReach.Full => resource is null || !grant.ViaUser || userPolicy.CanSee(access, resource),
                GrantReach.Compartment => resource is not null && compartments.IsInCompartment(resource, Patient, access.Patient!),
                _ => false,
            };
            if (visible && grant.Constraints is not null)
            {
                if (resource?.Id is null)
                {
                    visible = false;
                }
                else
                {
                    constrained ??= new(StringComparer.Ordinal);
                    if (!constrained.TryGetValue(type, out var group))
                    {
                        constrained[type] = group = (grant, []);
                    }

                    group.Entries.Add(entry);
                }
            }

            if (visible)
            {
                kept.Add(entry);
            }
            else
            {
                removedMatch |= entry.Search?.Mode != Bundle.SearchEntryMode.Include;
            }
        }

        if (constrained is not null)
        {
            foreach (var (type, (grant, entries)) in constrained)
            {
                var allowed = await MatchesConstraintsAsync(interaction, type, entries.Select(e => e.Resource!.Id!).Distinct().ToList(), grant.Constraints!, access);
                foreach (var entry in entries.Where(e => !allowed.Contains(e.Resource!.Id!)))
                {
                    kept.Remove(entry);
                    removedMatch |= entry.Search?.Mode != Bundle.SearchEntryMode.Include;
                }
            }
        }

        if (kept.Count != bundle.Entry.Count)
        {
            bundle.Entry = kept;
            if (removedMatch)
            {
                // The total counted what was removed; it would tell how much there is that the token may not see.
                bundle.Total = null;
            }
        }
    }

    private static string? TypeOf(Bundle.EntryComponent entry)
    {
        var url = entry.Request?.Url ?? entry.FullUrl;
        if (url is null)
        {
            return null;
        }

        var parts = url.Split('?')[0].Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = parts.Length - 1; i >= 0; i--)
        {
            if (ModelInfo.IsKnownResource(parts[i]))
            {
                return parts[i];
            }
        }

        return null;
    }

    private Grant ReadGrant(SmartAccess access, string type)
    {
        var read = SmartGrants.For(access, type, 'r', _options.PatientScopesReachSharedResources);
        var search = SmartGrants.For(access, type, 's', _options.PatientScopesReachSharedResources);
        return Rank(search) > Rank(read) ? search : read;

        static int Rank(Grant g) => g.Reach switch
        {
            GrantReach.Full when g.Constraints is null => 4,
            GrantReach.Compartment when g.Constraints is null => 3,
            GrantReach.Full => 2,
            GrantReach.Compartment => 1,
            _ => 0,
        };
    }

    private async ValueTask<bool> MaySeeAsync(FhirInteraction interaction, Resource resource, SmartAccess access)
    {
        var grant = ReadGrant(access, resource.TypeName);
        var visible = grant.Reach switch
        {
            GrantReach.Full => !grant.ViaUser || userPolicy.CanSee(access, resource),
            GrantReach.Compartment => compartments.IsInCompartment(resource, Patient, access.Patient!),
            _ => false,
        };
        if (visible && grant.Constraints is not null)
        {
            visible = resource.Id is not null && (await MatchesConstraintsAsync(interaction, resource.TypeName, [resource.Id], grant.Constraints, access)).Contains(resource.Id);
        }

        return visible;
    }

    /// <summary>Which of <paramref name="ids"/> match at least one of the narrowing queries (one search per query, through the pipeline).</summary>
    private async Task<HashSet<string>> MatchesConstraintsAsync(FhirInteraction interaction, string type, IReadOnlyList<string> ids, IReadOnlyList<string> constraints, SmartAccess access)
    {
        var executor = services.GetRequiredService<IFhirInteractionExecutor>();
        var matched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var constraint in constraints)
        {
            var parameters = new List<KeyValuePair<string, string>> { new("_id", string.Join(',', ids)), new("_count", ids.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
            parameters.AddRange(ParseQuery(constraint));
            var check = new FhirInteraction
            {
                Kind = FhirInteractionKind.Search,
                ResourceType = type,
                Parameters = parameters,
                Method = "GET",
                BaseUrl = interaction.BaseUrl,
                RelativeUrl = type,
                User = access.Principal,
                CancellationToken = interaction.CancellationToken,
            };
            check.Items[NestedCheckKey] = true;
            var result = await executor.ExecuteAsync(check);
            if (result.Resource is Bundle bundle)
            {
                foreach (var entry in bundle.Entry)
                {
                    if (entry.Search?.Mode != Bundle.SearchEntryMode.Include && entry.Resource?.Id is { } id)
                    {
                        matched.Add(id);
                    }
                }
            }
        }

        return matched;
    }

    // ---- grants and answers ---------------------------------------------------------------------------------

    private async ValueTask<Grant> RequireAsync(FhirInteraction interaction, SmartAccess access, string type, char permission)
    {
        var grant = SmartGrants.For(access, type, permission, _options.PatientScopesReachSharedResources);
        if (!grant.Granted)
        {
            LogDenied(logger, interaction.Kind, type, permission);
            throw new Denied(Forbidden(interaction, $"The access token's scopes do not grant '{permission}' on {(type == "*" ? "all resource types" : type)}."));
        }

        if (grant.ViaUser && !await userPolicy.AllowsAsync(access, interaction, type, permission))
        {
            LogDenied(logger, interaction.Kind, type, permission);
            throw new Denied(Forbidden(interaction, $"The user may not use '{permission}' on {(type == "*" ? "all resource types" : type)}."));
        }

        return grant;
    }

    private static FhirResponse NotFound(string type, string id) =>
        FhirResponse.Error(HttpStatusCode.NotFound, OperationOutcome.IssueType.NotFound, $"{type}/{id} is not known.");

    private static FhirResponse Forbidden(FhirInteraction interaction, string message)
    {
        var response = FhirResponse.Error(HttpStatusCode.Forbidden, OperationOutcome.IssueType.Forbidden, message);
        response.Headers["WWW-Authenticate"] = $"Bearer realm=\"{Realm(interaction)}\", error=\"insufficient_scope\"";
        return response;
    }

    private static FhirResponse Unauthorized(FhirInteraction interaction)
    {
        var root = interaction;
        while (root.Parent is not null)
        {
            root = root.Parent;
        }

        var presented = root.HttpContext?.Request.Headers.Authorization.Count > 0;
        var response = FhirResponse.Error(HttpStatusCode.Unauthorized, OperationOutcome.IssueType.Login,
            presented ? "The access token is not valid (bad signature, issuer, audience or lifetime, or not active)." : "An access token is required (Authorization: Bearer).");
        response.Headers["WWW-Authenticate"] = presented
            ? $"Bearer realm=\"{Realm(interaction)}\", error=\"invalid_token\", error_description=\"The access token is not valid.\""
            : $"Bearer realm=\"{Realm(interaction)}\"";
        return response;
    }

    private static string Realm(FhirInteraction interaction) => interaction.BaseUrl.Replace("\"", "", StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Information, Message = "SMART scopes refused FHIR {Interaction} needing '{Permission}' on {ResourceType}")]
    private static partial void LogDenied(ILogger logger, FhirInteractionKind interaction, string resourceType, char permission);

    private sealed class Denied(FhirResponse response) : Exception("SMART authorization refused the interaction.")
    {
        public FhirResponse Response { get; } = response;
    }
}
