using Hl7.Fhir.Model;

namespace Igia.Fhir.Client.Internal;

/// <summary>
/// What one outgoing FHIR request is (interaction, resource type, operation), whether repeating it is safe, and what
/// happened to it on the way (attempts, retries, token refresh). Attached to the <see cref="HttpRequestMessage"/> by the
/// outermost handler and read by the resilience pipeline and the per-attempt handler.
/// </summary>
internal sealed class FhirRequestInfo
{
    public static readonly HttpRequestOptionsKey<FhirRequestInfo> Key = new("Igia.Fhir.Client.RequestInfo");

    public required string ClientName { get; init; }

    /// <summary>read, vread, update, patch, delete, create, search-type, search-system, search-compartment, history-instance, history-type, history-system, capabilities, batch, transaction, operation, or unknown.</summary>
    public required string Interaction { get; init; }

    /// <summary>A FHIR resource type name (never anything else from the URL), or null.</summary>
    public string? ResourceType { get; init; }

    /// <summary>The operation name without <c>$</c>, for operations.</summary>
    public string? Operation { get; init; }

    /// <summary>The HTTP method.</summary>
    public required string Method { get; init; }

    /// <summary>True when the request may be sent again after a transient failure.</summary>
    public bool RetrySafe { get; init; }

    /// <summary>True when the request goes to the configured FHIR base (the access token is only ever sent there).</summary>
    public bool UnderBase { get; init; }

    /// <summary>Times the request was put on the wire.</summary>
    public int Attempts { get; set; }

    /// <summary>Retries made by the resilience pipeline.</summary>
    public int Retries { get; set; }

    /// <summary>Set when a retry was refused because the server's Retry-After was longer than allowed.</summary>
    public TimeSpan? RetryAfterRefused { get; set; }

    /// <summary>Set when a 401 led to a token refresh and a second send.</summary>
    public bool TokenRefreshed { get; set; }

    /// <summary>Human wording, e.g. "read of Patient", "operation $validate on Patient", "transaction".</summary>
    public string Describe() => Operation is not null
        ? $"operation ${Operation}{(ResourceType is null ? "" : " on " + ResourceType)}"
        : ResourceType is null ? Interaction : $"{Interaction} of {ResourceType}";

    /// <summary>The Activity display name, e.g. <c>read Patient</c>.</summary>
    public string ActivityName => Operation is not null
        ? $"${Operation}{(ResourceType is null ? "" : " " + ResourceType)}"
        : ResourceType is null ? Interaction : $"{Interaction} {ResourceType}";

    public static FhirRequestInfo Classify(string clientName, HttpRequestMessage request, Uri baseUrl, FhirClientRetryOptions retry, FhirCallContext? call)
    {
        var method = request.Method.Method.ToUpperInvariant();
        var uri = request.RequestUri;
        string[] segments = [];
        var underBase = false;
        var hasQuery = false;
        if (uri is not null && uri.IsAbsoluteUri)
        {
            hasQuery = uri.Query.Length > 1;
            var basePath = baseUrl.AbsolutePath.EndsWith('/') ? baseUrl.AbsolutePath : baseUrl.AbsolutePath + "/";
            var path = uri.AbsolutePath;
            if (string.Equals(uri.Scheme, baseUrl.Scheme, StringComparison.OrdinalIgnoreCase)
                && string.Equals(uri.Authority, baseUrl.Authority, StringComparison.OrdinalIgnoreCase)
                && (path.StartsWith(basePath, StringComparison.Ordinal) || path + "/" == basePath))
            {
                underBase = true;
                var relative = path.Length > basePath.Length ? path[basePath.Length..] : "";
                segments = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
            }
        }

        var (interaction, resourceType, operation) = Route(method, segments, underBase);
        if (call is { HintUsed: false })
        {
            call.HintUsed = true;
            if (call.Interaction is not null)
            {
                interaction = call.Interaction;
            }

            if (call.ResourceType is not null && ModelInfo.IsKnownResource(call.ResourceType))
            {
                resourceType = call.ResourceType;
            }
        }

        var ifMatch = request.Headers.IfMatch.Count > 0;
        var ifNoneExist = request.Headers.Contains("If-None-Exist");
        var safe = retry.Enabled && method switch
        {
            "GET" or "HEAD" or "OPTIONS" => true,
            "POST" => interaction.StartsWith("search", StringComparison.Ordinal) && segments.Length > 0 && segments[^1] == "_search"
                || interaction == "create" && ifNoneExist
                || operation is not null && retry.SafeOperations.Contains(operation),
            "PUT" or "PATCH" => ifMatch,
            "DELETE" => retry.RetryDeletes && interaction == "delete" && segments.Length == 2 && !hasQuery,
            _ => false,
        };

        return new FhirRequestInfo
        {
            ClientName = clientName,
            Interaction = interaction,
            ResourceType = resourceType,
            Operation = operation,
            Method = method,
            RetrySafe = safe,
            UnderBase = underBase,
        };
    }

    private static (string Interaction, string? ResourceType, string? Operation) Route(string method, string[] s, bool underBase)
    {
        if (!underBase)
        {
            return ("unknown", null, null);
        }

        if (s.Length > 0 && s[^1].StartsWith('$'))
        {
            var name = Uri.UnescapeDataString(s[^1][1..]);
            var op = name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') ? name : "unknown";
            return ("operation", s.Length > 1 ? Type(s[0]) : null, op);
        }

        var get = method is "GET" or "HEAD";
        switch (s.Length)
        {
            case 0:
                return get ? ("search-system", null, null) : method == "POST" ? ("transaction", null, null) : ("unknown", null, null);
            case 1 when s[0] == "metadata":
                return ("capabilities", null, null);
            case 1 when s[0] == "_history":
                return ("history-system", null, null);
            case 1 when s[0] == "_search":
                return ("search-system", null, null);
            case 1:
                return (method switch
                {
                    "GET" or "HEAD" => "search-type",
                    "POST" => "create",
                    "PUT" => "update",
                    "PATCH" => "patch",
                    "DELETE" => "delete",
                    _ => "unknown",
                }, Type(s[0]), null);
            case 2 when s[1] == "_search":
                return ("search-type", Type(s[0]), null);
            case 2 when s[1] == "_history":
                return ("history-type", Type(s[0]), null);
            case 2:
                return (method switch
                {
                    "GET" or "HEAD" => "read",
                    "PUT" => "update",
                    "PATCH" => "patch",
                    "DELETE" => "delete",
                    _ => "unknown",
                }, Type(s[0]), null);
            case 3 when s[2] == "_history":
                return ("history-instance", Type(s[0]), null);
            case 3:
                return ("search-compartment", Type(s[2]), null);
            case 4 when s[2] == "_history":
                return ("vread", Type(s[0]), null);
            case 4 when s[3] == "_search":
                return ("search-compartment", Type(s[2]), null);
            default:
                return ("unknown", null, null);
        }
    }

    /// <summary>Only ever a FHIR type name: anything else in that position of the URL could be data.</summary>
    private static string? Type(string segment) => ModelInfo.IsKnownResource(segment) ? segment : null;
}
