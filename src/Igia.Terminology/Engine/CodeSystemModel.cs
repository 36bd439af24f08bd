using System.Collections.Frozen;
using Hl7.Fhir.Model;

namespace Igia.Terminology.Engine;

/// <summary>A designation of a concept (from the code system or a supplement).</summary>
internal sealed record ConceptDesignation(string? Language, Coding? Use, string Value, IReadOnlyList<Extension>? Extensions = null, string? Source = null);

/// <summary>A property value of a concept.</summary>
internal sealed record ConceptProperty(string Code, DataType Value, IReadOnlyList<Extension>? Extensions = null);

/// <summary>One concept of an indexed code system.</summary>
internal sealed class ConceptNode
{
    public ConceptNode(string code, CodeSystem.ConceptDefinitionComponent? source)
    {
        Code = code;
        Source = source;
    }

    public string Code { get; }

    public CodeSystem.ConceptDefinitionComponent? Source { get; }

    public string? Display { get; set; }

    public string? Definition { get; set; }

    public List<ConceptDesignation> Designations { get; } = [];

    public List<ConceptProperty> Properties { get; } = [];

    public List<ConceptNode> Parents { get; } = [];

    public List<ConceptNode> Children { get; } = [];

    /// <summary>Children from the nesting of <c>concept</c> (not from parent/child properties): the hierarchy an expansion shows.</summary>
    public List<ConceptNode> NestedChildren { get; } = [];

    public bool NotSelectable { get; set; }

    public bool Inactive { get; set; }

    public bool Deprecated { get; set; }

    /// <summary>The <c>status</c> property (e.g. retired, deprecated, experimental), if any.</summary>
    public string? Status { get; set; }

    /// <summary>Extensions on the concept (e.g. <c>itemWeight</c>, <c>rendering-style</c>), carried into expansions.</summary>
    public List<Extension> Extensions { get; } = [];

    /// <summary>Position in the code system (document order), for stable expansions.</summary>
    public int Order { get; set; }

    public bool IsLeaf => Children.Count == 0;

    /// <summary>The display and designations expansions show for this concept, made on first use (see <c>ValueSetExpander</c>).</summary>
    internal Designations? SharedDesignations;

    public DataType? Property(string code) => Properties.FirstOrDefault(p => p.Code == code)?.Value;
}

/// <summary>A property the code system defines.</summary>
internal sealed record PropertyDefinition(string Code, string? Uri, CodeSystem.PropertyType? Type, string? Description);

/// <summary>
/// A code system indexed for terminology operations: concepts by code (respecting <c>caseSensitive</c>), the hierarchy from
/// nesting and from <c>parent</c>/<c>child</c>/<c>subsumedBy</c> properties, status flags and the property definitions.
/// Built once per CodeSystem resource (and per set of supplements applied to it) and then read-only.
/// </summary>
internal sealed class CodeSystemModel
{
    public const string ConceptPropertiesBase = "http://hl7.org/fhir/concept-properties#";

    private readonly FrozenDictionary<string, ConceptNode> _byCode;
    private readonly Lazy<ConceptTextIndex> _textIndex;

    public CodeSystemModel(CodeSystem resource, IReadOnlyList<CodeSystem>? supplements = null)
    {
        Resource = resource;
        Url = resource.Url ?? "";
        Version = resource.Version;
        CaseSensitive = resource.CaseSensitive ?? false;
        Content = resource.Content;
        Language = resource.Language;
        Supplements = supplements ?? [];

        foreach (var p in resource.Property)
        {
            if (p.Code is not null)
            {
                PropertyDefinitions[p.Code] = new PropertyDefinition(p.Code, p.Uri, p.Type, p.Description);
            }
        }

        var comparer = CaseSensitive ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;
        var byCode = new Dictionary<string, ConceptNode>(comparer);
        var order = 0;
        void Walk(IEnumerable<CodeSystem.ConceptDefinitionComponent> concepts, ConceptNode? parent)
        {
            foreach (var c in concepts)
            {
                if (string.IsNullOrEmpty(c.Code))
                {
                    continue;
                }

                if (!byCode.TryGetValue(c.Code, out var node))
                {
                    node = new ConceptNode(c.Code, c) { Order = order++ };
                    byCode[c.Code] = node;
                    All.Add(node);
                    Fill(node, c);
                }

                if (parent is null)
                {
                    Roots.Add(node);
                }
                else
                {
                    Link(parent, node);
                    parent.NestedChildren.Add(node);
                }

                Walk(c.Concept, node);
            }
        }

        Walk(resource.Concept, null);
        _byCode = byCode.ToFrozenDictionary(comparer);

        // Hierarchy declared through properties (parent, child, subsumedBy).
        var parentCodes = PropertyCodesFor("parent", "subsumedBy");
        var childCodes = PropertyCodesFor("child");
        foreach (var node in All)
        {
            foreach (var p in node.Properties)
            {
                if (parentCodes.Contains(p.Code) && ValueAsCode(p.Value) is { } pc && _byCode.TryGetValue(pc, out var parentNode) && parentNode != node)
                {
                    Link(parentNode, node);
                }
                else if (childCodes.Contains(p.Code) && ValueAsCode(p.Value) is { } cc && _byCode.TryGetValue(cc, out var childNode) && childNode != node)
                {
                    Link(node, childNode);
                }
            }
        }

        // Roots for the display hierarchy: nodes with no parent at all.
        Roots.RemoveAll(r => r.Parents.Count > 0);
        foreach (var supplement in Supplements)
        {
            ApplySupplement(supplement);
        }

        _textIndex = new Lazy<ConceptTextIndex>(() => ConceptTextIndex.Build(All), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>
    /// The word-prefix index of the concepts' codes, displays and designations for the <c>$expand</c> text filter, built on
    /// first use (once, whichever thread asks first) and kept as long as the model; a concept is known by its position in
    /// <see cref="All"/> (which is its <see cref="ConceptNode.Order"/>).
    /// </summary>
    public ConceptTextIndex TextIndex => _textIndex.Value;

    public CodeSystem Resource { get; }

    public string Url { get; }

    public string? Version { get; }

    public string VersionedUrl => Version is null ? Url : $"{Url}|{Version}";

    public bool CaseSensitive { get; }

    public CodeSystemContentMode? Content { get; }

    public string? Language { get; }

    public IReadOnlyList<CodeSystem> Supplements { get; }

    public List<ConceptNode> Roots { get; } = [];

    public List<ConceptNode> All { get; } = [];

    public Dictionary<string, PropertyDefinition> PropertyDefinitions { get; } = new(StringComparer.Ordinal);

    public int Count => All.Count;

    public bool IsComplete => Content is null or CodeSystemContentMode.Complete;

    public ConceptNode? Find(string code) => _byCode.TryGetValue(code, out var node) ? node : IsGrammar ? Ucum.Parse(code) : null;

    /// <summary>True for a code system defined by a grammar (UCUM): any valid expression is a code, and the codes cannot be listed.</summary>
    public bool IsGrammar => Url == Ucum.System;

    /// <summary>Finds a code exactly as written, even in a case-insensitive code system (for case warnings).</summary>
    public ConceptNode? FindExact(string code) => Find(code) is { } node && node.Code == code ? node : null;

    /// <summary>The property codes this code system uses for a standard concept property (by its code or its URI).</summary>
    public HashSet<string> PropertyCodesFor(params string[] standardCodes)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var code in standardCodes)
        {
            var uri = ConceptPropertiesBase + code;
            var declared = PropertyDefinitions.Values.Where(p => p.Uri == uri).Select(p => p.Code).ToList();
            if (declared.Count > 0)
            {
                result.UnionWith(declared);
            }
            else if (!PropertyDefinitions.TryGetValue(code, out var def) || def.Uri is null || def.Uri.StartsWith(ConceptPropertiesBase, StringComparison.Ordinal))
            {
                result.Add(code);
            }
        }

        return result;
    }

    private static void Link(ConceptNode parent, ConceptNode child)
    {
        if (!parent.Children.Contains(child))
        {
            parent.Children.Add(child);
        }

        if (!child.Parents.Contains(parent))
        {
            child.Parents.Add(parent);
        }
    }

    private void Fill(ConceptNode node, CodeSystem.ConceptDefinitionComponent c)
    {
        node.Display = c.Display;
        node.Definition = c.Definition;
        foreach (var d in c.Designation)
        {
            if (d.Value is not null)
            {
                node.Designations.Add(new ConceptDesignation(d.Language, d.Use, d.Value, d.Extension.Count > 0 ? d.Extension : null));
            }
        }

        foreach (var p in c.Property)
        {
            if (p.Code is not null && p.Value is not null)
            {
                node.Properties.Add(new ConceptProperty(p.Code, p.Value, p.Extension.Count > 0 ? p.Extension : null));
            }
        }

        node.Extensions.AddRange(c.Extension);
        ApplyFlags(node);
    }

    /// <summary>True when the code system has a hierarchy (nested concepts or parent/child properties).</summary>
    public bool HasHierarchy => All.Any(n => n.Parents.Count > 0);

    private const string StandardsStatusUrl = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status";

    /// <summary>
    /// Derives notSelectable / inactive / deprecated / status from the properties (by code or by the standard URI) and the
    /// standards-status extension, as the HL7 terminology ecosystem reads them.
    /// </summary>
    private void ApplyFlags(ConceptNode node)
    {
        var notSelectable = PropertyCodesFor("notSelectable");
        notSelectable.Add("abstract");
        notSelectable.Add("not-selectable");
        var inactive = PropertyCodesFor("inactive");
        var status = PropertyCodesFor("status");
        string? statusValue = null;
        foreach (var p in node.Properties)
        {
            if (notSelectable.Contains(p.Code) && p.Value is FhirBoolean { Value: true })
            {
                node.NotSelectable = true;
            }

            if (inactive.Contains(p.Code) && p.Value.Text() == "true")
            {
                node.Inactive = true;
            }

            if (status.Contains(p.Code) && statusValue is null)
            {
                statusValue = p.Value.Text();
            }

            if (p.Code == "deprecated" && p.Value.Text() == "true")
            {
                node.Deprecated = true;
            }
        }

        if (statusValue is "inactive" or "retired")
        {
            node.Inactive = true;
        }

        if (statusValue is "deprecated" or "retired")
        {
            node.Deprecated = true;
        }

        var standards = node.Extensions.FirstOrDefault(e => e.Url == StandardsStatusUrl)?.Value.Text();
        if (string.Equals(standards, "withdrawn", StringComparison.OrdinalIgnoreCase))
        {
            node.Inactive = true;
        }

        // The status the concept reports: the status property, else what the flags say, else the standards status.
        if (statusValue is null)
        {
            foreach (var p in node.Properties)
            {
                if (p.Code == "deprecated" && p.Value.Text() == "true")
                {
                    statusValue = "deprecated";
                    break;
                }

                if (p.Code == "deprecationDate" && p.Value is FhirDateTime dt && dt.TryToDateTimeOffset(out var when) && when < DateTimeOffset.UtcNow)
                {
                    statusValue = "deprecated";
                    break;
                }

                if (inactive.Contains(p.Code) && p.Value.Text() == "true")
                {
                    statusValue = "inactive";
                    break;
                }

                if (p.Code == "retired" && p.Value.Text() == "true")
                {
                    statusValue = "retired";
                    break;
                }
            }
        }

        node.Status = statusValue ?? standards;
    }

    private void ApplySupplement(CodeSystem supplement)
    {
        var source = supplement.Url + (supplement.Version is null ? "" : "|" + supplement.Version);
        foreach (var p in supplement.Property)
        {
            if (p.Code is not null && !PropertyDefinitions.ContainsKey(p.Code))
            {
                PropertyDefinitions[p.Code] = new PropertyDefinition(p.Code, p.Uri, p.Type, p.Description);
            }
        }

        void Walk(IEnumerable<CodeSystem.ConceptDefinitionComponent> concepts)
        {
            foreach (var c in concepts)
            {
                if (c.Code is not null && Find(c.Code) is { } node)
                {
                    foreach (var d in c.Designation)
                    {
                        if (d.Value is not null)
                        {
                            node.Designations.Add(new ConceptDesignation(d.Language ?? supplement.Language, d.Use, d.Value, d.Extension.Count > 0 ? d.Extension : null, source));
                        }
                    }

                    if (c.Display is not null && supplement.Language is not null && supplement.Language != Language)
                    {
                        node.Designations.Add(new ConceptDesignation(supplement.Language, null, c.Display, null, source));
                    }

                    foreach (var p in c.Property)
                    {
                        if (p.Code is not null && p.Value is not null)
                        {
                            node.Properties.Add(new ConceptProperty(p.Code, p.Value, p.Extension.Count > 0 ? p.Extension : null));
                        }
                    }

                    node.Extensions.AddRange(c.Extension);
                    ApplyFlags(node);
                }

                Walk(c.Concept);
            }
        }

        Walk(supplement.Concept);
    }

    public static string? ValueAsCode(DataType? value) => value switch
    {
        Code c => c.Value,
        FhirString s => s.Value,
        Coding coding => coding.Code,
        PrimitiveType p => p.Text(),
        _ => null,
    };

    /// <summary>True when <paramref name="ancestor"/> is <paramref name="node"/> or one of its ancestors.</summary>
    public static bool Subsumes(ConceptNode ancestor, ConceptNode node)
    {
        if (ancestor == node)
        {
            return true;
        }

        var seen = new HashSet<ConceptNode>();
        var stack = new Stack<ConceptNode>(node.Parents);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (n == ancestor)
            {
                return true;
            }

            if (seen.Add(n))
            {
                foreach (var p in n.Parents)
                {
                    stack.Push(p);
                }
            }
        }

        return false;
    }

    /// <summary>All descendants of a node (not the node itself), in document order.</summary>
    public static List<ConceptNode> Descendants(ConceptNode node)
    {
        var result = new List<ConceptNode>();
        var seen = new HashSet<ConceptNode> { node };
        void Walk(ConceptNode n)
        {
            foreach (var c in n.Children)
            {
                if (seen.Add(c))
                {
                    result.Add(c);
                    Walk(c);
                }
            }
        }

        Walk(node);
        result.Sort((a, b) => a.Order.CompareTo(b.Order));
        return result;
    }
}
