using Hl7.Fhir.Model;
using Igia.Terminology.Content;

namespace Igia.Terminology.Engine;

/// <summary>
/// The resources one request sees: its own (<c>tx-resource</c> parameters, contained resources) layered over the engine's
/// content. Resolution of code systems (with supplements), value sets and concept maps by canonical and version.
/// </summary>
internal sealed class TxScope
{
    private readonly TerminologyResources _global;
    private readonly List<CanonicalEntry<ConceptMap>> _localMaps = [];
    private TerminologyResources? _local;

    public TxScope(TerminologyResources global, IEnumerable<Resource>? local = null)
    {
        _global = global;
        if (local is not null)
        {
            foreach (var r in local)
            {
                AddLocal(r);
            }
        }
    }

    public TerminologyResources Global => _global;

    /// <summary>Adds a resource visible to this request only.</summary>
    public void AddLocal(Resource resource)
    {
        _local ??= new TerminologyResources();
        _local.Add(resource, "request");
        if (resource is ConceptMap { Url.Length: > 0 } map)
        {
            // Every map the request supplies takes part in $translate, even two that share a URL and version.
            _localMaps.Add(new CanonicalEntry<ConceptMap>(map, map.Url, map.Version, "request"));
        }
    }

    public bool HasLocal => _local is not null;

    /// <summary>All versions of a code system (request-local first), newest first, supplements excluded.</summary>
    public List<CanonicalEntry<CodeSystem>> CodeSystemVersions(string url)
    {
        var result = new List<CanonicalEntry<CodeSystem>>();
        if (_local is not null)
        {
            result.AddRange(_local.CodeSystems.AllVersions(url));
        }

        foreach (var e in _global.CodeSystems.AllVersions(url))
        {
            if (!result.Any(r => r.Version == e.Version))
            {
                result.Add(e);
            }
        }

        result.RemoveAll(e => e.Resource.Content == CodeSystemContentMode.Supplement);
        result.Sort((a, b) => -Versions.Compare(a.Version, b.Version));
        return result;
    }

    /// <summary>A code system entry (any content mode, supplements included) by URL and version (exact, wildcard, or newest).</summary>
    public CanonicalEntry<CodeSystem>? FindCodeSystemEntry(string url, string? version)
    {
        var local = _local?.CodeSystems.Find(url, version);
        if (local is not null)
        {
            return local;
        }

        return _global.CodeSystems.Find(url, version);
    }

    /// <summary>
    /// The code system (not a supplement) for a URL and version; wildcards pick the newest match; no version picks the newest
    /// the request supplies, else the newest known.
    /// </summary>
    public CanonicalEntry<CodeSystem>? FindCodeSystem(string url, string? version)
    {
        var versions = CodeSystemVersions(url);
        if (versions.Count == 0)
        {
            return null;
        }

        if (version is null)
        {
            // A code system the request supplies (tx-resource) is the one it means, even if the server has a newer one.
            return versions.FirstOrDefault(e => e.Source == "request") ?? versions[0];
        }

        return versions.FirstOrDefault(e => e.Version == version)
            ?? (Versions.IsWildcard(version) ? versions.FirstOrDefault(e => Versions.Matches(version, e.Version)) : null);
    }

    /// <summary>The indexed form of a code system entry, with the given supplements applied (cached on the entry).</summary>
    public static CodeSystemModel Model(CanonicalEntry<CodeSystem> entry, IReadOnlyList<CodeSystem>? supplements = null)
    {
        var key = supplements is null || supplements.Count == 0
            ? "model"
            : "model+" + string.Join(",", supplements.Select(s => s.Url + "|" + s.Version));
        return (CodeSystemModel)entry.Derived.GetOrAdd(key, _ => new CodeSystemModel(entry.Resource, supplements));
    }

    /// <summary>Supplements of a code system (request-local and global).</summary>
    public List<CodeSystem> SupplementsOf(string url)
    {
        var result = new List<CodeSystem>();
        if (_local is not null)
        {
            result.AddRange(_local.Supplements.AllVersions(url).Select(e => e.Resource));
        }

        foreach (var e in _global.Supplements.AllVersions(url))
        {
            if (!result.Any(r => r.Url == e.Resource.Url && r.Version == e.Resource.Version))
            {
                result.Add(e.Resource);
            }
        }

        return result;
    }

    /// <summary>A supplement by its own canonical (url or url|version).</summary>
    public CodeSystem? FindSupplement(string canonical)
    {
        var (url, version) = Versions.SplitCanonical(canonical);
        var e = FindCodeSystemEntry(url, version);
        return e?.Resource.Content == CodeSystemContentMode.Supplement ? e.Resource : null;
    }

    public CanonicalEntry<ValueSet>? FindValueSet(string url, string? version)
    {
        var local = _local?.ValueSets.Find(url, version);
        return local ?? _global.ValueSets.Find(url, version);
    }

    public List<CanonicalEntry<ValueSet>> ValueSetVersions(string url)
    {
        var result = new List<CanonicalEntry<ValueSet>>();
        if (_local is not null)
        {
            result.AddRange(_local.ValueSets.AllVersions(url));
        }

        foreach (var e in _global.ValueSets.AllVersions(url))
        {
            if (!result.Any(r => r.Version == e.Version))
            {
                result.Add(e);
            }
        }

        return result;
    }

    public CanonicalEntry<ValueSet>? ValueSetById(string id) => _local?.ValueSets.ById(id) ?? _global.ValueSets.ById(id);

    public CanonicalEntry<CodeSystem>? CodeSystemById(string id) => _local?.CodeSystems.ById(id) ?? _global.CodeSystems.ById(id);

    public CanonicalEntry<ConceptMap>? ConceptMapById(string id) => _local?.ConceptMaps.ById(id) ?? _global.ConceptMaps.ById(id);

    public CanonicalEntry<ConceptMap>? FindConceptMap(string url, string? version) =>
        _local?.ConceptMaps.Find(url, version) ?? _global.ConceptMaps.Find(url, version);

    public IEnumerable<CanonicalEntry<ConceptMap>> AllConceptMaps()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in _localMaps)
        {
            seen.Add(e.VersionedUrl);
            yield return e;
        }

        foreach (var e in _global.ConceptMaps.All)
        {
            if (seen.Add(e.VersionedUrl))
            {
                yield return e;
            }
        }
    }
}
