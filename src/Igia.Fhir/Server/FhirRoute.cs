using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;

namespace Igia.Fhir.Server;

/// <summary>What a FHIR URL path and method address (R4 http.html), shared by the HTTP endpoint and Bundle entries.</summary>
internal readonly record struct FhirRoute(
    FhirInteractionKind Kind,
    string? ResourceType = null,
    string? Id = null,
    string? VersionId = null,
    string? CompartmentType = null,
    string? CompartmentId = null,
    string? OperationName = null,
    bool PostSearch = false)
{
    /// <summary>Parses a path relative to the FHIR base (no query, no leading slash).</summary>
    public static FhirRoute Parse(string method, string path)
    {
        var s = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        var m = method == "HEAD" ? "GET" : method;

        if (s.Length == 0)
        {
            return m switch
            {
                "GET" => new(FhirInteractionKind.Search),
                "POST" => new(FhirInteractionKind.Batch),
                _ => throw NotAllowed(m, "the server base"),
            };
        }

        var first = s[0];
        if (s.Length == 1)
        {
            if (first == "metadata")
            {
                return m == "GET" ? new(FhirInteractionKind.Capabilities) : throw NotAllowed(m, "/metadata");
            }

            if (first == "_search")
            {
                return m == "POST" ? new(FhirInteractionKind.Search, PostSearch: true) : throw NotAllowed(m, "/_search");
            }

            if (first == "_history")
            {
                return m == "GET" ? new(FhirInteractionKind.History) : throw NotAllowed(m, "/_history");
            }

            if (first.StartsWith('$'))
            {
                return Operation(m, first, null, null);
            }
        }

        var type = RequireType(first);
        if (s.Length == 1)
        {
            return m switch
            {
                "GET" => new(FhirInteractionKind.Search, type),
                "POST" => new(FhirInteractionKind.Create, type),
                "PUT" => new(FhirInteractionKind.Update, type),
                "DELETE" => new(FhirInteractionKind.Delete, type),
                "PATCH" => new(FhirInteractionKind.Patch, type),
                _ => throw NotAllowed(m, type),
            };
        }

        var second = s[1];
        if (s.Length == 2)
        {
            if (second == "_search")
            {
                return m == "POST" ? new(FhirInteractionKind.Search, type, PostSearch: true) : throw NotAllowed(m, $"{type}/_search");
            }

            if (second == "_history")
            {
                return m == "GET" ? new(FhirInteractionKind.History, type) : throw NotAllowed(m, $"{type}/_history");
            }

            if (second.StartsWith('$'))
            {
                return Operation(m, second, type, null);
            }

            return m switch
            {
                "GET" => new(FhirInteractionKind.Read, type, second),
                "PUT" => new(FhirInteractionKind.Update, type, second),
                "PATCH" => new(FhirInteractionKind.Patch, type, second),
                "DELETE" => new(FhirInteractionKind.Delete, type, second),
                _ => throw NotAllowed(m, $"{type}/[id]"),
            };
        }

        var third = s[2];
        if (s.Length == 3)
        {
            if (third == "_history")
            {
                return m == "GET" ? new(FhirInteractionKind.History, type, second) : throw NotAllowed(m, $"{type}/[id]/_history");
            }

            if (third.StartsWith('$'))
            {
                return Operation(m, third, type, second);
            }

            if (third == "*" || ModelInfo.IsKnownResource(third))
            {
                return m == "GET"
                    ? new(FhirInteractionKind.Search, third == "*" ? null : third, CompartmentType: type, CompartmentId: second)
                    : throw NotAllowed(m, "a compartment search");
            }

            throw FhirException.NotFound($"Unknown path segment '{Truncate(third)}'.");
        }

        if (s.Length == 4 && third == "_history")
        {
            return m == "GET" ? new(FhirInteractionKind.VRead, type, second, s[3]) : throw NotAllowed(m, $"{type}/[id]/_history/[vid]");
        }

        if (s.Length == 4 && s[3] == "_search" && (ModelInfo.IsKnownResource(third) || third == "*"))
        {
            return m == "POST"
                ? new(FhirInteractionKind.Search, third == "*" ? null : third, CompartmentType: type, CompartmentId: second, PostSearch: true)
                : throw NotAllowed(m, "a compartment search");
        }

        throw FhirException.NotFound("The URL is not a FHIR REST path this server knows.");
    }

    private static FhirRoute Operation(string method, string segment, string? type, string? id)
    {
        if (method is not ("GET" or "POST"))
        {
            throw NotAllowed(method, "an operation");
        }

        var name = segment[1..];
        if (name.Length == 0 || name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw FhirException.BadRequest("The operation name is not valid.");
        }

        return new(FhirInteractionKind.Operation, type, id, OperationName: name);
    }

    private static string RequireType(string segment)
    {
        if (!ModelInfo.IsKnownResource(segment))
        {
            throw new FhirException(HttpStatusCode.NotFound, OperationOutcome.IssueType.NotSupported, $"'{Truncate(segment)}' is not a FHIR R4 resource type.");
        }

        return segment;
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "…";

    private static FhirException NotAllowed(string method, string what) =>
        new(HttpStatusCode.MethodNotAllowed, OperationOutcome.IssueType.NotSupported, $"{method} is not allowed on {what}.");
}
