using System.Globalization;
using System.Net;
using Hl7.Fhir.Model;
using Severity = Hl7.Fhir.Model.OperationOutcome.IssueSeverity;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;

namespace Igia.Terminology.Engine;

/// <summary>
/// ValueSet <c>$expand</c>: includes (whole code systems with their hierarchy, concept lists, filters, imported value sets),
/// excludes, version rules, supplements, inactive and abstract codes, text filter, paging, languages, designations and
/// properties, with the expansion parameters and warnings the HL7 terminology ecosystem expects. R5 expansion properties are
/// written as the R4 backport extensions.
/// </summary>
internal sealed class ValueSetExpander
{
    public const string Ext5 = "http://hl7.org/fhir/5.0/StructureDefinition/extension-";
    public const string ExpansionPropertyExtension = Ext5 + "ValueSet.expansion.property";
    public const string ContainsPropertyExtension = Ext5 + "ValueSet.expansion.contains.property";
    private const string ConceptProperties = "http://hl7.org/fhir/concept-properties#";
    private const string StandardsStatus = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status";

    private static readonly HashSet<string> CodeSystemExtensionsCarried = new(StringComparer.Ordinal)
    {
        "http://hl7.org/fhir/StructureDefinition/coding-sctdescid",
        "http://hl7.org/fhir/StructureDefinition/rendering-style",
        "http://hl7.org/fhir/StructureDefinition/rendering-xhtml",
        "http://hl7.org/fhir/StructureDefinition/codesystem-alternate",
    };

    private static readonly HashSet<string> ValueSetExtensionsCarried = new(StringComparer.Ordinal)
    {
        "http://hl7.org/fhir/StructureDefinition/valueset-supplement",
        "http://hl7.org/fhir/StructureDefinition/valueset-deprecated",
        StandardsStatus,
        "http://hl7.org/fhir/StructureDefinition/valueset-concept-definition",
        "http://hl7.org/fhir/StructureDefinition/coding-sctdescid",
        "http://hl7.org/fhir/StructureDefinition/rendering-style",
        "http://hl7.org/fhir/StructureDefinition/rendering-xhtml",
    };

    private readonly TxContext _ctx;
    private readonly TxRequest _p;
    private readonly TimeProvider _time;
    private readonly int _limitCount;
    private readonly int _internalLimit;
    private readonly bool _isImport;
    private int _pageCount = -1;
    private int _pageOffset = -1;

    private readonly Dictionary<(string System, string Version, string Code), ValueSet.ContainsComponent> _map = [];
    private readonly List<ValueSet.ContainsComponent> _fullList = [];
    private readonly List<ValueSet.ContainsComponent> _rootList = [];
    private readonly HashSet<string> _excluded = new(StringComparer.Ordinal);
    private readonly HashSet<string> _excludedSystems = new(StringComparer.Ordinal);
    private readonly List<(string Code, string? Uri)> _propertyDefinitions = [];
    private readonly List<string> _reportedSupplements = [];

    private ValueSet _source = null!;
    private ValueSet.ExpansionComponent _exp = null!;
    private bool _doingVersion;
    private bool _canBeHierarchy;
    private bool _hasExclusions;
    private bool _excludeSpecialCase;
    private bool _versionsMatch;
    private int _total;
    private bool _totalOff;

    /// <summary>Set once a code is put under another (the flat list must then clear the nesting).</summary>
    private bool _nested;

    public ValueSetExpander(TxContext ctx, TimeProvider time, int limit, int internalLimit, bool isImport = false)
    {
        _ctx = ctx;
        _p = ctx.Request;
        _time = time;
        _limitCount = limit;
        _internalLimit = internalLimit;
        _isImport = isImport;
    }

    /// <summary>Set when the last expansion was cut short at the requested page (no total known).</summary>
    public bool Finished { get; private set; }

    public ValueSet Expand(ValueSet source)
    {
        var key = CodeValidator.Label(source);
        if (_ctx.Stack.Contains(key))
        {
            throw new TxException(HttpStatusCode.BadRequest, new TxIssue(Severity.Error, IssueType.Processing, "vs-invalid",
                $"Found a circularity pointing to {key} processing ValueSet with pathway [{string.Join(", ", _ctx.Stack)}]", null));
        }

        _ctx.Stack.Add(key);
        try
        {
            return DoExpand(source);
        }
        finally
        {
            _ctx.Stack.RemoveAt(_ctx.Stack.Count - 1);
        }
    }

    private ValueSet DoExpand(ValueSet source)
    {
        _source = source;
        _p.SeeValueSet(source);
        _versionsMatch = _p.VersionsMatch;
        var result = (ValueSet)source.DeepCopy();
        result.Id = null;
        result.Meta = null;
        result.Text = null;
        if (!_p.IncludeDefinition)
        {
            result.Purpose = null;
            result.Compose = null;
            result.Description = null;
            result.Contact.Clear();
            result.Copyright = null;
            result.Publisher = null;
            result.Extension.Clear();
            result.Contained.Clear();
        }

        foreach (var ext in source.Extension.Where(e => e.Url == "http://hl7.org/fhir/StructureDefinition/valueset-supplement"))
        {
            if (ext.Value.Text() is { } s)
            {
                _ctx.RequiredSupplements.Add(s);
            }
        }

        if (source.Expansion is not null && (source.Compose is null || source.Compose.Include.Count == 0))
        {
            return result;
        }

        result.Expansion = null;
        _canBeHierarchy = !_p.ExcludeNested;
        if (_p.Offset > 0)
        {
            _canBeHierarchy = false;
        }

        _exp = new ValueSet.ExpansionComponent
        {
            Identifier = "urn:uuid:" + Guid.NewGuid(),
            TimestampElement = new FhirDateTime(_time.GetUtcNow()),
        };
        if (_p.Filter is { } filter)
        {
            AddParam("filter", new FhirString(filter));
        }

        if (_p.DisplayLanguages is { } dl)
        {
            AddParam("displayLanguage", new Code(dl.AsParameter));
        }
        else if (_p.HttpLanguages is { } hl)
        {
            AddParam("displayLanguage", new Code(hl.AsParameter));
        }

        foreach (var d in _p.Designations)
        {
            AddParam("designation", new FhirString(d));
        }

        if (_p.HasExcludeNested)
        {
            AddParam("excludeNested", new FhirBoolean(_p.ExcludeNested));
        }

        if (_versionsMatch)
        {
            AddParam("versionsMatch", new FhirBoolean(true));
        }

        if (_p.HasActiveOnly)
        {
            AddParam("activeOnly", new FhirBoolean(_p.ActiveOnly));
        }

        if (_p.HasIncludeDesignations)
        {
            AddParam("includeDesignations", new FhirBoolean(_p.IncludeDesignations));
        }

        if (_p.HasIncludeDefinition)
        {
            AddParam("includeDefinition", new FhirBoolean(_p.IncludeDefinition));
        }

        if (_p.HasExcludeNotForUi)
        {
            AddParam("excludeNotForUI", new FhirBoolean(_p.ExcludeNotForUi));
        }

        if (_p.HasExcludePostCoordinated)
        {
            AddParam("excludePostCoordinated", new FhirBoolean(_p.ExcludePostCoordinated));
        }

        CheckCanonicalStatus(CodeValidator.Label(source), source.Status, StatusOf(source.Extension), source.Experimental, isSource: true);
        // An imported value set is expanded whole: paging applies to the outer expansion only.
        var offset = _isImport ? -1 : _p.Offset;
        var count = _isImport ? -1 : _p.Count;
        _pageCount = count;
        _pageOffset = offset;
        if (offset > -1)
        {
            AddParam("offset", new Integer(offset));
            _exp.Offset = offset;
        }

        if (count > -1)
        {
            AddParam("count", new Integer(count));
        }

        if (count > 0 && offset == -1)
        {
            offset = 0;
        }

        try
        {
            if (source.Compose is not null)
            {
                if (source.Compose.LockedDate is not null)
                {
                    throw new TxException(HttpStatusCode.BadRequest, new TxIssue(Severity.Error, IssueType.BusinessRule, "vs-invalid",
                        $"Cannot process ValueSet {source.Url} due to the presence of a lockedDate on the compose", null));
                }

                HandleCompose(source, count, offset);
            }

            _ctx.ThrowIfSupplementsMissing();
        }
        catch (FinishedException)
        {
            _totalOff = true;
            Finished = true;
        }

        foreach (var s in _reportedSupplements)
        {
            AddParam("used-supplement", new FhirUri(s));
        }

        List<ValueSet.ContainsComponent> list;
        if (_totalOff)
        {
            _canBeHierarchy = false;
        }
        else
        {
            _exp.Total = _total > 0 ? _total : _fullList.Count;
        }

        if (_canBeHierarchy && (count < 0 || count > _fullList.Count))
        {
            list = _rootList;
        }
        else
        {
            list = _fullList;
            if (_nested)
            {
                foreach (var c in _fullList)
                {
                    c.Contains.Clear();
                }
            }
        }

        if (!_isImport && offset + count < 0 && _fullList.Count > _limitCount)
        {
            throw TooCostly(CodeValidator.Label(source), _limitCount);
        }

        var taken = 0;
        var seenIndex = 0;
        // Every entry of the lists is in _map (IncludeCode and ImportItem add to both).
        foreach (var c in list)
        {
            seenIndex++;
            if (seenIndex > offset && (count < 0 || taken < count))
            {
                taken++;
                _exp.Contains.Add(c);
            }
        }

        foreach (var rule in _p.AppliedRules)
        {
            if (rule.Canonical != CodeValidator.Label(source))
            {
                AddParam(rule.ParameterName, new FhirUri(rule.Canonical));
            }
        }

        foreach (var (code, uri) in _propertyDefinitions)
        {
            var ext = new Extension { Url = ExpansionPropertyExtension };
            ext.Extension.Add(new Extension("code", new Code(code)));
            if (uri is not null)
            {
                ext.Extension.Add(new Extension("uri", new FhirUri(uri)));
            }

            _exp.Extension.Add(ext);
        }

        result.Expansion = _exp;
        return result;
    }

    /// <summary>Thrown to stop once the requested page is full.</summary>
    private sealed class FinishedException : Exception;

    private static TxException TooCostly(string source, int limit) =>
        new(HttpStatusCode.UnprocessableEntity, new TxIssue(Severity.Error, IssueType.TooCostly, "",
            $"The value set '{source}' expansion has too many codes to produce (>{limit})", null));

    // ---- compose ---------------------------------------------------------------------------------

    private void HandleCompose(ValueSet source, int count, int offset)
    {
        var compose = source.Compose!;
        _doingVersion = false;
        var seenSystems = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var inc in compose.Include)
        {
            CheckSource(inc, seenSystems, source, count, offset);
        }

        foreach (var exc in compose.Exclude)
        {
            _hasExclusions = true;
            CheckSource(exc, seenSystems, source, count, offset);
        }

        CheckForExclusionVersionSpecialCase(compose);
        var excludeInactive = compose.Inactive == false;
        foreach (var exc in compose.Exclude)
        {
            ExcludeCodes(exc, source);
        }

        var includes = compose.Include.ToList();
        includes.Sort((a, b) => a.System == b.System && a.Version is not null && b.Version is not null ? -Versions.Compare(a.Version, b.Version) : 0);
        StableSort(includes, compose.Include);
        foreach (var inc in includes)
        {
            IncludeCodes(inc, source, excludeInactive, count, offset);
        }
    }

    /// <summary>List.Sort is not stable; keep the original order among equal elements.</summary>
    private static void StableSort(List<ValueSet.ConceptSetComponent> sorted, List<ValueSet.ConceptSetComponent> original)
    {
        var indexed = original.Select((inc, i) => (inc, i)).ToList();
        indexed.Sort((x, y) =>
        {
            var a = x.inc;
            var b = y.inc;
            var c = a.System == b.System && a.Version is not null && b.Version is not null ? -Versions.Compare(a.Version, b.Version) : 0;
            return c != 0 ? c : x.i.CompareTo(y.i);
        });
        sorted.Clear();
        sorted.AddRange(indexed.Select(x => x.inc));
    }

    private void CheckForExclusionVersionSpecialCase(ValueSet.ComposeComponent compose)
    {
        if (_p.HasVersionsMatch || compose.Include.Count == 0 || compose.Exclude.Count == 0)
        {
            return;
        }

        var system = compose.Include[0].System;
        var allSame = compose.Include.All(i => i.System == system && i.Version is not null) && compose.Exclude.All(e => e.System == system && e.Version is not null);
        var noOverlap = !compose.Include.Any(i => compose.Exclude.Any(e => e.Version == i.Version));
        if (allSame && noOverlap)
        {
            _versionsMatch = true;
            _excludeSpecialCase = true;
            AddParam("versionsMatch", new FhirBoolean(true));
        }
    }

    private void CheckSource(ValueSet.ConceptSetComponent cset, Dictionary<string, string?> seenSystems, ValueSet source, int count, int offset)
    {
        var hasImports = false;
        foreach (var u in cset.Imports())
        {
            if (_ctx.FindValueSet(u, source, out var wanted, out _) is null)
            {
                throw UnknownImport(u, wanted);
            }

            hasImports = true;
        }

        if (cset.System is null)
        {
            return;
        }

        if (seenSystems.TryGetValue(cset.System, out var v))
        {
            if (v != cset.Version)
            {
                _doingVersion = true;
            }
        }
        else
        {
            seenSystems[cset.System] = cset.Version;
        }

        var cs = FindCodeSystemForExpansion(cset.System, cset.Version);
        if (cs.Content == CodeSystemContentMode.Fragment)
        {
            AddParam("used-fragment", new FhirUri(cs.VersionedUrl));
            AddExtension(_exp.Extension, "http://hl7.org/fhir/StructureDefinition/valueset-unclosed", new FhirBoolean(true));
            AddExtension(_exp.Extension, "http://hl7.org/fhir/StructureDefinition/valueset-unclosed-reason", new FhirString("This extension is based on a fragment of the code system " + cset.System));
        }
        else if (cs.Content is CodeSystemContentMode.Example)
        {
            AddParam("example", new FhirUri(cs.VersionedUrl));
        }

        if (cset.Concept.Count == 0 && cset.Filter.Count == 0 && _p.Filter is null && !hasImports && count != 0 && _limitCount > 0
            && cs.Model.Count > _limitCount && !(count > 0 && count + Math.Max(offset, 0) <= _limitCount) && !_isImport)
        {
            throw TooCostly(CodeValidator.Label(source), _limitCount);
        }
    }

    /// <summary>The code system of an include, or the error that says why it cannot be used.</summary>
    private CodeSystemUse FindCodeSystemForExpansion(string system, string? version)
    {
        var cs = _ctx.FindCodeSystem(system, version, anyContent: true);
        if (cs is null)
        {
            var v = _p.DetermineVersion(system, version);
            var versions = _ctx.ListVersions(system);
            if (_ctx.Scope.FindCodeSystemEntry(system, null)?.Resource.Content == CodeSystemContentMode.Supplement && _ctx.Scope.CodeSystemVersions(system).Count == 0)
            {
                throw new TxException(HttpStatusCode.UnprocessableEntity, new TxIssue(Severity.Error, IssueType.BusinessRule, "invalid-data",
                    $"The code system definition for {system} defines a supplement, so this expansion cannot be performed", null));
            }

            var text = v is null
                ? $"A definition for CodeSystem '{system}' could not be found, so the value set cannot be expanded"
                : versions.Count == 0
                    ? $"A definition for CodeSystem '{system}' version '{v}' could not be found, so the value set cannot be expanded. No versions of this code system are known"
                    : $"A definition for CodeSystem '{system}' version '{v}' could not be found, so the value set cannot be expanded. Valid versions: {TxContext.PresentVersionList(versions)}";
            throw new TxException(HttpStatusCode.UnprocessableEntity, new TxIssue(Severity.Error, IssueType.NotFound, "not-found", text, null));
        }

        if (cs.Content == CodeSystemContentMode.NotPresent)
        {
            throw new TxException(HttpStatusCode.UnprocessableEntity, new TxIssue(Severity.Error, IssueType.BusinessRule, "invalid-data",
                $"The code system definition for {system} has no content, so this expansion cannot be performed", null));
        }

        if (cs.Content == CodeSystemContentMode.Supplement)
        {
            throw new TxException(HttpStatusCode.UnprocessableEntity, new TxIssue(Severity.Error, IssueType.BusinessRule, "invalid-data",
                $"The code system definition for {system} defines a supplement, so this expansion cannot be performed", null));
        }

        if (_ctx.CheckVersion(system, cs.Version, null) is { } broken)
        {
            throw new TxException(HttpStatusCode.BadRequest, broken);
        }

        return cs;
    }

    /// <summary>An imported value set that cannot be found; <paramref name="wanted"/> carries the version looked for, if any.</summary>
    private static TxException UnknownImport(string canonical, string? wanted)
    {
        var (url, version) = Versions.SplitCanonical(wanted ?? canonical);
        return new(HttpStatusCode.UnprocessableEntity, new TxIssue(Severity.Error, IssueType.NotFound, "not-found", version is null
            ? $"A definition for the value Set '{url}' could not be found"
            : $"Unable to find included value set '{url}' version '{version}'", null));
    }

    private List<ValueSet> ImportValueSets(ValueSet.ConceptSetComponent cset, ValueSet source)
    {
        var result = new List<ValueSet>();
        foreach (var u in cset.Imports())
        {
            var vs = _ctx.FindValueSet(u, source, out var versionedUrl, out var contained)
                ?? throw UnknownImport(u, versionedUrl);
            var inner = new ValueSetExpander(_ctx, _time, _internalLimit, _internalLimit, isImport: true);
            var expanded = inner.Expand(vs);
            CheckCanonicalStatus(CodeValidator.Label(vs), vs.Status, StatusOf(vs.Extension), vs.Experimental);
            if (!contained && versionedUrl is not null)
            {
                AddParam("used-valueset", new FhirUri(versionedUrl));
            }

            result.Add(expanded);
        }

        return result;
    }

    private static bool PassesImports(List<ValueSet>? imports, string system, string code, int offset)
    {
        if (imports is null)
        {
            return true;
        }

        for (var i = offset; i < imports.Count; i++)
        {
            if (!Flatten(imports[i].Expansion?.Contains ?? []).Any(c => c.System == system && c.Code == code))
            {
                return false;
            }
        }

        return true;
    }

    public static IEnumerable<ValueSet.ContainsComponent> Flatten(IEnumerable<ValueSet.ContainsComponent> contains)
    {
        foreach (var c in contains)
        {
            yield return c;
            foreach (var d in Flatten(c.Contains))
            {
                yield return d;
            }
        }
    }

    private void IncludeCodes(ValueSet.ConceptSetComponent cset, ValueSet source, bool excludeInactive, int count, int offset)
    {
        if (cset.HasImports() || cset.Concept.Count > 0 || cset.Filter.Count > 1)
        {
            _canBeHierarchy = false;
        }

        if (cset.System is null)
        {
            var imports = ImportValueSets(cset, source);
            if (imports.Count > 0)
            {
                ImportValueSet(imports[0], imports, 1);
            }

            return;
        }

        var cs = FindCodeSystemForExpansion(cset.System, cset.Version);
        if (cs.Model.IsGrammar && cset.Concept.Count == 0)
        {
            throw new TxException(HttpStatusCode.UnprocessableEntity, new TxIssue(Severity.Error, IssueType.TooCostly, "too-costly",
                $"The code system {cs.Url} is defined by a grammar, so its codes cannot be listed; a value set can list them by code, and $validate-code checks any of them", null));
        }

        CheckProviderStatus(cs);
        AddParam("used-codesystem", new FhirUri(cs.VersionedUrl));
        ReportSupplements(cs);
        var valueSets = ImportValueSets(cset, source);
        var imported = valueSets.Count > 0 ? valueSets : null;
        var search = _p.Filter is { } f ? new SearchFilter(f) : null;

        if (cset.Concept.Count == 0 && cset.Filter.Count == 0)
        {
            if (search is not null)
            {
                var all = cs.Model.All;
                var hits = search.Match(cs.Model);
                for (var i = 0; i < all.Count; i++)
                {
                    var node = all[i];
                    if ((hits is null ? search.PassesNode(node) || search.Passes(node.Code) : hits[i])
                        && (!_p.ActiveOnly || !node.Inactive) && (!_p.ExcludeNotForUi || !node.NotSelectable))
                    {
                        if (IncludeCode(cs, null, node, Displays(cs, node), null, imported, excludeInactive, source) is not null)
                        {
                            _total++;
                        }
                    }
                }

                return;
            }

            var visited = new HashSet<ConceptNode>();
            foreach (var root in cs.Model.Roots)
            {
                _total += IncludeCodeAndDescendants(cs, root, null, imported, excludeInactive, source, visited);
            }

            return;
        }

        if (cset.Concept.Count > 0)
        {
            var compiledForConcepts = cset.Filter.Select(x => CompileFilter(cs, x, cset, source)).ToList();
            foreach (var cc in cset.Concept)
            {
                if (cc.Code is null || cs.Model.Find(cc.Code) is not { } node)
                {
                    continue;
                }

                if (_p.ActiveOnly && node.Inactive || !compiledForConcepts.All(x => x.Matches(node)))
                {
                    continue;
                }

                var displays = new Designations();
                displays.AddFromConcept(cs.Model, node);
                displays.AddFromValueSetConcept(cc, source);
                if (search is null || search.PassesDesignations(displays) || search.Passes(cc.Code))
                {
                    if (IncludeCode(cs, null, node, displays, cc, imported, excludeInactive, source, codeAsGiven: cc.Code) is not null)
                    {
                        _total++;
                    }
                }
            }

            return;
        }

        var compiled = cset.Filter.Select(x => CompileFilter(cs, x, cset, source)).ToList();
        var textHits = search?.Match(cs.Model);
        var first = compiled[0].Candidates ?? (IReadOnlyCollection<ConceptNode>)cs.Model.All;
        foreach (var node in first.OrderBy(n => n.Order))
        {
            if (!compiled[0].Matches(node) || (_p.ActiveOnly && node.Inactive) || !compiled.Skip(1).All(x => x.Matches(node)))
            {
                continue;
            }

            if (!PassesImports(imported, cs.Url, node.Code, 0))
            {
                continue;
            }

            if (search is not null && !(textHits is not null && IsIndexed(cs.Model, node) ? textHits[node.Order] : search.PassesNode(node) || search.Passes(node.Code)))
            {
                continue;
            }

            var displays = Displays(cs, node);

            ValueSet.ContainsComponent? parent = null;
            if (cs.Model.HasHierarchy)
            {
                foreach (var p in node.Parents)
                {
                    if (_map.TryGetValue(KeyS(cs.Url, cs.Version, p.Code), out var found))
                    {
                        parent = found;
                        break;
                    }
                }
            }
            else
            {
                _canBeHierarchy = false;
            }

            if (IncludeCode(cs, parent, node, displays, null, null, excludeInactive, source) is not null)
            {
                _total++;
            }
        }
    }

    private ConceptFilters.CompiledFilter CompileFilter(CodeSystemUse cs, ValueSet.FilterComponent filter, ValueSet.ConceptSetComponent cset, ValueSet source)
    {
        if (filter.Value is null && ConceptFilters.OpCode(filter) != "exists")
        {
            throw new TxException(HttpStatusCode.BadRequest, new TxIssue(Severity.Error, IssueType.Invalid, "vs-invalid",
                $"The system {cs.Url} filter with property = {filter.Property}, op = {ConceptFilters.OpCode(filter)} has no value", FilterPath(source, cset, filter)));
        }

        return ConceptFilters.Compile(cs.Model, filter);
    }

    /// <summary>Where a filter is in its value set (<c>ValueSet.compose.include[0].filter[1]</c>), for issues about it.</summary>
    private static string? FilterPath(ValueSet source, ValueSet.ConceptSetComponent cset, ValueSet.FilterComponent filter)
    {
        var f = cset.Filter.IndexOf(filter);
        var i = source.Compose?.Include.IndexOf(cset) ?? -1;
        if (i >= 0)
        {
            return $"ValueSet.compose.include[{i}].filter[{f}]";
        }

        var e = source.Compose?.Exclude.IndexOf(cset) ?? -1;
        return e >= 0 ? $"ValueSet.compose.exclude[{e}].filter[{f}]" : null;
    }

    private int IncludeCodeAndDescendants(CodeSystemUse cs, ConceptNode node, ValueSet.ContainsComponent? parent, List<ValueSet>? imports, bool excludeInactive, ValueSet source, HashSet<ConceptNode> visited)
    {
        if (!visited.Add(node))
        {
            _canBeHierarchy = false;
            return 0;
        }

        var result = 0;
        ValueSet.ContainsComponent? n;
        if ((!_p.ExcludeNotForUi || !node.NotSelectable) && (!_p.ActiveOnly || !node.Inactive))
        {
            var t = IncludeCode(cs, parent, node, Displays(cs, node), null, imports, excludeInactive, source);
            if (t is not null)
            {
                result++;
            }

            n = t;
        }
        else
        {
            n = parent;
        }

        foreach (var child in node.Children.OrderBy(c => c.Order))
        {
            result += IncludeCodeAndDescendants(cs, child, n, imports, excludeInactive, source, visited);
        }

        return result;
    }

    /// <summary>
    /// The display and designations of a code system concept, made once per concept of the model and shared: callers only read
    /// them (a value set concept's own display goes into a new <see cref="Designations"/>).
    /// </summary>
    private static Designations Displays(CodeSystemUse cs, ConceptNode node)
    {
        if (!IsIndexed(cs.Model, node))
        {
            var fresh = new Designations();
            fresh.AddFromConcept(cs.Model, node);
            return fresh;
        }

        if (Volatile.Read(ref node.SharedDesignations) is { } shared)
        {
            return shared;
        }

        var d = new Designations();
        d.AddFromConcept(cs.Model, node, sharedDisplayUse: true);
        return Interlocked.CompareExchange(ref node.SharedDesignations, d, null) ?? d;
    }

    /// <summary>True for a concept the model lists (not one made up for a grammar code system such as UCUM).</summary>
    private static bool IsIndexed(CodeSystemModel model, ConceptNode node) =>
        node.Order < model.All.Count && model.All[node.Order] == node;

    private void ImportValueSet(ValueSet vs, List<ValueSet> imports, int offset)
    {
        _canBeHierarchy = false;
        foreach (var p in vs.Expansion?.Parameter ?? [])
        {
            if (p.Value is not null)
            {
                AddParam(p.Name, p.Value);
            }
        }

        var imported = new List<ValueSet.ContainsComponent>();
        foreach (var c in vs.Expansion?.Contains ?? [])
        {
            _total += ImportItem(null, c, imports, offset, imported);
        }

        // Carry the property definitions the imported concepts use.
        var used = imported.SelectMany(c => c.Extension.Where(e => e.Url == ContainsPropertyExtension))
            .Select(e => e.Extension.FirstOrDefault(s => s.Url == "code")?.Value.Text()).Where(c => c is not null).ToHashSet();
        foreach (var ext in vs.Expansion?.Extension.Where(e => e.Url == ExpansionPropertyExtension) ?? [])
        {
            var code = ext.Extension.FirstOrDefault(s => s.Url == "code")?.Value.Text();
            if (code is not null && used.Contains(code))
            {
                DeclareProperty(ext.Extension.FirstOrDefault(s => s.Url == "uri")?.Value.Text(), code);
            }
        }
    }

    private int ImportItem(ValueSet.ContainsComponent? parent, ValueSet.ContainsComponent c, List<ValueSet> imports, int offset, List<ValueSet.ContainsComponent> imported)
    {
        var count = 0;
        var children = c.Contains.ToList();
        var copy = (ValueSet.ContainsComponent)c.DeepCopy();
        copy.Contains.Clear();
        if (c.System is not null && c.Code is not null && PassesImports(imports, c.System, c.Code, offset) && !_map.ContainsKey(Key(copy)) && !IsExcluded(c.System, c.Version, c.Code))
        {
            count++;
            imported.Add(copy);
            _fullList.Add(copy);
            if (parent is not null)
            {
                parent.Contains.Add(copy);
                _nested = true;
            }
            else
            {
                _rootList.Add(copy);
            }

            _map[Key(copy)] = copy;
        }

        foreach (var cc in children)
        {
            count += ImportItem(copy, cc, imports, offset, imported);
        }

        return count;
    }

    private void ExcludeCodes(ValueSet.ConceptSetComponent cset, ValueSet source)
    {
        if (cset.System is null)
        {
            if (cset.HasImports())
            {
                var imports = ImportValueSets(cset, source);
                foreach (var c in Flatten(imports[0].Expansion?.Contains ?? []))
                {
                    if (c.System is not null && c.Code is not null && PassesImports(imports, c.System, c.Code, 1))
                    {
                        _excluded.Add(ExclusionKey(c.System, c.Version, c.Code));
                    }
                }
            }

            return;
        }

        var cs = FindCodeSystemForExpansion(cset.System, cset.Version);
        AddParam("used-codesystem", new FhirUri(cs.VersionedUrl));
        var valueSets = ImportValueSets(cset, source);
        var imported = valueSets.Count > 0 ? valueSets : null;
        if (cset.Concept.Count == 0 && cset.Filter.Count == 0)
        {
            if (imported is null && !_excludeSpecialCase)
            {
                _excludedSystems.Add(cset.System + (_doingVersion && cset.Version is not null ? "|" + cset.Version : ""));
            }
            else
            {
                foreach (var node in cs.Model.All)
                {
                    if (PassesImports(imported, cs.Url, node.Code, 0))
                    {
                        _excluded.Add(ExclusionKey(cs.Url, cs.Version, node.Code));
                    }
                }
            }
        }

        foreach (var cc in cset.Concept)
        {
            if (cc.Code is not null && cs.Model.Find(cc.Code) is { } node && (!_p.ActiveOnly || !node.Inactive))
            {
                _excluded.Add(ExclusionKey(cs.Url, cs.Version, cc.Code));
            }
        }

        if (cset.Filter.Count > 0)
        {
            var compiled = cset.Filter.Select(x => CompileFilter(cs, x, cset, source)).ToList();
            foreach (var node in cs.Model.All)
            {
                if (compiled.All(x => x.Matches(node)) && (!_p.ActiveOnly || !node.Inactive) && PassesImports(imported, cs.Url, node.Code, 0))
                {
                    _excluded.Add(ExclusionKey(cs.Url, cs.Version, node.Code));
                }
            }
        }
    }

    private string ExclusionKey(string system, string? version, string code) =>
        (_doingVersion && !_versionsMatch ? system + "|" + version : system) + "#" + code;

    private bool IsExcluded(string system, string? version, string code)
    {
        if (_excludedSystems.Contains(system))
        {
            return true;
        }

        if (_excludedSystems.Count == 0 && _excluded.Count == 0)
        {
            return false;
        }

        var key = _doingVersion && !_versionsMatch ? system + "|" + version : system;
        return _excludedSystems.Contains(key) || _excluded.Contains(key + "#" + code);
    }

    private (string System, string Version, string Code) KeyS(string system, string? version, string code) =>
        (system, _doingVersion && !_versionsMatch ? version ?? "" : "", code);

    private (string System, string Version, string Code) Key(ValueSet.ContainsComponent c) => KeyS(c.System ?? "", c.Version, c.Code ?? "");

    /// <summary>Adds a code to the expansion (once), with its display, designations, status and properties.</summary>
    private ValueSet.ContainsComponent? IncludeCode(CodeSystemUse cs, ValueSet.ContainsComponent? parent, ConceptNode node, Designations displays,
        ValueSet.ConceptReferenceComponent? vsConcept, List<ValueSet>? imports, bool excludeInactive, ValueSet source, string? codeAsGiven = null)
    {
        var code = codeAsGiven ?? node.Code;
        if (!PassesImports(imports, cs.Url, code, 0) || (node.Inactive && excludeInactive) || IsExcluded(cs.Url, cs.Version, code))
        {
            return null;
        }

        if (_limitCount > 0 && _fullList.Count >= _limitCount && !_hasExclusions)
        {
            if (_pageCount > -1 && _pageOffset > -1 && _pageCount + _pageOffset > 0 && _fullList.Count >= _pageCount + _pageOffset)
            {
                throw new FinishedException();
            }

            throw TooCostly(CodeValidator.Label(source), _limitCount);
        }

        var key = KeyS(cs.Url, cs.Version, code);
        if (_map.ContainsKey(key))
        {
            _canBeHierarchy = false;
            return null;
        }

        var n = new ValueSet.ContainsComponent { System = cs.Url, Code = code };
        if (_doingVersion)
        {
            n.Version = cs.Version;
        }

        if (node.NotSelectable)
        {
            n.Abstract = true;
        }

        if (node.Inactive)
        {
            n.Inactive = true;
        }

        if (node.Status is { } status && !string.Equals(status, "active", StringComparison.OrdinalIgnoreCase))
        {
            DefineProperty(n, ConceptProperties + "status", "status", new Code(status));
        }
        else if (node.Deprecated)
        {
            DefineProperty(n, ConceptProperties + "status", "status", new Code("deprecated"));
        }

        var csExt = node.Extensions;
        IReadOnlyList<Extension> vsExt = vsConcept?.Extension ?? (IReadOnlyList<Extension>)[];
        if (csExt.FirstOrDefault(e => e.Url == "http://hl7.org/fhir/StructureDefinition/codesystem-label")?.Value is { } csLabel)
        {
            DefineProperty(n, ConceptProperties + "label", "label", new FhirString(csLabel.Text()));
        }

        if (vsExt.FirstOrDefault(e => e.Url == "http://hl7.org/fhir/StructureDefinition/valueset-label")?.Value is { } vsLabel)
        {
            DefineProperty(n, ConceptProperties + "label", "label", new FhirString(vsLabel.Text()));
        }

        if (csExt.FirstOrDefault(e => e.Url == "http://hl7.org/fhir/StructureDefinition/codesystem-conceptOrder")?.Value is { } csOrder)
        {
            DefineProperty(n, ConceptProperties + "order", "order", AsDecimal(csOrder));
        }

        if (vsExt.FirstOrDefault(e => e.Url == "http://hl7.org/fhir/StructureDefinition/valueset-conceptOrder")?.Value is { } vsOrder)
        {
            DefineProperty(n, ConceptProperties + "order", "order", AsDecimal(vsOrder));
        }

        if (csExt.FirstOrDefault(e => e.Url == "http://hl7.org/fhir/StructureDefinition/itemWeight")?.Value is { } csWeight)
        {
            DefineProperty(n, ConceptProperties + "itemWeight", "weight", AsDecimal(csWeight));
        }

        if (vsExt.FirstOrDefault(e => e.Url == "http://hl7.org/fhir/StructureDefinition/itemWeight")?.Value is { } vsWeight)
        {
            DefineProperty(n, ConceptProperties + "itemWeight", "weight", AsDecimal(vsWeight));
        }

        foreach (var ext in csExt)
        {
            if (ext.Url is not null && CodeSystemExtensionsCarried.Contains(ext.Url))
            {
                n.Extension.Add((Extension)ext.DeepCopy());
            }

            if (ext.Url == StandardsStatus && ext.Value is not null)
            {
                DefineProperty(n, ConceptProperties + "status", "status", new Code(ext.Value.Text()));
            }
        }

        for (var i = 0; i < vsExt.Count; i++)
        {
            var ext = vsExt[i];
            if (ext.Url is not null && ValueSetExtensionsCarried.Contains(ext.Url))
            {
                n.Extension.Add((Extension)ext.DeepCopy());
            }
        }

        var preferred = displays.Preferred(_p.WorkingLanguages);
        if (preferred is null && _p.WorkingLanguages is { AllowsOthers: true })
        {
            // No display in the languages asked for: the code system's own display, unless they ruled others out.
            preferred = displays.Preferred(null);
        }

        if (preferred?.Value is { } display)
        {
            n.Display = display;
            if (preferred.Source is { } ps && !_reportedSupplements.Contains(ps))
            {
                _reportedSupplements.Add(ps);
            }
        }

        if (_p.IncludeDesignations)
        {
            foreach (var d in displays.List)
            {
                if (d != preferred && UseDesignation(d))
                {
                    n.Designation.Add(Designations.ToComponent(d));
                    if (d.Source is { } s && !_reportedSupplements.Contains(s))
                    {
                        _reportedSupplements.Add(s);
                    }
                }
            }
        }

        if (_p.Properties.Contains("*"))
        {
            foreach (var cp in node.Properties)
            {
                DefineProperty(n, PropertyUri(cs, cp.Code), cp.Code, cp.Value, repeatable: true);
            }
        }

        foreach (var pn in _p.Properties)
        {
            if (pn == "*")
            {
                continue;
            }

            if (pn == "definition")
            {
                if (node.Definition is { } def)
                {
                    DefineProperty(n, ConceptProperties + "definition", pn, new FhirString(def));
                }
            }
            else
            {
                foreach (var cp in node.Properties.Where(cp => cp.Code == pn))
                {
                    DefineProperty(n, PropertyUri(cs, pn), pn, cp.Value, repeatable: true);
                }
            }
        }

        _fullList.Add(n);
        _map[key] = n;
        if (parent is not null)
        {
            parent.Contains.Add(n);
            _nested = true;
        }
        else
        {
            _rootList.Add(n);
        }

        return n;
    }

    private static DataType AsDecimal(DataType value) => value switch
    {
        FhirDecimal d => (FhirDecimal)d.DeepCopy(),
        Integer i => new FhirDecimal(i.Value ?? 0),
        _ => decimal.TryParse(value.Text(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? new FhirDecimal(d) : new FhirString(value.Text()),
    };

    private static string? PropertyUri(CodeSystemUse cs, string code) =>
        cs.Model.PropertyDefinitions.TryGetValue(code, out var pd) ? pd.Uri : null;

    private bool UseDesignation(Designation d)
    {
        if (_p.Designations.Count == 0)
        {
            return true;
        }

        foreach (var s in _p.Designations)
        {
            var (l, r) = Versions.SplitCanonical(s);
            if (d.Use is not null && d.Use.System == l && d.Use.Code == r)
            {
                return true;
            }

            if (d.Language is not null && l == "urn:ietf:bcp:47" && r == d.Language.Code)
            {
                return true;
            }
        }

        return false;
    }

    private string DeclareProperty(string? uri, string code)
    {
        var index = uri is not null
            ? _propertyDefinitions.FindIndex(t => t.Uri == uri || t.Code == code)
            : _propertyDefinitions.FindIndex(t => t.Code == code);
        if (index < 0)
        {
            _propertyDefinitions.Add((code, uri));
            return code;
        }

        var pd = _propertyDefinitions[index];
        if (uri is not null && pd.Uri is null)
        {
            _propertyDefinitions[index] = (pd.Code, uri);
        }

        return pd.Code;
    }

    private void DefineProperty(ValueSet.ContainsComponent contains, string? uri, string code, DataType? value, bool repeatable = false)
    {
        if (value is null)
        {
            return;
        }

        code = DeclareProperty(uri, code);
        var existing = contains.Extension.Where(e => e.Url == ContainsPropertyExtension && e.Extension.FirstOrDefault(s => s.Url == "code")?.Value.Text() == code).ToList();
        var match = repeatable
            ? existing.FirstOrDefault(e => e.Extension.FirstOrDefault(s => s.Url == "value")?.Value is { } v && v.Text() == value.Text())
            : existing.FirstOrDefault();
        if (match is not null)
        {
            match.Extension.RemoveAll(s => s.Url == "value");
            match.Extension.Add(new Extension("value", (DataType)value.DeepCopy()));
            return;
        }

        var ext = new Extension { Url = ContainsPropertyExtension };
        ext.Extension.Add(new Extension("code", new Code(code)));
        ext.Extension.Add(new Extension("value", (DataType)value.DeepCopy()));
        contains.Extension.Add(ext);
    }

    // ---- parameters, status ----------------------------------------------------------------------

    private void AddParam(string? name, DataType value)
    {
        if (name is null)
        {
            return;
        }

        var text = value.Text();
        if (_exp.Parameter.Any(p => p.Name == name && p.Value.Text() == text))
        {
            return;
        }

        _exp.Parameter.Add(new ValueSet.ParameterComponent { Name = name, Value = value });
    }

    private static void AddExtension(List<Extension> list, string url, DataType value)
    {
        if (!list.Any(e => e.Url == url))
        {
            list.Add(new Extension(url, value));
        }
    }

    private void ReportSupplements(CodeSystemUse cs)
    {
        foreach (var s in cs.Model.Supplements)
        {
            var canonical = s.Url + (s.Version is null ? "" : "|" + s.Version);
            if (!_reportedSupplements.Contains(canonical))
            {
                _reportedSupplements.Add(canonical);
            }
        }
    }

    public static string? StatusOf(IEnumerable<Extension> extensions) =>
        extensions.FirstOrDefault(e => e.Url == StandardsStatus)?.Value.Text();

    private void CheckProviderStatus(CodeSystemUse cs) =>
        CheckCanonicalStatus(cs.VersionedUrl, cs.Entry.Resource.Status, StatusOf(cs.Entry.Resource.Extension), cs.Entry.Resource.Experimental);

    /// <summary>
    /// Warns (<c>warning-deprecated</c>, <c>-withdrawn</c>, <c>-retired</c>, <c>-experimental</c>) about a resource the expansion
    /// uses; a resource that shares the value set's own status is not warned about again, except the value set itself.
    /// </summary>
    private void CheckCanonicalStatus(string vurl, PublicationStatus? status, string? standardsStatus, bool? experimental, bool isSource = false)
    {
        var sourceStandards = isSource ? null : StatusOf(_source.Extension);
        if (standardsStatus == "deprecated")
        {
            if (sourceStandards != "deprecated")
            {
                AddParam("warning-deprecated", new FhirUri(vurl));
            }
        }
        else if (standardsStatus == "withdrawn")
        {
            if (sourceStandards != "withdrawn")
            {
                AddParam("warning-withdrawn", new FhirUri(vurl));
            }
        }
        else if (status == PublicationStatus.Retired)
        {
            if (isSource || _source.Status != PublicationStatus.Retired)
            {
                AddParam("warning-retired", new FhirUri(vurl));
            }
        }
        else if (experimental == true)
        {
            if (isSource || _source.Experimental != true)
            {
                AddParam("warning-experimental", new FhirUri(vurl));
            }
        }
        else if (status == PublicationStatus.Draft || standardsStatus == "draft")
        {
            if (!(_source.Status == PublicationStatus.Draft || sourceStandards == "draft"))
            {
                AddParam("warning-draft", new FhirUri(vurl));
            }
        }
    }
}

/// <summary>The <c>filter</c> text of <c>$expand</c>: a code passes when a word of its display (or a designation) starts with a filter word.</summary>
/// <remarks>Runs once per concept of a large code system, so it allocates nothing per test: the filter words are stemmed once
/// and the words of a value are compared in place (ignoring case).</remarks>
internal sealed class SearchFilter
{
    private readonly string[] _stems;

    public SearchFilter(string filter)
    {
        _stems = Words(filter).Select(w => Stem(w.ToLowerInvariant())).ToArray();
    }

    public bool IsNull => _stems.Length == 0;

    /// <summary>Code systems smaller than this are scanned concept by concept; larger ones use their <see cref="ConceptTextIndex"/>.</summary>
    public const int IndexThreshold = 500;

    /// <summary>
    /// Which concepts of the model pass (by position in <see cref="CodeSystemModel.All"/>), from the model's word-prefix index;
    /// null when the model is small enough to test each concept with <see cref="PassesNode"/> and <see cref="Passes"/>.
    /// </summary>
    public bool[]? Match(CodeSystemModel model)
    {
        if (model.Count < IndexThreshold)
        {
            return null;
        }

        if (IsNull)
        {
            var all = new bool[model.Count];
            Array.Fill(all, true);
            return all;
        }

        return model.TextIndex.Match(_stems, out _);
    }

    private static IEnumerable<string> Words(string text)
    {
        var i = 0;
        while (i < text.Length)
        {
            if (char.IsLetterOrDigit(text[i]))
            {
                var j = i;
                while (i < text.Length && char.IsLetterOrDigit(text[i]))
                {
                    i++;
                }

                yield return text[j..i];
            }
            else
            {
                i++;
            }
        }
    }

    public bool Passes(string? value)
    {
        if (IsNull)
        {
            return true;
        }

        if (value is null)
        {
            return false;
        }

        // A word of the value starts with a stem exactly when the stem (letters and digits only) occurs at a word start:
        // find the occurrences with the vectorised IndexOf, then look at the character before each.
        foreach (var stem in _stems)
        {
            var at = value.IndexOf(stem, StringComparison.OrdinalIgnoreCase);
            while (at >= 0)
            {
                if (at == 0 || !char.IsLetterOrDigit(value[at - 1]))
                {
                    return true;
                }

                at = at + 1 < value.Length ? value.IndexOf(stem, at + 1, StringComparison.OrdinalIgnoreCase) : -1;
            }
        }

        return false;
    }

    public bool PassesDesignations(Designations designations) =>
        IsNull || designations.List.Any(d => Passes(d.Value));

    /// <summary>Whether the display or a designation of a code system concept passes (what <see cref="Designations.AddFromConcept"/> collects).</summary>
    public bool PassesNode(ConceptNode node)
    {
        if (IsNull || Passes(node.Display))
        {
            return true;
        }

        foreach (var d in node.Designations)
        {
            if (Passes(d.Value))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A light stem of a filter word (plural and common suffixes), so "fevers" finds "fever".</summary>
    private static string Stem(string word)
    {
        foreach (var suffix in Suffixes)
        {
            if (word.Length > suffix.Length + 2 && word.EndsWith(suffix, StringComparison.Ordinal))
            {
                return word[..^suffix.Length];
            }
        }

        return word;
    }

    private static readonly string[] Suffixes = ["ing", "ies", "es", "s", "ed"];
}
