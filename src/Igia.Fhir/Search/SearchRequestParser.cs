using System.Globalization;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Server;

namespace Igia.Fhir.Search;

/// <summary>A search request after parsing and validation.</summary>
internal sealed class ParsedSearch
{
    /// <summary>The types searched; empty = every type served.</summary>
    public List<string> ResourceTypes { get; } = [];

    public List<SearchCondition> Conditions { get; } = [];

    public List<SearchSort> Sort { get; } = [];

    public List<SearchInclude> Includes { get; } = [];

    public int Count { get; set; }

    public bool CountGiven { get; set; }

    public int Offset { get; set; }

    public bool CountOnly { get; set; }

    public SearchTotalMode Total { get; set; } = SearchTotalMode.None;

    public bool TotalGiven { get; set; }

    /// <summary>The parameters that were understood and applied, in request order (for the self link and the snapshot).</summary>
    public List<KeyValuePair<string, string>> Used { get; } = [];

    /// <summary>Parameters that only shape the output (<c>_format</c>, <c>_pretty</c>, <c>_summary</c>, <c>_elements</c>): carried into every link.</summary>
    public List<KeyValuePair<string, string>> Passthrough { get; } = [];

    /// <summary>For a <c>_getpages</c> request, the parameters other than paging and output ones.</summary>
    public List<KeyValuePair<string, string>> Other { get; } = [];

    /// <summary>Warnings about parameters that were ignored (lenient handling).</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>The snapshot id of a <c>_getpages</c> request.</summary>
    public string? GetPages { get; set; }
}

/// <summary>Parses and validates search parameters into a <see cref="ParsedSearch"/> (search.html).</summary>
internal sealed partial class SearchRequestParser(SearchParameterRegistry registry, FhirServerOptions options)
{
    private const int MaxChainDepth = 4;

    /// <summary>The most comma-separated alternatives one parameter may have.</summary>
    private const int MaxAlternatives = 100;

    /// <summary>The most search parameters (ANDed conditions) in one search.</summary>
    private const int MaxConditions = 64;

    /// <summary>The longest parameter value accepted.</summary>
    private const int MaxValueLength = 10_000;

    private static bool IsResultParameter(string name)
    {
        var colon = name.IndexOf(':');
        var baseName = colon < 0 ? name : name[..colon];
        return baseName is "_count" or "_sort" or "_total" or "_include" or "_revinclude" or "_summary" or "_elements" or "_offset" or "_contained" or "_containedType";
    }

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")]
    private static partial Regex ElementPattern();

    /// <summary>Parses a search request.</summary>
    /// <param name="request">The request.</param>
    /// <param name="criteriaOnly">True for conditional interactions: result parameters are ignored and unknown parameters are always errors.</param>
    public ParsedSearch Parse(SearchRequest request, bool criteriaOnly = false)
    {
        var strict = request.Strict || criteriaOnly;
        var parsed = new ParsedSearch { Count = options.DefaultPageSize };
        var context = new ParseContext(parsed, strict, request.BaseUrl, request.ValueSets, request.Lists);

        if (request.Parameters.Any(p => p.Key == "_getpages") && !criteriaOnly)
        {
            ParsePaging(request, parsed);
            return parsed;
        }

        ResolveTypes(request, parsed);
        foreach (var (rawName, value) in request.Parameters)
        {
            var name = rawName.Trim();
            switch (name)
            {
                case "_format" or "_pretty":
                    parsed.Passthrough.Add(new(name, value));
                    continue;
                case "_type" when request.ResourceType is null && request.CompartmentType is null:
                    parsed.Used.Add(new(name, value));
                    continue;
            }

            if (criteriaOnly && IsResultParameter(name))
            {
                continue;
            }

            if (value.Length > MaxValueLength)
            {
                throw FhirException.BadRequest($"{Truncate(name)}: the value is longer than {MaxValueLength.ToString(CultureInfo.InvariantCulture)} characters.");
            }

            if (ParseResultParameter(context, name, value))
            {
                continue;
            }

            var condition = ParseParameter(context, parsed.ResourceTypes, name, value, 0);
            if (condition is not null)
            {
                if (parsed.Conditions.Count >= MaxConditions)
                {
                    throw FhirException.BadRequest($"A search may have at most {MaxConditions.ToString(CultureInfo.InvariantCulture)} search parameters.");
                }

                parsed.Conditions.Add(condition);
                parsed.Used.Add(new(name, value));
            }
        }

        if (request.CompartmentType is not null)
        {
            parsed.Conditions.Add(CompartmentCondition(request.CompartmentType, request.CompartmentId!, request.ResourceType, parsed.ResourceTypes));
        }

        return parsed;
    }

    private static void ParsePaging(SearchRequest request, ParsedSearch parsed)
    {
        foreach (var (name, value) in request.Parameters)
        {
            switch (name)
            {
                case "_getpages":
                    if (value.Length is 0 or > 64 || !value.All(char.IsAsciiLetterOrDigit))
                    {
                        throw FhirException.BadRequest("_getpages: not a valid search result set id.");
                    }

                    parsed.GetPages = value;
                    break;
                case "_offset":
                    parsed.Offset = ParseNonNegative(name, value);
                    break;
                case "_count":
                    parsed.Count = ParseNonNegative(name, value);
                    parsed.CountGiven = true;
                    break;
                case "_format" or "_pretty":
                    parsed.Passthrough.Add(new(name, value));
                    break;
                case "_summary":
                    ValidateSummary(value);
                    parsed.Passthrough.Add(new(name, value));
                    break;
                case "_elements":
                    ValidateElements(value, []);
                    parsed.Passthrough.Add(new(name, value));
                    break;
                default:
                    parsed.Other.Add(new(name, value));
                    break;
            }
        }
    }

    private void ResolveTypes(SearchRequest request, ParsedSearch parsed)
    {
        if (request.CompartmentType is { } compartment)
        {
            var definition = CompartmentDefinitions.For(compartment)
                ?? throw FhirException.BadRequest($"'{compartment}' is not a compartment type (Patient, Encounter, RelatedPerson, Practitioner, Device).");
            if (request.ResourceType is { } t)
            {
                if (!definition.ContainsKey(t) && t != compartment)
                {
                    throw FhirException.BadRequest($"{t} is not in the {compartment} compartment.");
                }

                parsed.ResourceTypes.Add(t);
            }
            else
            {
                parsed.ResourceTypes.AddRange(definition.Keys.Append(compartment).Distinct().Where(options.Serves).Order(StringComparer.Ordinal));
            }

            return;
        }

        if (request.ResourceType is { } type)
        {
            parsed.ResourceTypes.Add(type);
            return;
        }

        foreach (var (name, value) in request.Parameters)
        {
            if (name != "_type")
            {
                continue;
            }

            foreach (var raw in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!ModelInfo.IsKnownResource(raw) || !options.Serves(raw))
                {
                    throw FhirException.BadRequest($"_type: '{Truncate(raw)}' is not a resource type served here.");
                }

                if (!parsed.ResourceTypes.Contains(raw))
                {
                    parsed.ResourceTypes.Add(raw);
                }
            }
        }

        if (parsed.ResourceTypes.Count == 0 && options.ResourceTypes.Count > 0)
        {
            parsed.ResourceTypes.AddRange(options.ResourceTypes.Order(StringComparer.Ordinal));
        }
    }

    // ---- result parameters ---------------------------------------------------------------------------

    private bool ParseResultParameter(ParseContext context, string name, string value)
    {
        var parsed = context.Parsed;
        var colon = name.IndexOf(':');
        var baseName = colon < 0 ? name : name[..colon];
        var modifier = colon < 0 ? null : name[(colon + 1)..];
        switch (baseName)
        {
            case "_count" when modifier is null:
                var count = ParseNonNegative(name, value);
                if (count > options.MaxPageSize)
                {
                    parsed.Warnings.Add($"_count={count.ToString(CultureInfo.InvariantCulture)} is more than this server's maximum page size; {options.MaxPageSize.ToString(CultureInfo.InvariantCulture)} was used.");
                    count = options.MaxPageSize;
                }

                parsed.Count = count;
                parsed.CountGiven = true;
                if (count == 0)
                {
                    parsed.CountOnly = true;
                }

                return true;
            case "_offset" when modifier is null:
                parsed.Offset = ParseNonNegative(name, value);
                return true;
            case "_total" when modifier is null:
                parsed.Total = value switch
                {
                    "none" => SearchTotalMode.None,
                    "estimate" => SearchTotalMode.Estimate,
                    "accurate" => SearchTotalMode.Accurate,
                    _ => throw FhirException.BadRequest($"_total: '{Truncate(value)}' is not one of none, estimate, accurate."),
                };
                parsed.TotalGiven = true;
                parsed.Used.Add(new(name, value));
                return true;
            case "_summary" when modifier is null:
                ValidateSummary(value);
                if (value == "count")
                {
                    parsed.CountOnly = true;
                }

                parsed.Passthrough.Add(new(name, value));
                return true;
            case "_elements" when modifier is null:
                ValidateElements(value, parsed.ResourceTypes);
                parsed.Passthrough.Add(new(name, value));
                return true;
            case "_sort" when modifier is null:
                ParseSort(parsed, value);
                parsed.Used.Add(new(name, value));
                return true;
            case "_include" or "_revinclude":
                var iterate = modifier switch
                {
                    null => false,
                    "iterate" or "recurse" => true,
                    _ => throw FhirException.BadRequest($"{baseName}: modifier ':{Truncate(modifier)}' is not known (use :iterate)."),
                };
                ParseInclude(parsed, baseName == "_revinclude", value, iterate);
                parsed.Used.Add(new(name, value));
                return true;
            case "_contained" when modifier is null:
                if (value is not ("false" or "true" or "both"))
                {
                    throw FhirException.BadRequest($"_contained: '{Truncate(value)}' is not one of false, true, both.");
                }

                if (value != "false")
                {
                    Unsupported(context, name, "searching contained resources is not supported");
                }

                return true;
            case "_containedType" when modifier is null:
                if (value is not ("container" or "contained"))
                {
                    throw FhirException.BadRequest($"_containedType: '{Truncate(value)}' is not one of container, contained.");
                }

                if (value != "container")
                {
                    Unsupported(context, name, "returning contained resources is not supported");
                }

                return true;
            case "_list" when modifier is null && context.Lists is not null:
            {
                // search.html#list: the resources a List names in its entries (commas OR several lists).
                var keys = new List<(string Type, string Id)>();
                foreach (var id in SearchEscaping.Split(value, ',').Select(SearchEscaping.Unescape))
                {
                    if (!context.Lists.TryGetValue(id, out var members) || members is null)
                    {
                        Unsupported(context, name, $"'{Truncate(id)}' is not a List id (functional lists such as $current-problems are not supported)");
                        return true;
                    }

                    keys.AddRange(members);
                }

                parsed.Conditions.Add(new ResourceKeysCondition(keys));
                parsed.Used.Add(new(name, value));
                return true;
            }

            case "_text" or "_content" or "_list" or "_query" or "_filter" or "_score":
                Unsupported(context, name, "this parameter is not supported");
                return true;
            case "_getpages":
                return true;
            default:
                return false;
        }
    }

    private static void ValidateSummary(string value)
    {
        if (value is not ("true" or "false" or "text" or "data" or "count"))
        {
            throw FhirException.BadRequest($"_summary: '{Truncate(value)}' is not one of true, text, data, count, false.");
        }
    }

    private static void ValidateElements(string value, IReadOnlyList<string> types)
    {
        foreach (var element in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!ElementPattern().IsMatch(element))
            {
                throw FhirException.BadRequest($"_elements: '{Truncate(element)}' is not an element name.");
            }

            var dot = element.IndexOf('.');
            var prefixType = dot < 0 ? null : element[..dot];
            var elementName = dot < 0 ? element : element[(dot + 1)..];
            var candidates = prefixType is not null ? [prefixType] : types;
            if (prefixType is not null && !ModelInfo.IsKnownResource(prefixType))
            {
                throw FhirException.BadRequest($"_elements: '{Truncate(element)}' does not name a resource type.");
            }

            if (candidates.Count == 0)
            {
                continue;
            }

            var known = candidates.Any(t => ModelInfo.ModelInspector.FindClassMapping(ModelInfo.GetTypeForFhirType(t)!)?.FindMappedElementByName(elementName) is not null);
            if (!known)
            {
                throw FhirException.BadRequest($"_elements: '{Truncate(element)}' is not an element of {string.Join(" or ", candidates)}.");
            }
        }
    }

    private void ParseSort(ParsedSearch parsed, string value)
    {
        foreach (var raw in value.Split(',', StringSplitOptions.TrimEntries))
        {
            if (raw.Length == 0)
            {
                throw FhirException.BadRequest("_sort: empty sort key.");
            }

            var descending = raw.StartsWith('-');
            var code = descending ? raw[1..] : raw;
            switch (code)
            {
                case "_id":
                    parsed.Sort.Add(new SearchSort("_id", SearchParamType.Token, descending));
                    continue;
                case "_lastUpdated":
                    parsed.Sort.Add(new SearchSort("_lastUpdated", SearchParamType.Date, descending));
                    continue;
            }

            var info = Lookup(parsed.ResourceTypes, code)
                ?? throw FhirException.BadRequest($"_sort: '{Truncate(code)}' is not a search parameter of {Describe(parsed.ResourceTypes)}.");
            if (info.Type is SearchParamType.Composite or SearchParamType.Special)
            {
                throw FhirException.BadRequest($"_sort: '{code}' is a {info.Type.ToString().ToLowerInvariant()} parameter and cannot be sorted on.");
            }

            parsed.Sort.Add(new SearchSort(code, info.Type, descending));
        }

        if (parsed.Sort.Count > 8)
        {
            throw FhirException.BadRequest("_sort: at most 8 sort keys are allowed.");
        }
    }

    private void ParseInclude(ParsedSearch parsed, bool reverse, string value, bool iterate)
    {
        var what = reverse ? "_revinclude" : "_include";
        if (parsed.Includes.Count >= 32)
        {
            throw FhirException.BadRequest($"{what}: at most 32 _include and _revinclude parameters are allowed.");
        }

        if (value == "*")
        {
            if (!reverse)
            {
                parsed.Includes.Add(new SearchInclude(false, null, [], null, iterate));
                return;
            }

            var targets = parsed.ResourceTypes.Count > 0 ? parsed.ResourceTypes : null;
            var codes = AllReferenceParameters().Where(p => targets is null || p.Targets.Count == 0 || p.Targets.Any(targets.Contains))
                .Select(p => p.Code).Distinct().Order(StringComparer.Ordinal).ToArray();
            parsed.Includes.Add(new SearchInclude(true, null, codes, null, iterate));
            return;
        }

        var parts = value.Split(':');
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0))
        {
            throw FhirException.BadRequest($"{what}: '{Truncate(value)}' is not of the form Type:parameter[:targetType] (or *).");
        }

        var source = parts[0];
        if (!ModelInfo.IsKnownResource(source))
        {
            throw FhirException.BadRequest($"{what}: '{Truncate(source)}' is not a resource type.");
        }

        string? target = parts.Length == 3 ? parts[2] : null;
        if (target is not null && !ModelInfo.IsKnownResource(target))
        {
            throw FhirException.BadRequest($"{what}: '{Truncate(target)}' is not a resource type.");
        }

        if (parts[1] == "*")
        {
            var codes = reverse ? registry.ForType(source).Where(p => p.Type == SearchParamType.Reference).Select(p => p.Code).ToArray() : [];
            parsed.Includes.Add(new SearchInclude(reverse, source, codes, target, iterate));
            return;
        }

        var info = registry.Find(source, parts[1]);
        if (info is null || info.Type != SearchParamType.Reference)
        {
            throw FhirException.BadRequest($"{what}: '{Truncate(parts[1])}' is not a reference search parameter of {source}.");
        }

        if (target is not null && info.Targets.Count > 0 && !info.Targets.Contains(target))
        {
            throw FhirException.BadRequest($"{what}: {source}:{info.Code} cannot refer to {target}.");
        }

        parsed.Includes.Add(new SearchInclude(reverse, source, [info.Code], target, iterate));
    }

    private IEnumerable<SearchParameterInfo> AllReferenceParameters() =>
        ModelInfo.SupportedResources.SelectMany(registry.ForType).Where(p => p.Type == SearchParamType.Reference);

    // ---- search parameters ---------------------------------------------------------------------------

    /// <summary>The parameter <paramref name="code"/> as defined for every one of <paramref name="types"/> (with one type), or null.</summary>
    private SearchParameterInfo? Lookup(IReadOnlyList<string> types, string code)
    {
        if (types.Count == 0)
        {
            return registry.Common.FirstOrDefault(p => p.Code == code);
        }

        SearchParameterInfo? first = null;
        foreach (var type in types)
        {
            var info = registry.Find(type, code);
            if (info is null || first is not null && info.Type != first.Type)
            {
                return null;
            }

            first ??= info;
        }

        return first;
    }

    private SearchCondition? ParseParameter(ParseContext context, IReadOnlyList<string> types, string name, string value, int depth)
    {
        if (depth > MaxChainDepth)
        {
            throw FhirException.BadRequest($"'{Truncate(name)}': chains deeper than {MaxChainDepth.ToString(CultureInfo.InvariantCulture)} levels are not supported.");
        }

        if (name.StartsWith("_has:", StringComparison.Ordinal) || name == "_has")
        {
            return ParseHas(context, types, name, value, depth);
        }

        var head = name;
        string? rest = null;
        var dot = name.IndexOf('.');
        if (dot >= 0)
        {
            head = name[..dot];
            rest = name[(dot + 1)..];
        }

        var code = head;
        string? modifier = null;
        var colon = head.IndexOf(':');
        if (colon >= 0)
        {
            code = head[..colon];
            modifier = head[(colon + 1)..];
        }

        if (code.Length == 0)
        {
            return Unknown(context, name, types);
        }

        if (code == "_id" && rest is null)
        {
            return ParseId(context, name, modifier, value);
        }

        if (code == "_lastUpdated" && rest is null)
        {
            return ParseLastUpdated(context, name, modifier, value);
        }

        var info = Lookup(types, code);
        if (info is null)
        {
            return Unknown(context, name, types);
        }

        if (rest is not null)
        {
            return ParseChain(context, info, modifier, rest, name, value, depth);
        }

        if (modifier == "missing")
        {
            var missing = value switch
            {
                "true" => true,
                "false" => false,
                _ => throw FhirException.BadRequest($"{name}: the value must be true or false."),
            };
            return info.Type == SearchParamType.Composite
                ? new MissingCondition(CompositeIndexEntry.ComponentCode(code, 0), ComponentType(info, 0) ?? SearchParamType.Token, missing)
                : info.Type == SearchParamType.Special ? Unsupported(context, name, "special parameters are not supported")
                : new MissingCondition(code, info.Type, missing);
        }

        var values = SearchEscaping.Split(value, ',').Where(v => v.Length > 0).ToList();
        if (values.Count == 0)
        {
            // An empty value is ignored (search.html#errors).
            return null;
        }

        if (values.Count > MaxAlternatives)
        {
            throw FhirException.BadRequest($"{Truncate(name)}: at most {MaxAlternatives.ToString(CultureInfo.InvariantCulture)} comma-separated values are allowed.");
        }

        return info.Type switch
        {
            SearchParamType.String => ParseString(context, info, name, modifier, values),
            SearchParamType.Token => ParseToken(context, info, name, modifier, values),
            SearchParamType.Reference => ParseReferenceValues(context, info, name, modifier, values),
            SearchParamType.Date => modifier is null ? AnyOf(values.Select(v => ParseDate(code, name, v))) : UnsupportedModifier(context, name, modifier),
            SearchParamType.Number => modifier is null ? AnyOf(values.Select(v => ParseNumber(code, name, v))) : UnsupportedModifier(context, name, modifier),
            SearchParamType.Quantity => modifier is null ? AnyOf(values.Select(v => ParseQuantity(code, name, v))) : UnsupportedModifier(context, name, modifier),
            SearchParamType.Uri => ParseUri(context, info, name, modifier, values),
            SearchParamType.Composite => modifier is null ? ParseComposite(context, info, name, values) : UnsupportedModifier(context, name, modifier),
            _ => Unsupported(context, name, $"{info.Type.ToString().ToLowerInvariant()} parameters are not supported"),
        };
    }

    private static SearchCondition AnyOf(IEnumerable<SearchCondition> conditions)
    {
        var list = conditions.ToList();
        return list.Count == 1 ? list[0] : new AnyOfCondition(list);
    }

    private static SearchCondition? ParseId(ParseContext context, string name, string? modifier, string value)
    {
        switch (modifier)
        {
            case "missing":
                return value switch
                {
                    "true" => new IdCondition([]),
                    "false" => new AllOfCondition([]),
                    _ => throw FhirException.BadRequest($"{name}: the value must be true or false."),
                };
            case null or "exact" or "not":
                var ids = SearchEscaping.Split(value, ',').Select(SearchEscaping.Unescape).Where(v => v.Length > 0).ToList();
                if (ids.Count == 0)
                {
                    return null;
                }

                if (ids.Count > 1000)
                {
                    throw FhirException.BadRequest($"{name}: at most 1000 ids are allowed.");
                }

                return modifier == "not" ? new NotCondition(new IdCondition(ids)) : new IdCondition(ids);
            default:
                return UnsupportedModifier(context, name, modifier);
        }
    }

    private static SearchCondition? ParseLastUpdated(ParseContext context, string name, string? modifier, string value)
    {
        if (modifier == "missing")
        {
            return value switch
            {
                "true" => new IdCondition([]),
                "false" => new AllOfCondition([]),
                _ => throw FhirException.BadRequest($"{name}: the value must be true or false."),
            };
        }

        if (modifier is not null)
        {
            return UnsupportedModifier(context, name, modifier);
        }

        var values = SearchEscaping.Split(value, ',').Where(v => v.Length > 0).ToList();
        if (values.Count > MaxAlternatives)
        {
            throw FhirException.BadRequest($"{name}: at most {MaxAlternatives.ToString(CultureInfo.InvariantCulture)} comma-separated values are allowed.");
        }

        return values.Count == 0 ? null : AnyOf(values.Select(v => ParseDate("_lastUpdated", name, v)));
    }

    private SearchCondition? ParseChain(ParseContext context, SearchParameterInfo info, string? modifier, string rest, string name, string value, int depth)
    {
        if (info.Type != SearchParamType.Reference)
        {
            return Unsupported(context, name, $"'{info.Code}' is not a reference parameter, so it cannot be chained");
        }

        IReadOnlyList<string> targets;
        if (modifier is not null)
        {
            if (!ModelInfo.IsKnownResource(modifier))
            {
                return UnsupportedModifier(context, name, modifier);
            }

            if (info.Targets.Count > 0 && !info.Targets.Contains(modifier))
            {
                throw FhirException.BadRequest($"{name}: {info.Code} cannot refer to {modifier}.");
            }

            targets = [modifier];
        }
        else
        {
            targets = info.Targets.Count > 0 ? info.Targets : ModelInfo.SupportedResources.ToList();
        }

        var restCode = rest.Split('.', ':')[0];
        var usable = restCode is "_id" or "_lastUpdated" || rest.StartsWith("_has:", StringComparison.Ordinal)
            ? targets.Where(options.Serves).ToList()
            : targets.Where(t => options.Serves(t) && registry.Find(t, restCode) is not null).ToList();
        if (usable.Count == 0)
        {
            return Unknown(context, name, targets);
        }

        // When the chained parameter differs in type between targets, keep those that agree with the first.
        var firstType = registry.Find(usable[0], restCode)?.Type;
        usable = usable.Where(t => registry.Find(t, restCode)?.Type == firstType).ToList();

        var inner = ParseParameter(context, usable, rest, value, depth + 1);
        return inner is null ? null : new ChainCondition(info.Code, usable, [inner]);
    }

    private SearchCondition? ParseHas(ParseContext context, IReadOnlyList<string> types, string name, string value, int depth)
    {
        var parts = name.Split(':');
        if (parts.Length < 4 || parts[1].Length == 0 || parts[2].Length == 0 || parts[3].Length == 0)
        {
            throw FhirException.BadRequest($"'{Truncate(name)}' is not of the form _has:Type:reference:parameter.");
        }

        var source = parts[1];
        if (!ModelInfo.IsKnownResource(source) || !options.Serves(source))
        {
            return Unknown(context, name, [source]);
        }

        var reference = registry.Find(source, parts[2]);
        if (reference is null || reference.Type != SearchParamType.Reference)
        {
            return Unknown(context, name, [source]);
        }

        if (types.Count > 0 && reference.Targets.Count > 0 && !types.Any(reference.Targets.Contains))
        {
            throw FhirException.BadRequest($"{Truncate(name)}: {source}:{reference.Code} cannot refer to {Describe(types)}.");
        }

        var rest = string.Join(':', parts.Skip(3));
        var inner = ParseParameter(context, [source], rest, value, depth + 1);
        return inner is null ? null : new ReverseChainCondition(source, reference.Code, [inner]);
    }

    private static SearchCondition? ParseString(ParseContext context, SearchParameterInfo info, string name, string? modifier, List<string> values)
    {
        var match = modifier switch
        {
            null => StringMatch.StartsWith,
            "exact" => StringMatch.Exact,
            "contains" => StringMatch.Contains,
            _ => (StringMatch?)null,
        };
        if (match is null)
        {
            return UnsupportedModifier(context, name, modifier!);
        }

        return AnyOf(values.Select(SearchEscaping.Unescape).Select(v => new StringCondition(info.Code, v, SearchText.Normalize(v), match.Value)));
    }

    private static SearchCondition? ParseToken(ParseContext context, SearchParameterInfo info, string name, string? modifier, List<string> values)
    {
        switch (modifier)
        {
            case null:
                return AnyOf(values.Select(v => ParseTokenValue(info.Code, name, v)));
            case "not":
                return new NotCondition(AnyOf(values.Select(v => ParseTokenValue(info.Code, name, v))));
            case "text":
                return AnyOf(values.Select(v => new TokenTextCondition(info.Code, SearchText.Normalize(SearchEscaping.Unescape(v)))));
            case "in" or "not-in" when context.ValueSets is not null:
                return ParseInValueSet(context, info, name, modifier!, values);
            case "in" or "not-in" or "above" or "below":
                return Unsupported(context, name, $"the :{modifier} modifier needs terminology services, which search does not use");
            case "of-type":
                return AnyOf(values.Select(v => ParseOfType(info.Code, name, v)));
            default:
                return UnsupportedModifier(context, name, modifier);
        }
    }

    /// <summary>Most codes a value set may expand to for <c>:in</c>/<c>:not-in</c>: each becomes a condition of the query.</summary>
    internal const int MaxValueSetCodes = 500;

    /// <summary><c>code:in=[value set]</c> (any code of the expansion; commas OR value sets) and <c>:not-in</c> (none of them).</summary>
    private static SearchCondition ParseInValueSet(ParseContext context, SearchParameterInfo info, string name, string modifier, List<string> values)
    {
        var codes = new List<SearchCondition>();
        foreach (var value in values)
        {
            var url = SearchEscaping.Unescape(value);
            if (!context.ValueSets!.TryGetValue(url, out var expansion) || expansion is null)
            {
                throw FhirException.BadRequest($"{name}: the value set '{Truncate(url)}' is not known to this server.");
            }

            codes.AddRange(expansion.Select(c => new TokenCondition(info.Code, c.System, c.Code, c.System is null ? TokenSystemMatch.Any : TokenSystemMatch.Equals)));
            if (codes.Count > MaxValueSetCodes)
            {
                throw new FhirException(System.Net.HttpStatusCode.BadRequest, OperationOutcome.IssueType.TooCostly,
                    $"{name}: the value set expands to more than {MaxValueSetCodes} codes, too many for :{modifier}.");
            }
        }

        var any = AnyOf(codes);
        return modifier == "in" ? any : new NotCondition(any);
    }

    /// <summary><c>identifier:of-type=[type system]|[type code]|[value]</c> (search.html#token): all three parts are required.</summary>
    private static TokenCondition ParseOfType(string code, string name, string value)
    {
        var parts = SearchEscaping.Split(value, '|');
        if (parts.Count != 3 || parts.Any(p => p.Length == 0))
        {
            throw FhirException.BadRequest($"{name}: :of-type takes [type system]|[type code]|[identifier value], all three present.");
        }

        return new TokenCondition(code + SearchIndexer.OfTypeSuffix, SearchEscaping.Unescape(parts[0]), SearchEscaping.Unescape(parts[1]) + "|" + SearchEscaping.Unescape(parts[2]), TokenSystemMatch.Equals);
    }

    private static TokenCondition ParseTokenValue(string code, string name, string value)
    {
        var parts = SearchEscaping.Split(value, '|');
        switch (parts.Count)
        {
            case 1:
                return new TokenCondition(code, null, SearchEscaping.Unescape(parts[0]), TokenSystemMatch.Any);
            case 2:
                var system = SearchEscaping.Unescape(parts[0]);
                var c = SearchEscaping.Unescape(parts[1]);
                if (system.Length == 0 && c.Length == 0)
                {
                    throw FhirException.BadRequest($"{name}: a token needs a code, a system or both ('|' alone is not a token).");
                }

                return system.Length == 0
                    ? new TokenCondition(code, null, c, TokenSystemMatch.None)
                    : new TokenCondition(code, system, c.Length == 0 ? null : c, TokenSystemMatch.Equals);
            default:
                throw FhirException.BadRequest($"{name}: a token is [system]|[code]; the value has more than one unescaped '|'.");
        }
    }

    private SearchCondition? ParseReferenceValues(ParseContext context, SearchParameterInfo info, string name, string? modifier, List<string> values)
    {
        if (modifier == "identifier")
        {
            return AnyOf(values.Select(v => ParseTokenValue(info.Code + ":identifier", name, v)));
        }

        if (modifier is not null && !ModelInfo.IsKnownResource(modifier))
        {
            return modifier is "above" or "below"
                ? Unsupported(context, name, $"the :{modifier} modifier is not supported on references")
                : UnsupportedModifier(context, name, modifier);
        }

        if (modifier is not null && info.Targets.Count > 0 && !info.Targets.Contains(modifier))
        {
            throw FhirException.BadRequest($"{name}: {info.Code} cannot refer to {modifier}.");
        }

        return AnyOf(values.Select(v => ParseReferenceValue(context, info, name, modifier, SearchEscaping.Unescape(v))));
    }

    private SearchCondition ParseReferenceValue(ParseContext context, SearchParameterInfo info, string name, string? typeModifier, string value)
    {
        var local = value;
        if (context.BaseUrl.Length > 0 && value.StartsWith(context.BaseUrl + "/", StringComparison.Ordinal))
        {
            local = value[(context.BaseUrl.Length + 1)..];
        }
        else if (value.Contains("://", StringComparison.Ordinal) || value.StartsWith("urn:", StringComparison.OrdinalIgnoreCase))
        {
            return new ReferenceCondition(info.Code, null, null, SearchIndexer.WithoutVersion(value).ToString());
        }

        var history = local.IndexOf("/_history/", StringComparison.Ordinal);
        if (history >= 0)
        {
            local = local[..history];
        }

        var segments = local.Split('/');
        switch (segments.Length)
        {
            case 1:
                if (!SearchIndexer.IdPattern().IsMatch(segments[0]))
                {
                    throw FhirException.BadRequest($"{name}: the reference is not a valid id, Type/id or absolute URL.");
                }

                var targets = typeModifier is not null ? [typeModifier] : info.Targets.Count > 0 ? info.Targets : null;
                return new ReferenceCondition(info.Code, targets, segments[0], null);
            case 2:
                if (!ModelInfo.IsKnownResource(segments[0]) || !SearchIndexer.IdPattern().IsMatch(segments[1]))
                {
                    throw FhirException.BadRequest($"{name}: the reference is not a valid id, Type/id or absolute URL.");
                }

                if (typeModifier is not null && typeModifier != segments[0])
                {
                    throw FhirException.BadRequest($"{name}: the reference's type {segments[0]} differs from the modifier :{typeModifier}.");
                }

                if (info.Targets.Count > 0 && !info.Targets.Contains(segments[0]))
                {
                    throw FhirException.BadRequest($"{name}: {info.Code} cannot refer to {segments[0]}.");
                }

                return new ReferenceCondition(info.Code, [segments[0]], segments[1], null);
            default:
                throw FhirException.BadRequest($"{name}: the reference is not a valid id, Type/id or absolute URL.");
        }
    }

    private static SearchCondition? ParseUri(ParseContext context, SearchParameterInfo info, string name, string? modifier, List<string> values)
    {
        var match = modifier switch
        {
            null => UriMatch.Exact,
            "below" => UriMatch.Below,
            "above" => UriMatch.Above,
            _ => (UriMatch?)null,
        };
        return match is null
            ? UnsupportedModifier(context, name, modifier!)
            : AnyOf(values.Select(v => new UriCondition(info.Code, SearchEscaping.Unescape(v), match.Value)));
    }

    private SearchCondition? ParseComposite(ParseContext context, SearchParameterInfo info, string name, List<string> values)
    {
        var types = new SearchParamType[info.Components.Count];
        for (var i = 0; i < types.Length; i++)
        {
            var t = ComponentType(info, i);
            if (t is null or SearchParamType.Composite or SearchParamType.Special)
            {
                return Unsupported(context, name, "this composite parameter's components are not supported");
            }

            types[i] = t.Value;
        }

        var alternatives = new List<SearchCondition>();
        foreach (var value in values)
        {
            var parts = SearchEscaping.Split(value, '$');
            if (parts.Count != types.Length)
            {
                throw FhirException.BadRequest($"{name}: a value needs {types.Length.ToString(CultureInfo.InvariantCulture)} components separated by '$'.");
            }

            var components = new SearchCondition[types.Length];
            for (var i = 0; i < types.Length; i++)
            {
                var componentCode = CompositeIndexEntry.ComponentCode(info.Code, i);
                var part = parts[i];
                if (part.Length == 0)
                {
                    throw FhirException.BadRequest($"{name}: component {(i + 1).ToString(CultureInfo.InvariantCulture)} is empty.");
                }

                components[i] = types[i] switch
                {
                    SearchParamType.Token => ParseTokenValue(componentCode, name, part),
                    SearchParamType.String => new StringCondition(componentCode, SearchEscaping.Unescape(part), SearchText.Normalize(SearchEscaping.Unescape(part)), StringMatch.StartsWith),
                    SearchParamType.Date => ParseDate(componentCode, name, part),
                    SearchParamType.Number => ParseNumber(componentCode, name, part),
                    SearchParamType.Quantity => ParseQuantity(componentCode, name, part),
                    SearchParamType.Uri => new UriCondition(componentCode, SearchEscaping.Unescape(part), UriMatch.Exact),
                    SearchParamType.Reference => ParseReferenceValue(context, info with { Code = componentCode, Targets = [] }, name, null, SearchEscaping.Unescape(part)),
                    _ => throw FhirException.BadRequest($"{name}: unsupported component."),
                };
            }

            alternatives.Add(new CompositeCondition(info.Code, components));
        }

        return AnyOf(alternatives);
    }

    private SearchParamType? ComponentType(SearchParameterInfo info, int index) =>
        index < info.Components.Count ? registry.FindByUrl(info.Components[index].Definition)?.Type : null;

    // ---- prefixed values -----------------------------------------------------------------------------

    private static (SearchPrefix Prefix, string Text) SplitPrefix(string name, string value)
    {
        if (value.Length >= 2 && char.IsAsciiLetter(value[0]) && char.IsAsciiLetter(value[1]))
        {
            var prefix = value[..2] switch
            {
                "eq" => SearchPrefix.Eq,
                "ne" => SearchPrefix.Ne,
                "gt" => SearchPrefix.Gt,
                "lt" => SearchPrefix.Lt,
                "ge" => SearchPrefix.Ge,
                "le" => SearchPrefix.Le,
                "sa" => SearchPrefix.Sa,
                "eb" => SearchPrefix.Eb,
                "ap" => SearchPrefix.Ap,
                _ => throw FhirException.BadRequest($"{name}: '{Truncate(value[..2])}' is not a search prefix (eq, ne, gt, lt, ge, le, sa, eb, ap)."),
            };
            return (prefix, value[2..]);
        }

        return (SearchPrefix.Eq, value);
    }

    internal static DateCondition ParseDate(string code, string name, string raw)
    {
        var (prefix, text) = SplitPrefix(name, SearchEscaping.Unescape(raw));
        if (!SearchDates.TryParseRange(text, out var low, out var high))
        {
            throw FhirException.BadRequest($"{name}: '{Truncate(text)}' is not a valid FHIR date, dateTime or instant (e.g. 2024, 2024-03, 2024-03-15, 2024-03-15T10:30:00Z).");
        }

        var margin = TimeSpan.Zero;
        if (prefix == SearchPrefix.Ap)
        {
            // search.html#prefix: approximately = within 10% of the gap between now and the value (at least a day).
            var gap = (DateTimeOffset.UtcNow - low).Duration();
            margin = TimeSpan.FromTicks(Math.Max(gap.Ticks / 10, TimeSpan.TicksPerDay));
        }

        return new DateCondition(code, prefix, low, high, margin);
    }

    private static NumberCondition ParseNumber(string code, string name, string raw)
    {
        var (prefix, text) = SplitPrefix(name, SearchEscaping.Unescape(raw));
        if (!SearchNumbers.TryParse(text, out var value, out var low, out var high))
        {
            throw FhirException.BadRequest($"{name}: '{Truncate(text)}' is not a number.");
        }

        return new NumberCondition(code, prefix, value, low, high);
    }

    private static QuantityCondition ParseQuantity(string code, string name, string raw)
    {
        var parts = SearchEscaping.Split(raw, '|');
        if (parts.Count is not (1 or 3))
        {
            throw FhirException.BadRequest($"{name}: a quantity is [prefix]number, or [prefix]number|system|code (system may be empty).");
        }

        var (prefix, text) = SplitPrefix(name, SearchEscaping.Unescape(parts[0]));
        if (!SearchNumbers.TryParse(text, out var value, out var low, out var high))
        {
            throw FhirException.BadRequest($"{name}: '{Truncate(text)}' is not a number.");
        }

        var range = new NumberRange(value, low, high);
        if (parts.Count == 1)
        {
            return new QuantityCondition(code, prefix, range, null, null, null, null);
        }

        var system = SearchEscaping.Unescape(parts[1]);
        var unit = SearchEscaping.Unescape(parts[2]);
        if (unit.Length == 0 && system.Length > 0)
        {
            throw FhirException.BadRequest($"{name}: a quantity with a system needs a unit code.");
        }

        NumberRange? canonical = null;
        string? canonicalCode = null;
        if (system == SearchIndexer.Ucum && unit.Length > 0)
        {
            var (cv, cc) = SearchIndexer.Canonicalize(value, system, unit);
            var (cl, _) = SearchIndexer.Canonicalize(low, system, unit);
            var (ch, _) = SearchIndexer.Canonicalize(high, system, unit);
            if (cv is not null && cl is not null && ch is not null)
            {
                canonical = new NumberRange(cv.Value, Math.Min(cl.Value, ch.Value), Math.Max(cl.Value, ch.Value));
                canonicalCode = cc;
            }
        }

        return new QuantityCondition(code, prefix, range, system.Length == 0 ? null : system, unit.Length == 0 ? null : unit, canonical, canonicalCode);
    }

    // ---- compartments --------------------------------------------------------------------------------

    private SearchCondition CompartmentCondition(string compartmentType, string compartmentId, string? resourceType, IReadOnlyList<string> types)
    {
        var definition = CompartmentDefinitions.For(compartmentType)!;
        var perType = new List<SearchCondition>();
        foreach (var type in resourceType is not null ? [resourceType] : types)
        {
            var alternatives = new List<SearchCondition>();
            if (type == compartmentType)
            {
                // The focal resource is in its own compartment.
                alternatives.Add(new ResourceKeysCondition([(compartmentType, compartmentId)]));
            }

            if (definition.TryGetValue(type, out var parameters))
            {
                foreach (var code in parameters)
                {
                    if (code == "{def}")
                    {
                        continue;
                    }

                    var info = registry.Find(type, code);
                    if (info?.Type == SearchParamType.Reference)
                    {
                        alternatives.Add(new ReferenceCondition(code, [compartmentType], compartmentId, null));
                    }
                }
            }

            if (alternatives.Count == 0)
            {
                continue;
            }

            SearchCondition condition = alternatives.Count == 1 ? alternatives[0] : new AnyOfCondition(alternatives);
            perType.Add(resourceType is not null ? condition : new AllOfCondition([new TypeCondition([type]), condition]));
        }

        return perType.Count == 1 ? perType[0] : new AnyOfCondition(perType);
    }

    // ---- errors and warnings -------------------------------------------------------------------------

    private static SearchCondition? Unknown(ParseContext context, string name, IReadOnlyList<string> types)
    {
        var message = $"Parameter '{Truncate(name)}' is not a known search parameter of {Describe(types)}";
        if (context.Strict)
        {
            throw FhirException.BadRequest(message + ".");
        }

        context.Parsed.Warnings.Add(message + "; it was ignored.");
        return null;
    }

    private static SearchCondition? UnsupportedModifier(ParseContext context, string name, string modifier) =>
        Unsupported(context, name, $"the modifier ':{Truncate(modifier)}' is not supported here");

    private static SearchCondition? Unsupported(ParseContext context, string name, string why)
    {
        var message = $"Parameter '{Truncate(name)}': {why}";
        if (context.Strict)
        {
            throw FhirException.BadRequest(message + ".");
        }

        context.Parsed.Warnings.Add(message + "; it was ignored.");
        return null;
    }

    private static string Describe(IReadOnlyList<string> types) =>
        types.Count == 0 ? "all resources (only the common parameters apply to a search without _type)" : types.Count <= 3 ? string.Join(", ", types) : $"{types[0]}, {types[1]} and {(types.Count - 2).ToString(CultureInfo.InvariantCulture)} more types";

    private static int ParseNonNegative(string name, string value)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            throw FhirException.BadRequest($"{name}: '{Truncate(value)}' is not a non-negative integer.");
        }

        return n;
    }

    internal static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private sealed record ParseContext(ParsedSearch Parsed, bool Strict, string BaseUrl, IReadOnlyDictionary<string, IReadOnlyCollection<FhirSearchCode>?>? ValueSets = null,
        IReadOnlyDictionary<string, IReadOnlyList<(string Type, string Id)>?>? Lists = null);
}
