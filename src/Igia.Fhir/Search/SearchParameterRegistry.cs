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

/// <summary>The search parameters of every resource type: the R4 core set from Firely's <c>ModelInfo.SearchParameters</c>, plus any added at start-up.</summary>
public sealed class SearchParameterRegistry
{
    private readonly Dictionary<string, Dictionary<string, SearchParameterInfo>> _byType = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SearchParameterInfo> _common = new(StringComparer.Ordinal);

    /// <summary>Creates the registry with the R4 core search parameters.</summary>
    public SearchParameterRegistry()
    {
        foreach (var d in ModelInfo.SearchParameters)
        {
            if (d.Resource is null || d.Name is null || d.Url is null)
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

    /// <summary>Adds or replaces a parameter (for custom SearchParameters).</summary>
    public void Add(SearchParameterInfo info)
    {
        if (info.ResourceType is "Resource" or "DomainResource")
        {
            _common[info.Code] = info;
            return;
        }

        if (!_byType.TryGetValue(info.ResourceType, out var map))
        {
            _byType[info.ResourceType] = map = new Dictionary<string, SearchParameterInfo>(StringComparer.Ordinal);
        }

        map[info.Code] = info;
    }

    /// <summary>Parameters that apply to every resource type (<c>_id</c>, <c>_lastUpdated</c>, <c>_tag</c>, <c>_profile</c>, <c>_security</c>, …).</summary>
    public IEnumerable<SearchParameterInfo> Common => _common.Values;

    /// <summary>The parameters specific to <paramref name="resourceType"/> (not the common ones).</summary>
    public IEnumerable<SearchParameterInfo> ForType(string resourceType) =>
        _byType.TryGetValue(resourceType, out var map) ? map.Values : [];

    /// <summary>Looks a parameter up by code for a type, falling back to the common ones.</summary>
    public SearchParameterInfo? Find(string resourceType, string code) =>
        _byType.TryGetValue(resourceType, out var map) && map.TryGetValue(code, out var info) ? info
        : _common.GetValueOrDefault(code);

    /// <summary>The <c>_revinclude</c> values that point at <paramref name="resourceType"/> (e.g. <c>Observation:subject</c>).</summary>
    public IEnumerable<string> RevIncludesFor(string resourceType) =>
        _byType.Values.SelectMany(m => m.Values)
            .Where(p => p.Type == SearchParamType.Reference && p.Targets.Contains(resourceType))
            .Select(p => $"{p.ResourceType}:{p.Code}")
            .Order(StringComparer.Ordinal);
}
