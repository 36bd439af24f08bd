using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
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

    /// <summary>UTF-8 that throws on a lone surrogate, as JsonDocument.Parse(string) does.</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly SearchParameterRegistry _registry;
    private readonly ConcurrentDictionary<(string Compartment, string Type), LinkSet?> _links = new();
    private readonly ConcurrentDictionary<(string Compartment, string Type, string Code), (int Version, bool Typed, bool Bare)> _confining = new();

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

        if (LinksFor(compartmentType, type) is not { Links: var links })
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
        if (response.UnparsedJson is { } json && response.ResourceIfParsed is null)
        {
            if (response.ResourceType == compartmentType)
            {
                return response.Id == compartmentId;
            }

            return response.ResourceType is { } type && CanBeInCompartment(compartmentType, type)
                && IsJsonInCompartment(json, type, compartmentType, compartmentId);
        }

        return (response.ResourceIfParsed ?? response.Resource) is { } resource and not Hl7.Fhir.Model.OperationOutcome && IsInCompartment(resource, compartmentType, compartmentId);
    }

    /// <summary>
    /// True when the search parameter <paramref name="name"/>=<paramref name="value"/> on <paramref name="resourceType"/> can
    /// only match resources in the compartment <paramref name="compartmentType"/>/<paramref name="compartmentId"/>, so that a
    /// search holding it (search parameters are AND-ed) needs no compartment restriction on top: the parameter (no modifier,
    /// no chain) is a reference parameter whose every path is a path of one of the type's compartment links, and the value is
    /// the single reference <c>compartmentType/compartmentId</c> (or the bare id when the parameter can refer to that type
    /// only). E.g. <c>Observation?patient=123</c> (<c>Observation.subject.where(resolve() is Patient)</c>) within the link
    /// <c>subject</c>. False whenever that cannot be shown.
    /// </summary>
    /// <param name="resourceType">The searched type (not the compartment type itself).</param>
    /// <param name="name">The parameter's name as given.</param>
    /// <param name="value">The parameter's raw value.</param>
    /// <param name="compartmentType">The compartment type, e.g. <c>Patient</c>.</param>
    /// <param name="compartmentId">The id of the compartment's focal resource.</param>
    public bool ParameterConfinesToCompartment(string resourceType, string name, string value, string compartmentType, string compartmentId)
    {
        ArgumentNullException.ThrowIfNull(resourceType);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        if (resourceType == compartmentType || !SearchIndexer.IdPattern().IsMatch(compartmentId) || !ModelInfo.IsKnownResource(compartmentType))
        {
            return false;
        }

        var typed = value.Length == compartmentType.Length + 1 + compartmentId.Length && value.StartsWith(compartmentType, StringComparison.Ordinal)
            && value[compartmentType.Length] == '/' && value.EndsWith(compartmentId, StringComparison.Ordinal);
        if (!typed && value != compartmentId)
        {
            return false;
        }

        if (_registry.Find(resourceType, name) is null)
        {
            return false; // not a parameter (a modifier, a chain, a typo): nothing to remember, so the cache holds known names only
        }

        var version = _registry.Version;
        var key = (compartmentType, resourceType, name);
        if (!_confining.TryGetValue(key, out var known) || known.Version != version)
        {
            var (typedConfines, bareConfines) = Confines(compartmentType, resourceType, name);
            known = (version, typedConfines, bareConfines);
            _confining[key] = known;
        }

        return typed ? known.Typed : known.Bare;
    }

    /// <summary>
    /// Whether the parameter's every path is a path of a compartment link of the type (Typed: then <c>Type/id</c> confines), and
    /// whether a bare id does too (Bare: the parameter can only refer to the compartment type, by its targets or because every
    /// part of its expression ends in <c>where(resolve() is Type)</c>, which the indexer evaluates).
    /// </summary>
    private (bool Typed, bool Bare) Confines(string compartmentType, string resourceType, string code)
    {
        if (LinkParameters(compartmentType, resourceType) is not { } links
            || _registry.Find(resourceType, code) is not { Type: Hl7.Fhir.Model.SearchParamType.Reference, Expression: { Length: > 0 } expression } info
            || (info.Targets.Count > 0 && !info.Targets.Contains(compartmentType)))
        {
            return (false, false);
        }

        // Every part must count (JsonPaths leaves out a part that can only refer to another type: not for this check).
        var mine = SearchIndexer.ExpressionFor(expression, resourceType);
        var where = ".where(resolve() is " + compartmentType + ")";
        var everyPartResolved = true;
        foreach (var part in mine.Split(" | ", StringSplitOptions.TrimEntries))
        {
            var resolved = part.EndsWith(where, StringComparison.Ordinal);
            everyPartResolved &= resolved;
            if (part.Contains('(', StringComparison.Ordinal) && !resolved)
            {
                return (false, false);
            }
        }

        if (JsonPaths(mine, resourceType, compartmentType) is not { Length: > 0 } paths)
        {
            return (false, false);
        }

        var linkPaths = new List<string[]>();
        foreach (var link in links)
        {
            if (_registry.Find(resourceType, link) is { Type: Hl7.Fhir.Model.SearchParamType.Reference, Expression: { Length: > 0 } linkExpression }
                && JsonPaths(SearchIndexer.ExpressionFor(linkExpression, resourceType), resourceType, compartmentType) is { } found)
            {
                linkPaths.AddRange(found);
            }
        }

        foreach (var path in paths)
        {
            if (!linkPaths.Exists(p => p.AsSpan().SequenceEqual(path)))
            {
                return (false, false);
            }
        }

        return (true, everyPartResolved || (info.Targets.Count == 1 && info.Targets[0] == compartmentType));
    }

    private LinkSet? LinksFor(string compartmentType, string resourceType) =>
        _links.GetOrAdd((compartmentType, resourceType), static (key, self) => self.BuildLinks(key.Compartment, key.Type), this);

    private LinkSet? BuildLinks(string compartmentType, string resourceType)
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

        return new LinkSet([.. links], JsonStep.Tree(links));
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

    /// <summary>Checks stored JSON: by a forward-only scan along the member paths when every link has them, otherwise by parsing it.</summary>
    private bool IsJsonInCompartment(string json, string resourceType, string compartmentType, string compartmentId)
    {
        if (LinksFor(compartmentType, resourceType) is not { } set)
        {
            return false;
        }

        if (set.Json is not { } tree)
        {
            return IsInCompartment(Serialization.FhirFormats.ParseStored(json), compartmentType, compartmentId);
        }

        byte[]? rented = null;
        Span<byte> buffer = json.Length <= 1024 ? stackalloc byte[3 * 1024] : (rented = ArrayPool<byte>.Shared.Rent(StrictUtf8.GetByteCount(json)));
        try
        {
            var length = StrictUtf8.GetBytes(json, buffer);
            var reader = new Utf8JsonReader(buffer[..length]);
            var scan = new ReferenceMatch(compartmentType, compartmentId);
            reader.Read();
            var found = reader.TokenType == JsonTokenType.StartObject && ScanObject(ref reader, tree, ref scan);

            // Read to the end, so that malformed JSON throws as JsonDocument.Parse did.
            while (reader.Read())
            {
            }

            return found;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Scans the object the reader is on (to its end) at <paramref name="step"/> of the member paths. As
    /// <see cref="JsonElement.TryGetProperty(string, out JsonElement)"/> did, the last of duplicate members counts.
    /// </summary>
    private static bool ScanObject(ref Utf8JsonReader reader, JsonStep step, ref ReferenceMatch match)
    {
        var children = step.Children;
        ulong hits = 0;
        var referenceHit = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var index = -1;
            for (var i = 0; i < children.Length; i++)
            {
                if (reader.ValueTextEquals(children[i].Utf8Name))
                {
                    index = i;
                    break;
                }
            }

            var isReference = step.Ends && reader.ValueTextEquals("reference"u8);
            reader.Read();
            if (isReference)
            {
                referenceHit = reader.TokenType == JsonTokenType.String && match.Matches(ref reader);
            }

            if (index >= 0)
            {
                var bit = 1UL << index;
                hits = ScanValue(ref reader, children[index], ref match) ? hits | bit : hits & ~bit;
            }
            else
            {
                reader.Skip();
            }
        }

        return referenceHit || hits != 0;
    }

    /// <summary>A member's value at <paramref name="step"/>: an object, or an array whose object items are looked at (one level).</summary>
    private static bool ScanValue(ref Utf8JsonReader reader, JsonStep step, ref ReferenceMatch match)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                return ScanObject(ref reader, step, ref match);
            case JsonTokenType.StartArray:
                var found = false;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        found |= ScanObject(ref reader, step, ref match);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }

                return found;
            default:
                return false;
        }
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

    /// <param name="Links">The linking parameters of a resource type in a compartment type.</param>
    /// <param name="Json">Their member paths as a tree, for scanning stored JSON; null when some link has none.</param>
    private sealed record LinkSet(Link[] Links, JsonStep? Json);

    /// <summary>A step of the member paths: the member name (UTF-8), the steps below it, and whether a path ends here (at a Reference).</summary>
    private sealed class JsonStep
    {
        private JsonStep(string name)
        {
            Name = name;
            Utf8Name = Encoding.UTF8.GetBytes(name);
        }

        public string Name { get; }

        public byte[] Utf8Name { get; }

        public JsonStep[] Children { get; private set; } = [];

        public bool Ends { get; private set; }

        /// <summary>The root of the member paths of <paramref name="links"/>; null when a link has none or a step has more than 64 members below it.</summary>
        public static JsonStep? Tree(IReadOnlyList<Link> links)
        {
            var root = new JsonStep(string.Empty);
            foreach (var link in links)
            {
                if (link.JsonPaths is not { } paths)
                {
                    return null;
                }

                foreach (var path in paths)
                {
                    var step = root;
                    foreach (var name in path)
                    {
                        var child = Array.Find(step.Children, c => c.Name == name);
                        if (child is null)
                        {
                            child = new JsonStep(name);
                            step.Children = [.. step.Children, child];
                            if (step.Children.Length > 64)
                            {
                                return null;
                            }
                        }

                        step = child;
                    }

                    step.Ends = true;
                }
            }

            return root;
        }
    }

    /// <summary>
    /// Whether a reference string names <c>compartmentType/compartmentId</c> as <see cref="SearchIndexer.ParseReference"/> reads it
    /// (not <c>#local</c>; up to <c>|</c>; before <c>/_history/</c>; the last two path segments, a known type and a FHIR id),
    /// compared on the unescaped characters without making a string.
    /// </summary>
    private struct ReferenceMatch(string compartmentType, string compartmentId)
    {
        private bool? _valid;

        public bool Matches(ref Utf8JsonReader reader)
        {
            var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
            char[]? rented = null;
            Span<char> buffer = length <= 256 ? stackalloc char[256] : (rented = ArrayPool<char>.Shared.Rent(length));
            try
            {
                var written = reader.CopyString(buffer);
                return Names(buffer[..written]);
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<char>.Shared.Return(rented);
                }
            }
        }

        private bool Names(ReadOnlySpan<char> reference)
        {
            if (reference.Length == 0 || reference[0] == '#')
            {
                return false;
            }

            reference = SearchIndexer.WithoutVersion(reference);
            var lastSlash = reference.LastIndexOf('/');
            if (lastSlash <= 0)
            {
                return false;
            }

            var typeStart = reference[..lastSlash].LastIndexOf('/') + 1;
            if (!reference[typeStart..lastSlash].SequenceEqual(compartmentType) || !reference[(lastSlash + 1)..].SequenceEqual(compartmentId))
            {
                return false;
            }

            _valid ??= ModelInfo.IsKnownResource(compartmentType) && SearchIndexer.IdPattern().IsMatch(compartmentId);
            return _valid.Value;
        }
    }
}
