using System.Security.Claims;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;

namespace Igia.Fhir.Pipeline;

/// <summary>
/// One FHIR request — an HTTP request or one entry of a batch/transaction Bundle — as it passes the
/// interaction filters and reaches the handler. Filters may read it, and may narrow it (for example add
/// search parameters) before passing it on.
/// </summary>
public sealed class FhirInteraction
{
    /// <summary>The interaction.</summary>
    public required FhirInteractionKind Kind { get; init; }

    /// <summary>The resource type in the URL, or null at system level.</summary>
    public string? ResourceType { get; init; }

    /// <summary>The logical id in the URL.</summary>
    public string? Id { get; init; }

    /// <summary>The version id of a vread.</summary>
    public string? VersionId { get; init; }

    /// <summary>
    /// For a compartment search (<c>Patient/123/Observation</c>), the compartment type (<c>Patient</c>). A filter may set it
    /// (with <see cref="CompartmentId"/>) to confine a search to a compartment, as SMART patient scopes do.
    /// </summary>
    public string? CompartmentType { get; set; }

    /// <summary>For a compartment search, the compartment id (<c>123</c>); settable by filters like <see cref="CompartmentType"/>.</summary>
    public string? CompartmentId { get; set; }

    /// <summary>The operation name without <c>$</c>, for <see cref="FhirInteractionKind.Operation"/>.</summary>
    public string? OperationName { get; init; }

    /// <summary>
    /// The URL query (and, for <c>_search</c> by POST, the form body) as ordered name/value pairs.
    /// For a search these are the search parameters; for a conditional update/delete/patch, the match criteria.
    /// Filters may add to or remove from it.
    /// </summary>
    public List<KeyValuePair<string, string>> Parameters { get; init; } = [];

    /// <summary>The parsed request body, if any (the resource, the Bundle, the Parameters of an operation or FHIRPath Patch).</summary>
    public Resource? Resource { get; set; }

    /// <summary>The body of a JSON Patch request.</summary>
    public System.Text.Json.Nodes.JsonNode? JsonPatch { get; init; }

    /// <summary>The request's conditional headers and preferences. A filter may replace them (for example narrow <c>If-None-Exist</c>).</summary>
    public FhirRequestHeaders Headers { get; set; } = new();

    /// <summary>The caller (an unauthenticated principal when none).</summary>
    public ClaimsPrincipal User { get; init; } = new(new ClaimsIdentity());

    /// <summary>The HTTP request this came from (for a Bundle entry: the request carrying the Bundle), when served over HTTP.</summary>
    public HttpContext? HttpContext { get; init; }

    /// <summary>The Bundle interaction this is an entry of, or null for a top-level request.</summary>
    public FhirInteraction? Parent { get; init; }

    /// <summary>The HTTP method as the client sent it (GET, POST, PUT, PATCH, DELETE, HEAD).</summary>
    public string Method { get; init; } = "GET";

    /// <summary>The FHIR base URL this interaction was addressed to, without a trailing slash.</summary>
    public string BaseUrl { get; init; } = "";

    /// <summary>The request path relative to the FHIR base, e.g. <c>Patient/123</c>, for audit and logs.</summary>
    public string RelativeUrl { get; init; } = "";

    /// <summary>A bag for filters to share state about this interaction (e.g. authorization decisions).</summary>
    public IDictionary<object, object?> Items { get; } = new Dictionary<object, object?>();

    /// <summary>Aborts when the caller goes away.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>The store session shared by the entries of a transaction (internal plumbing).</summary>
    internal Storage.IFhirStoreSession? SharedSession { get; init; }

    /// <summary>True for a conditional update, patch or delete (criteria in <see cref="Parameters"/>, no id).</summary>
    public bool IsConditional => Id is null && Kind is FhirInteractionKind.Update or FhirInteractionKind.Patch or FhirInteractionKind.Delete;

    /// <summary>Value of the first parameter with that name, or null.</summary>
    public string? GetParameter(string name)
    {
        foreach (var p in Parameters)
        {
            if (p.Key == name)
            {
                return p.Value;
            }
        }

        return null;
    }
}

/// <summary>The HTTP headers that change how a FHIR interaction behaves.</summary>
public sealed record FhirRequestHeaders
{
    /// <summary><c>If-Match</c>: the version the client expects to replace (the number inside <c>W/"n"</c>).</summary>
    public string? IfMatch { get; init; }

    /// <summary><c>If-None-Match</c> on a read: the version the client has.</summary>
    public string? IfNoneMatch { get; init; }

    /// <summary><c>If-Modified-Since</c> on a read.</summary>
    public DateTimeOffset? IfModifiedSince { get; init; }

    /// <summary><c>If-None-Exist</c> on a create: the search that must match nothing.</summary>
    public string? IfNoneExist { get; init; }

    /// <summary><c>Prefer: return=</c>.</summary>
    public FhirReturnPreference Return { get; init; } = FhirReturnPreference.Representation;

    /// <summary><c>Prefer: handling=strict</c> (unknown search parameters are errors) rather than lenient.</summary>
    public bool StrictHandling { get; init; }
}

/// <summary>The client's <c>Prefer: return=</c> choice.</summary>
public enum FhirReturnPreference
{
    /// <summary>Return the resource.</summary>
    Representation,
    /// <summary>Return no body.</summary>
    Minimal,
    /// <summary>Return an OperationOutcome.</summary>
    OperationOutcome,
}
