using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;

using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;

namespace Igia.Fhir.Search;

/// <summary>
/// Extracts the index rows of a resource from the FHIRPath expressions of its type's search parameters. Expressions are
/// split to the part for the type, compiled once and cached; <c>resolve()</c> answers an empty resource of the type the
/// reference names, which is all <c>where(resolve() is Patient)</c> needs. A failing expression skips that parameter only.
/// </summary>
internal sealed partial class SearchIndexer(SearchParameterRegistry registry)
{
    /// <summary>The UCUM system URI.</summary>
    public const string Ucum = "http://unitsofmeasure.org";

    private static readonly FhirPathCompiler Compiler = CreateCompiler();
    private static readonly ConcurrentDictionary<string, CompiledExpression?> CompiledCache = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, PathEvaluator?> FastCache = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, PocoNode> Stubs = new(StringComparer.Ordinal);

    private readonly ConcurrentDictionary<string, TypePlan> _plans = new(StringComparer.Ordinal);

    [GeneratedRegex(@"^[A-Za-z0-9\-\.]{1,64}$")]
    internal static partial Regex IdPattern();

    /// <summary>The index rows of <paramref name="resource"/>.</summary>
    public IReadOnlyList<SearchIndexEntry> Extract(Resource resource)
    {
        var entries = new List<SearchIndexEntry>(32);
        AddCommon(resource, entries);
        var plan = PlanFor(resource.TypeName);
        if (plan.Parameters.Length == 0)
        {
            return entries;
        }

        var state = new ExtractState(resource);
        var buffer = new List<object>(8);
        foreach (var p in plan.Parameters)
        {
            try
            {
                buffer.Clear();
                Evaluate(p.Fast, p.Slow, resource, state, buffer);
                foreach (var value in buffer)
                {
                    if (p.Components is null)
                    {
                        Convert(p.Info.Code, p.Info.Type, value, entries);
                    }
                    else
                    {
                        AddComposite(p, value, state, entries);
                    }
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // An expression that fails on this resource (odd data, an unsupported FHIRPath feature) skips this
                // parameter; the write goes on.
            }
        }

        return entries;
    }

    /// <summary>Evaluates with the fast POCO path when there is one, otherwise with Firely's FHIRPath engine.</summary>
    private static void Evaluate(PathEvaluator? fast, CompiledExpression? slow, object focus, ExtractState state, List<object> output)
    {
        if (fast is not null)
        {
            fast(focus, state.Path, output);
            return;
        }

        var node = ReferenceEquals(focus, state.Resource) ? state.RootNode : ((Base)focus).ToPocoNode();
        foreach (var result in slow!([node], state.FhirContext))
        {
            if (result.Poco is { } poco)
            {
                output.Add(poco);
            }
        }
    }

    private static void AddComposite(ParameterPlan p, object element, ExtractState state, List<SearchIndexEntry> entries)
    {
        var components = new IReadOnlyList<SearchIndexEntry>[p.Components!.Length];
        var buffer = new List<object>(2);
        for (var i = 0; i < components.Length; i++)
        {
            var c = p.Components[i];
            var rows = new List<SearchIndexEntry>(2);
            buffer.Clear();
            Evaluate(c.Fast, c.Slow, element, state, buffer);
            foreach (var value in buffer)
            {
                Convert(c.Code, c.Type, value, rows);
            }

            if (rows.Count == 0)
            {
                return;
            }

            components[i] = rows;
        }

        entries.Add(new CompositeIndexEntry(p.Info.Code, components));
    }

    /// <summary>Per-resource evaluation state; the Firely structures are only built when an expression needs them.</summary>
    private sealed class ExtractState(Resource resource)
    {
        private PocoNode? _root;
        private FhirEvaluationContext? _fhirContext;

        public Resource Resource { get; } = resource;

        public PathContext Path { get; } = new(resource);

        public PocoNode RootNode => _root ??= Resource.ToPocoNode();

        public FhirEvaluationContext FhirContext => _fhirContext ??= new FhirEvaluationContext { ElementResolver = reference => Resolve(Resource, reference) };
    }

    private static void AddCommon(Resource resource, List<SearchIndexEntry> entries)
    {
        if (resource.Meta is not { } meta)
        {
            return;
        }

        foreach (var tag in meta.Tag)
        {
            AddCoding("_tag", tag, entries);
        }

        foreach (var label in meta.Security)
        {
            AddCoding("_security", label, entries);
        }

        foreach (var profile in meta.Profile)
        {
            if (!string.IsNullOrEmpty(profile))
            {
                entries.Add(new UriIndexEntry("_profile", profile));
            }
        }

        if (!string.IsNullOrEmpty(meta.Source))
        {
            entries.Add(new UriIndexEntry("_source", meta.Source));
        }
    }

    // ---- conversion of FHIRPath results to rows ------------------------------------------------------

    private static void Convert(string code, SearchParamType type, object value, List<SearchIndexEntry> entries)
    {
        switch (type)
        {
            case SearchParamType.String:
                AddString(code, value, entries);
                break;
            case SearchParamType.Token:
                AddToken(code, value, entries);
                break;
            case SearchParamType.Reference:
                AddReference(code, value, entries);
                break;
            case SearchParamType.Date:
                AddDate(code, value, entries);
                break;
            case SearchParamType.Number:
                AddNumber(code, value, entries);
                break;
            case SearchParamType.Quantity:
                AddQuantity(code, value, entries);
                break;
            case SearchParamType.Uri:
                if (PrimitiveText(value) is { Length: > 0 } uri)
                {
                    entries.Add(new UriIndexEntry(code, uri));
                }

                break;
        }
    }

    private static string? PrimitiveText(object? value) => value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        PrimitiveType { JsonValue: string s } => s,
        PrimitiveType { JsonValue: bool b } => b ? "true" : "false",
        PrimitiveType { JsonValue: IFormattable f } => f.ToString(null, CultureInfo.InvariantCulture),
        PrimitiveType { JsonValue: { } o } => o.ToString(),
        _ => null,
    };

    private static void AddStringValue(string code, string? text, List<SearchIndexEntry> entries)
    {
        if (!string.IsNullOrWhiteSpace(text))
        {
            entries.Add(new StringIndexEntry(code, SearchText.Normalize(text), text));
        }
    }

    private static void AddString(string code, object? value, List<SearchIndexEntry> entries)
    {
        switch (value)
        {
            case HumanName name:
                AddStringValue(code, name.Text, entries);
                AddStringValue(code, name.Family, entries);
                foreach (var s in name.Given)
                {
                    AddStringValue(code, s, entries);
                }

                foreach (var s in name.Prefix)
                {
                    AddStringValue(code, s, entries);
                }

                foreach (var s in name.Suffix)
                {
                    AddStringValue(code, s, entries);
                }

                break;
            case Address address:
                AddStringValue(code, address.Text, entries);
                foreach (var s in address.Line)
                {
                    AddStringValue(code, s, entries);
                }

                AddStringValue(code, address.City, entries);
                AddStringValue(code, address.District, entries);
                AddStringValue(code, address.State, entries);
                AddStringValue(code, address.PostalCode, entries);
                AddStringValue(code, address.Country, entries);
                break;
            case CodeableConcept cc:
                AddStringValue(code, cc.Text, entries);
                foreach (var coding in cc.Coding)
                {
                    AddStringValue(code, coding.Display, entries);
                }

                break;
            case Coding coding:
                AddStringValue(code, coding.Display, entries);
                break;
            case ContactPoint cp:
                AddStringValue(code, cp.Value, entries);
                break;
            case Annotation annotation:
                AddStringValue(code, annotation.Text, entries);
                break;
            default:
                AddStringValue(code, PrimitiveText(value), entries);
                break;
        }
    }

    private static string? NormalizedOrNull(string? text) => string.IsNullOrWhiteSpace(text) ? null : SearchText.Normalize(text);

    private static void AddCoding(string code, Coding coding, List<SearchIndexEntry> entries)
    {
        if (coding.Code is not null || coding.System is not null)
        {
            entries.Add(new TokenIndexEntry(code, NullIfEmpty(coding.System), NullIfEmpty(coding.Code), NormalizedOrNull(coding.Display)));
        }
    }

    /// <summary>Suffix of the parameter code of the <c>:of-type</c> index rows of an identifier parameter.</summary>
    internal const string OfTypeSuffix = ":of-type";

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static void AddToken(string code, object? value, List<SearchIndexEntry> entries)
    {
        switch (value)
        {
            case Coding coding:
                AddCoding(code, coding, entries);
                break;
            case CodeableConcept cc:
                foreach (var coding in cc.Coding)
                {
                    AddCoding(code, coding, entries);
                }

                if (!string.IsNullOrWhiteSpace(cc.Text))
                {
                    entries.Add(new TokenIndexEntry(code, null, null, SearchText.Normalize(cc.Text)));
                }

                break;
            case Identifier identifier:
                if (identifier.Value is not null || identifier.System is not null)
                {
                    entries.Add(new TokenIndexEntry(code, NullIfEmpty(identifier.System), NullIfEmpty(identifier.Value), NormalizedOrNull(identifier.Type?.Text)));
                }

                // :of-type (system|code|value of Identifier.type.coding and Identifier.value): one row per type coding,
                // its code and the identifier's value joined by '|' so that the three parts are one index lookup.
                if (!string.IsNullOrEmpty(identifier.Value) && identifier.Type is { } identifierType)
                {
                    foreach (var typeCoding in identifierType.Coding)
                    {
                        if (!string.IsNullOrEmpty(typeCoding.System) && !string.IsNullOrEmpty(typeCoding.Code))
                        {
                            entries.Add(new TokenIndexEntry(code + OfTypeSuffix, typeCoding.System, typeCoding.Code + "|" + identifier.Value, null));
                        }
                    }
                }

                break;
            case ContactPoint cp:
                if (!string.IsNullOrEmpty(cp.Value))
                {
                    entries.Add(new TokenIndexEntry(code, cp.SystemElement?.JsonValue as string, cp.Value, null));
                }

                break;
            case ICoded coded and PrimitiveType { JsonValue: string literal }:
                // code bound to a required value set: keep the implied system, so that system|code matches too.
                string? system = null;
                foreach (var c in coded.ToCodings())
                {
                    system = NullIfEmpty(c.System);
                    break;
                }

                entries.Add(new TokenIndexEntry(code, system, literal, null));
                break;
            default:
                if (PrimitiveText(value) is { Length: > 0 } text)
                {
                    entries.Add(new TokenIndexEntry(code, null, text, null));
                }

                break;
        }
    }

    private static void AddReference(string code, object? value, List<SearchIndexEntry> entries)
    {
        switch (value)
        {
            case ResourceReference reference:
                if (reference.Reference is { Length: > 0 } r && ParseReference(r) is { } parsed)
                {
                    entries.Add(new ReferenceIndexEntry(code, parsed.Type, parsed.Id, parsed.Url));
                }

                if (reference.Identifier is { } identifier && (identifier.Value is not null || identifier.System is not null))
                {
                    entries.Add(new TokenIndexEntry(code + ":identifier", NullIfEmpty(identifier.System), NullIfEmpty(identifier.Value), null));
                }

                break;
            case Resource resource when resource.Id is not null:
                entries.Add(new ReferenceIndexEntry(code, resource.TypeName, resource.Id, null));
                break;
            default:
                if (PrimitiveText(value) is { Length: > 0 } url && ParseReference(url) is { } canonical)
                {
                    entries.Add(new ReferenceIndexEntry(code, canonical.Type, canonical.Id, canonical.Url));
                }

                break;
        }
    }

    /// <summary>A reference without its version: cut at <c>|</c> (a canonical's version), then at <c>/_history/</c>.</summary>
    internal static ReadOnlySpan<char> WithoutVersion(ReadOnlySpan<char> reference)
    {
        var bar = reference.IndexOf('|');
        if (bar >= 0)
        {
            reference = reference[..bar];
        }

        var history = reference.IndexOf("/_history/", StringComparison.Ordinal);
        return history >= 0 ? reference[..history] : reference;
    }

    /// <summary>Parses a reference or canonical: relative <c>Type/id</c>, absolute URL (kept without version) or URN.</summary>
    internal static (string? Type, string? Id, string? Url)? ParseReference(string reference)
    {
        if (reference.StartsWith('#'))
        {
            return null;
        }

        var bar = reference.IndexOf('|');
        if (bar >= 0)
        {
            reference = reference[..bar];
        }

        var absolute = reference.Contains("://", StringComparison.Ordinal) || reference.StartsWith("urn:", StringComparison.OrdinalIgnoreCase);
        var path = reference;
        var history = path.IndexOf("/_history/", StringComparison.Ordinal);
        if (history >= 0)
        {
            path = path[..history];
        }

        string? type = null, id = null;
        var lastSlash = path.LastIndexOf('/');
        if (lastSlash > 0)
        {
            var typeStart = path.LastIndexOf('/', lastSlash - 1) + 1;
            var t = path[typeStart..lastSlash];
            var i = path[(lastSlash + 1)..];
            if (ModelInfo.IsKnownResource(t) && IdPattern().IsMatch(i))
            {
                type = t;
                id = i;
            }
        }

        if (!absolute && type is null)
        {
            return null;
        }

        return (type, id, absolute ? path : null);
    }

    private static void AddDateRange(string code, string? text, List<SearchIndexEntry> entries)
    {
        if (text is not null && SearchDates.TryParseRange(text, out var low, out var high))
        {
            entries.Add(new DateIndexEntry(code, low, high));
        }
    }

    private static void AddDate(string code, object? value, List<SearchIndexEntry> entries)
    {
        switch (value)
        {
            case Instant { Value: { } instant }:
                var utc = instant.ToUniversalTime();
                entries.Add(new DateIndexEntry(code, utc, utc));
                break;
            case FhirDateTime dt:
                AddDateRange(code, dt.Value, entries);
                break;
            case Date d:
                AddDateRange(code, d.Value, entries);
                break;
            case Period period:
                AddPeriod(code, period, entries);
                break;
            case Timing timing:
                foreach (var e in timing.EventElement)
                {
                    AddDateRange(code, e?.Value, entries);
                }

                if (timing.Repeat?.Bounds is Period bounds)
                {
                    AddPeriod(code, bounds, entries);
                }

                break;
            default:
                AddDateRange(code, PrimitiveText(value), entries);
                break;
        }
    }

    private static void AddPeriod(string code, Period period, List<SearchIndexEntry> entries)
    {
        if (period.Start is null && period.End is null)
        {
            return;
        }

        var low = DateTimeOffset.MinValue;
        var high = DateTimeOffset.MaxValue;
        if (period.Start is not null)
        {
            if (!SearchDates.TryParseRange(period.Start, out low, out _))
            {
                return;
            }
        }

        if (period.End is not null)
        {
            if (!SearchDates.TryParseRange(period.End, out _, out high))
            {
                return;
            }
        }

        entries.Add(new DateIndexEntry(code, low, high));
    }

    private static void AddNumber(string code, object? value, List<SearchIndexEntry> entries)
    {
        switch (value)
        {
            case PrimitiveType { JsonValue: decimal d }:
                entries.Add(new NumberIndexEntry(code, d));
                break;
            case PrimitiveType { JsonValue: int i }:
                entries.Add(new NumberIndexEntry(code, i));
                break;
            case PrimitiveType { JsonValue: long l }:
                entries.Add(new NumberIndexEntry(code, l));
                break;
            case Integer64 { Value: { } l64 }:
                entries.Add(new NumberIndexEntry(code, l64));
                break;
            case Quantity { Value: { } q }:
                entries.Add(new NumberIndexEntry(code, q));
                break;
        }
    }

    private static void AddQuantity(string code, object? value, List<SearchIndexEntry> entries)
    {
        switch (value)
        {
            case Quantity { Value: { } v } q:
                var (cv, cc) = Canonicalize(v, q.System, q.Code);
                entries.Add(new QuantityIndexEntry(code, v, NullIfEmpty(q.System), NullIfEmpty(q.Code), NullIfEmpty(q.Unit), cv, cc));
                break;
            case Money { Value: { } amount } money:
                entries.Add(new QuantityIndexEntry(code, amount, "urn:iso:std:iso:4217", money.CurrencyElement?.JsonValue as string, null, null, null));
                break;
        }
    }

    private static readonly ConcurrentDictionary<string, (decimal Factor, string Code)?> UcumFactors = new(StringComparer.Ordinal);

    /// <summary>The value in UCUM base units, when <paramref name="system"/> is UCUM and the unit converts (by a factor; units with offsets are not converted).</summary>
    internal static (decimal? Value, string? Code) Canonicalize(decimal value, string? system, string? unit)
    {
        if (system != Ucum || string.IsNullOrEmpty(unit) || unit.Length > 64)
        {
            return (null, null);
        }

        // Parsing a UCUM expression is slow; the factor to base units is computed once per unit.
        var factor = UcumFactors.Count < 10_000 ? UcumFactors.GetOrAdd(unit, FactorOf) : FactorOf(unit);
        if (factor is not { } f)
        {
            return (null, null);
        }

        try
        {
            return (value * f.Factor, f.Code);
        }
        catch (OverflowException)
        {
            return (null, null);
        }
    }

    private static (decimal Factor, string Code)? FactorOf(string unit)
    {
        try
        {
            var service = global::Fhir.Metrics.FhirMetricService.Instance.Value;
            if (global::Fhir.Metrics.MetricServiceExtensions.TryCanonicalize(service, (1m, unit, Ucum), out var one) && one is { } a
                && global::Fhir.Metrics.MetricServiceExtensions.TryCanonicalize(service, (10m, unit, Ucum), out var ten) && ten is { } b
                && a.Item2 == b.Item2 && a.Item1 * 10 == b.Item1)
            {
                return (a.Item1, a.Item2);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Units the library cannot parse are compared as written.
        }

        return null;
    }

    // ---- resolve() -------------------------------------------------------------------------------------

    private static PocoNode? Resolve(Resource root, string reference)
    {
        if (reference.StartsWith('#'))
        {
            if (root is DomainResource dr)
            {
                var id = reference[1..];
                foreach (var contained in dr.Contained)
                {
                    if (contained.Id == id)
                    {
                        return contained.ToPocoNode();
                    }
                }
            }

            return null;
        }

        return ParseReference(reference) is { Type: { } type } && PocoPath.Stub(type) is { } stub ? Stubs.GetOrAdd(type, _ => stub.ToPocoNode()) : null;
    }

    // ---- plans -----------------------------------------------------------------------------------------

    private TypePlan PlanFor(string type)
    {
        var version = registry.Version;
        if (_plans.TryGetValue(type, out var plan) && plan.Version == version)
        {
            return plan;
        }

        plan = BuildPlan(type, version);
        _plans[type] = plan;
        return plan;
    }

    private TypePlan BuildPlan(string type, int version)
    {
        var list = new List<ParameterPlan>();
        foreach (var info in registry.ForType(type))
        {
            if (info.Type == SearchParamType.Special || string.IsNullOrEmpty(info.Expression))
            {
                continue;
            }

            var text = ExpressionFor(info.Expression, type);
            var fast = FastCompile(text);
            var slow = fast is null ? Compile(text) : null;
            if (fast is null && slow is null)
            {
                continue;
            }

            ComponentPlan[]? components = null;
            if (info.Type == SearchParamType.Composite)
            {
                components = new ComponentPlan[info.Components.Count];
                for (var i = 0; i < components.Length; i++)
                {
                    var (definition, componentExpression) = info.Components[i];
                    var componentType = registry.FindByUrl(definition)?.Type;
                    var componentFast = FastCompile(componentExpression);
                    var componentSlow = componentFast is null ? Compile(componentExpression) : null;
                    if (componentType is null or SearchParamType.Composite or SearchParamType.Special || componentFast is null && componentSlow is null)
                    {
                        components = null;
                        break;
                    }

                    components[i] = new ComponentPlan(CompositeIndexEntry.ComponentCode(info.Code, i), componentType.Value, componentFast, componentSlow);
                }

                if (components is null)
                {
                    continue;
                }
            }

            list.Add(new ParameterPlan(info, fast, slow, components));
        }

        return new TypePlan(version, [.. list]);
    }

    /// <summary>The part of a (possibly shared) expression that applies to <paramref name="type"/>.</summary>
    internal static string ExpressionFor(string expression, string type)
    {
        var parts = SplitUnion(expression);
        var mine = parts.Where(p => StartsWithType(p, type)).ToList();
        return mine.Count == parts.Count ? expression : mine.Count == 0 ? expression : string.Join(" | ", mine);
    }

    private static bool StartsWithType(string part, string type)
    {
        var p = part.TrimStart('(', ' ');
        return p.StartsWith(type, StringComparison.Ordinal) && (p.Length == type.Length || p[type.Length] is '.' or ')' or ' ');
    }

    private static List<string> SplitUnion(string expression)
    {
        var parts = new List<string>();
        var depth = 0;
        var inString = false;
        var start = 0;
        for (var i = 0; i < expression.Length; i++)
        {
            var c = expression[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '\'')
                {
                    inString = false;
                }

                continue;
            }

            switch (c)
            {
                case '\'':
                    inString = true;
                    break;
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case '|' when depth == 0:
                    parts.Add(expression[start..i].Trim());
                    start = i + 1;
                    break;
            }
        }

        parts.Add(expression[start..].Trim());
        return parts;
    }

    private static PathEvaluator? FastCompile(string expression) => FastCache.GetOrAdd(expression, PocoPath.TryCompile);

    private static CompiledExpression? Compile(string expression) => CompiledCache.GetOrAdd(expression, e =>
    {
        try
        {
            return Compiler.Compile(e);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return null;
        }
    });

    private static FhirPathCompiler CreateCompiler()
    {
        var symbols = new SymbolTable();
        symbols.AddStandardFP();
        symbols.AddFhirExtensions();
        return new FhirPathCompiler(symbols);
    }

    private sealed record TypePlan(int Version, ParameterPlan[] Parameters);

    private sealed record ParameterPlan(SearchParameterInfo Info, PathEvaluator? Fast, CompiledExpression? Slow, ComponentPlan[]? Components);

    private sealed record ComponentPlan(string Code, SearchParamType Type, PathEvaluator? Fast, CompiledExpression? Slow);
}
