using System.Collections.Concurrent;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;

namespace Igia.Fhir.Search;

/// <summary>
/// Answers whether a resource belongs to a compartment (e.g. <c>Patient/123</c>) by the R4 CompartmentDefinitions: the
/// focal resource itself, or a resource whose linking search parameters (as the server indexes them) refer to it.
/// Used by authorization filters (SMART patient scopes) to confine reads, writes and search results to one patient.
/// Only the linking parameters of the resource's type are evaluated, with the same fast path as the search indexer.
/// </summary>
public sealed class FhirCompartmentMembership
{
    private static readonly FhirPathCompiler Compiler = CreateCompiler();

    private readonly SearchParameterRegistry _registry;
    private readonly ConcurrentDictionary<(string Compartment, string Type), Link[]?> _links = new();

    /// <summary>Creates the service over the server's search parameters.</summary>
    /// <param name="registry">The search parameters (their expressions say where the linking references are).</param>
    public FhirCompartmentMembership(SearchParameterRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
    }

    /// <summary>True when <paramref name="compartmentType"/> (e.g. <c>Patient</c>) has a CompartmentDefinition.</summary>
    public static bool IsCompartmentType(string compartmentType) => CompartmentDefinitions.For(compartmentType) is not null;

    /// <summary>
    /// The search parameters that link <paramref name="resourceType"/> to a compartment of <paramref name="compartmentType"/>
    /// (e.g. <c>subject</c>, <c>performer</c> for Observation in Patient), <c>{def}</c> for the focal type itself, or null when
    /// resources of that type are never in such a compartment.
    /// </summary>
    public static IReadOnlyList<string>? LinkParameters(string compartmentType, string resourceType)
    {
        if (resourceType == compartmentType)
        {
            return ["{def}"];
        }

        return CompartmentDefinitions.For(compartmentType)?.GetValueOrDefault(resourceType) is { Length: > 0 } links ? links : null;
    }

    /// <summary>True when resources of <paramref name="resourceType"/> can be in a compartment of <paramref name="compartmentType"/>.</summary>
    public static bool CanBeInCompartment(string compartmentType, string resourceType) => LinkParameters(compartmentType, resourceType) is not null;

    /// <summary>True when <paramref name="resource"/> is in the compartment <paramref name="compartmentType"/>/<paramref name="compartmentId"/>.</summary>
    /// <param name="resource">The resource.</param>
    /// <param name="compartmentType">The compartment type, e.g. <c>Patient</c>.</param>
    /// <param name="compartmentId">The id of the compartment's focal resource.</param>
    public bool IsInCompartment(Resource resource, string compartmentType, string compartmentId)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var type = resource.TypeName;
        if (type == compartmentType)
        {
            return resource.Id == compartmentId;
        }

        var links = _links.GetOrAdd((compartmentType, type), key => BuildLinks(key.Compartment, key.Type));
        if (links is null)
        {
            return false;
        }

        var context = new PathContext(resource);
        var output = new List<object>(4);
        foreach (var link in links)
        {
            output.Clear();
            try
            {
                if (link.Fast is not null)
                {
                    link.Fast(resource, context, output);
                }
                else if (link.Slow is not null)
                {
                    var evaluation = new FhirEvaluationContext { ElementResolver = Resolve };
                    foreach (var result in link.Slow([resource.ToPocoNode()], evaluation))
                    {
                        if (result.Poco is { } poco)
                        {
                            output.Add(poco);
                        }
                    }
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // An expression that cannot be evaluated on this resource links nothing (the indexer skips it the same way).
                continue;
            }

            foreach (var value in output)
            {
                var reference = value switch
                {
                    ResourceReference r => r.Reference,
                    PrimitiveType { JsonValue: string s } => s,
                    _ => null,
                };
                if (reference is { Length: > 0 } && SearchIndexer.ParseReference(reference) is { Type: { } t, Id: { } id }
                    && t == compartmentType && id == compartmentId)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>True when a stored version (not a deletion marker) is in the compartment; parses its JSON only when the type can be in it.</summary>
    /// <param name="stored">A version read from the store.</param>
    /// <param name="compartmentType">The compartment type, e.g. <c>Patient</c>.</param>
    /// <param name="compartmentId">The id of the compartment's focal resource.</param>
    public bool IsInCompartment(Storage.StoredResource stored, string compartmentType, string compartmentId)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Json is null)
        {
            return false;
        }

        if (stored.ResourceType == compartmentType)
        {
            return stored.Id == compartmentId;
        }

        return CanBeInCompartment(compartmentType, stored.ResourceType)
            && IsJsonInCompartment(stored.Json, stored.ResourceType, compartmentType, compartmentId);
    }

    /// <summary>
    /// True when the resource in a response body is in the compartment. A body still held as stored JSON is parsed for the check
    /// only, so the response keeps being sent as stored (the read fast path). False when the response has no resource body.
    /// </summary>
    /// <param name="response">A response on its way back through the pipeline.</param>
    /// <param name="compartmentType">The compartment type, e.g. <c>Patient</c>.</param>
    /// <param name="compartmentId">The id of the compartment's focal resource.</param>
    public bool IsInCompartment(Pipeline.FhirResponse response, string compartmentType, string compartmentId)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.UnparsedJson is { } json)
        {
            if (response.ResourceType == compartmentType)
            {
                return response.Id == compartmentId;
            }

            return response.ResourceType is { } type && CanBeInCompartment(compartmentType, type)
                && IsJsonInCompartment(json, type, compartmentType, compartmentId);
        }

        return response.Resource is { } resource and not Hl7.Fhir.Model.OperationOutcome && IsInCompartment(resource, compartmentType, compartmentId);
    }

    private Link[]? BuildLinks(string compartmentType, string resourceType)
    {
        if (LinkParameters(compartmentType, resourceType) is not { } codes)
        {
            return null;
        }

        var links = new List<Link>(codes.Count);
        foreach (var code in codes)
        {
            if (_registry.Find(resourceType, code) is not { Expression: { Length: > 0 } expression })
            {
                continue;
            }

            var mine = SearchIndexer.ExpressionFor(expression, resourceType);
            var fast = PocoPath.TryCompile(mine);
            CompiledExpression? slow = null;
            if (fast is null)
            {
                try
                {
                    slow = Compiler.Compile(mine);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    continue;
                }
            }

            links.Add(new Link(fast, slow, JsonPaths(mine, resourceType, compartmentType)));
        }

        return [.. links];
    }

    /// <summary>
    /// <c>Type.a.b | Type.c.where(resolve() is Patient)</c> as member paths (<c>[a,b]</c>, <c>[c]</c>); a <c>where(resolve() is X)</c>
    /// can be dropped because the reference found is checked to name the compartment type anyway (a part whose X is another type
    /// links nothing). Null when any part is more than that.
    /// </summary>
    private static string[][]? JsonPaths(string expression, string resourceType, string compartmentType)
    {
        var paths = new List<string[]>();
        foreach (var raw in expression.Split(" | ", StringSplitOptions.TrimEntries))
        {
            var part = raw;
            const string where = ".where(resolve() is ";
            var w = part.IndexOf(where, StringComparison.Ordinal);
            if (w >= 0)
            {
                if (!part.EndsWith(')') || part[(w + where.Length)..^1] is not { } target || part.IndexOf('(', w + where.Length) >= 0)
                {
                    return null;
                }

                if (target != compartmentType)
                {
                    continue;
                }

                part = part[..w];
            }

            var segments = part.Split('.');
            if (segments.Length < 2 || segments[0] != resourceType || !segments.Skip(1).All(x => x.Length > 0 && x.All(char.IsAsciiLetter)))
            {
                return null;
            }

            paths.Add(segments[1..]);
        }

        return [.. paths];
    }

    /// <summary>Follows the member paths in stored JSON and checks each <c>reference</c> found.</summary>
    private static bool JsonLinks(System.Text.Json.JsonElement root, Link[] links, string compartmentType, string compartmentId)
    {
        var current = new List<System.Text.Json.JsonElement>(4);
        var next = new List<System.Text.Json.JsonElement>(4);
        foreach (var link in links)
        {
            foreach (var path in link.JsonPaths!)
            {
                current.Clear();
                current.Add(root);
                foreach (var name in path)
                {
                    next.Clear();
                    foreach (var element in current)
                    {
                        if (element.ValueKind == System.Text.Json.JsonValueKind.Object && element.TryGetProperty(name, out var child))
                        {
                            if (child.ValueKind == System.Text.Json.JsonValueKind.Array)
                            {
                                foreach (var item in child.EnumerateArray())
                                {
                                    next.Add(item);
                                }
                            }
                            else
                            {
                                next.Add(child);
                            }
                        }
                    }

                    (current, next) = (next, current);
                }

                foreach (var element in current)
                {
                    if (element.ValueKind == System.Text.Json.JsonValueKind.Object && element.TryGetProperty("reference", out var reference)
                        && reference.ValueKind == System.Text.Json.JsonValueKind.String && reference.GetString() is { Length: > 0 } r
                        && SearchIndexer.ParseReference(r) is { Type: { } t, Id: { } id } && t == compartmentType && id == compartmentId)
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>Checks stored JSON: by its member paths when every link has them, otherwise by parsing it.</summary>
    private bool IsJsonInCompartment(string json, string resourceType, string compartmentType, string compartmentId)
    {
        var links = _links.GetOrAdd((compartmentType, resourceType), key => BuildLinks(key.Compartment, key.Type));
        if (links is null)
        {
            return false;
        }

        if (links.All(l => l.JsonPaths is not null))
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            return JsonLinks(document.RootElement, links, compartmentType, compartmentId);
        }

        return IsInCompartment(Serialization.FhirFormats.ParseStored(json), compartmentType, compartmentId);
    }

    private static PocoNode? Resolve(string reference) =>
        SearchIndexer.ParseReference(reference) is { Type: { } type } && PocoPath.Stub(type) is { } stub ? stub.ToPocoNode() : null;

    private static FhirPathCompiler CreateCompiler()
    {
        var symbols = new SymbolTable();
        symbols.AddStandardFP();
        symbols.AddFhirExtensions();
        return new FhirPathCompiler(symbols);
    }

    /// <param name="Fast">The POCO path evaluator, when the expression is simple enough.</param>
    /// <param name="Slow">Firely's compiled FHIRPath otherwise.</param>
    /// <param name="JsonPaths">The expression as member paths below the resource (alternatives), for checking stored JSON without parsing it; null when it is not that simple.</param>
    private sealed record Link(PathEvaluator? Fast, CompiledExpression? Slow, string[][]? JsonPaths);
}
