using Hl7.Fhir.Model;

namespace Igia.Fhir.Search;

/// <summary>A search parameter as the server knows it.</summary>
/// <param name="ResourceType">The resource type it applies to (<c>Resource</c>/<c>DomainResource</c> for common ones).</param>
/// <param name="Code">The code used in URLs.</param>
/// <param name="Url">The canonical URL of its SearchParameter.</param>
/// <param name="Type">Its type.</param>
/// <param name="Expression">The FHIRPath expression that extracts its values (may cover several types; only the part for <paramref name="ResourceType"/> matters).</param>
/// <param name="Targets">For reference parameters, the resource types it may point to.</param>
/// <param name="Components">For composite parameters, the component definitions (canonical URL and FHIRPath relative to the composite's element).</param>
/// <param name="Description">Human-readable description.</param>
public sealed record SearchParameterInfo(
    string ResourceType,
    string Code,
    string Url,
    SearchParamType Type,
    string? Expression,
    IReadOnlyList<string> Targets,
    IReadOnlyList<(string Definition, string Expression)> Components,
    string? Description);

/// <summary>
/// The search parameters of every resource type: the R4 core set from Firely's <c>ModelInfo.SearchParameters</c>, the common
/// parameters of all resources (<c>_id</c>, <c>_lastUpdated</c>, <c>_tag</c>, <c>_profile</c>, <c>_security</c>, <c>_source</c>),
/// plus any added at start-up.
/// </summary>
public sealed class SearchParameterRegistry
{
    private const string Base = "http://hl7.org/fhir/SearchParameter/";

    private readonly Dictionary<string, Dictionary<string, SearchParameterInfo>> _byType = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SearchParameterInfo> _common = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SearchParameterInfo> _byUrl = new(StringComparer.Ordinal);
    private int _version;

    /// <summary>Creates the registry with the R4 core search parameters.</summary>
    public SearchParameterRegistry()
    {
        Add(new SearchParameterInfo("Resource", "_id", Base + "Resource-id", SearchParamType.Token, "Resource.id", [], [], "Logical id of this artifact"));
        Add(new SearchParameterInfo("Resource", "_lastUpdated", Base + "Resource-lastUpdated", SearchParamType.Date, "Resource.meta.lastUpdated", [], [], "When the resource version last changed"));
        Add(new SearchParameterInfo("Resource", "_tag", Base + "Resource-tag", SearchParamType.Token, "Resource.meta.tag", [], [], "Tags applied to this resource"));
        Add(new SearchParameterInfo("Resource", "_profile", Base + "Resource-profile", SearchParamType.Uri, "Resource.meta.profile", [], [], "Profiles this resource claims to conform to"));
        Add(new SearchParameterInfo("Resource", "_security", Base + "Resource-security", SearchParamType.Token, "Resource.meta.security", [], [], "Security Labels applied to this resource"));
        Add(new SearchParameterInfo("Resource", "_source", Base + "Resource-source", SearchParamType.Uri, "Resource.meta.source", [], [], "Identifies where the resource comes from"));

        foreach (var d in ModelInfo.SearchParameters)
        {
            if (d.Resource is null || d.Name is null || d.Url is null)
            {
                continue;
            }

            // _text has no expression (narrative search is not supported); leave it out rather than advertise it.
            if (d.Resource is "DomainResource" && string.IsNullOrEmpty(d.Expression))
            {
                continue;
            }

            var info = new SearchParameterInfo(
                d.Resource,
                d.Code ?? d.Name,
                d.Url,
                d.Type,
                d.Expression,
                d.Target?.Select(t => t.ToString()).ToArray() ?? [],
                d.Component?.Select(c => (c.Definition, c.Expression)).ToArray() ?? [],
                d.Description?.ToString());
            Add(info);
        }
    }

    /// <summary>Changes whenever a parameter is added, so that caches built from the registry can tell they are stale.</summary>
    internal int Version => Volatile.Read(ref _version);

    /// <summary>Adds or replaces a parameter (for custom SearchParameters). Resources written before keep their old index rows.</summary>
    public void Add(SearchParameterInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        lock (_byType)
        {
            if (info.ResourceType is "Resource" or "DomainResource")
            {
                _common[info.Code] = info;
            }
            else
            {
                if (!_byType.TryGetValue(info.ResourceType, out var map))
                {
                    _byType[info.ResourceType] = map = new Dictionary<string, SearchParameterInfo>(StringComparer.Ordinal);
                }

                map[info.Code] = info;
            }

            // Shared definitions (e.g. clinical-code) are listed once per type; any of them serves to find the type of a component.
            _byUrl.TryAdd(info.Url, info);
            Interlocked.Increment(ref _version);
        }
    }

    /// <summary>Parameters that apply to every resource type (<c>_id</c>, <c>_lastUpdated</c>, <c>_tag</c>, <c>_profile</c>, <c>_security</c>, <c>_source</c>).</summary>
    public IEnumerable<SearchParameterInfo> Common => _common.Values;

    /// <summary>The parameters specific to <paramref name="resourceType"/> (not the common ones).</summary>
    public IEnumerable<SearchParameterInfo> ForType(string resourceType) =>
        _byType.TryGetValue(resourceType, out var map) ? map.Values : [];

    /// <summary>Looks a parameter up by code for a type, falling back to the common ones.</summary>
    public SearchParameterInfo? Find(string resourceType, string code) =>
        _byType.TryGetValue(resourceType, out var map) && map.TryGetValue(code, out var info) ? info
        : _common.GetValueOrDefault(code);

    /// <summary>Looks a parameter up by its canonical URL (used for the components of composite parameters).</summary>
    public SearchParameterInfo? FindByUrl(string url) => _byUrl.GetValueOrDefault(url);

    /// <summary>The <c>_revinclude</c> values that point at <paramref name="resourceType"/> (e.g. <c>Observation:subject</c>).</summary>
    public IEnumerable<string> RevIncludesFor(string resourceType) =>
        _byType.Values.SelectMany(m => m.Values)
            .Where(p => p.Type == SearchParamType.Reference && p.Targets.Contains(resourceType))
            .Select(p => $"{p.ResourceType}:{p.Code}")
            .Order(StringComparer.Ordinal);

    /// <summary>The reference parameters of <paramref name="resourceType"/> that may point at <paramref name="targetType"/>.</summary>
    internal IEnumerable<SearchParameterInfo> ReferencesTo(string resourceType, string targetType) =>
        ForType(resourceType).Where(p => p.Type == SearchParamType.Reference && (p.Targets.Count == 0 || p.Targets.Contains(targetType)));
}
