using Hl7.Fhir.Model;
using Igia.Fhir.Serialization;
using Igia.Fhir.Storage;

namespace Igia.Fhir.Search;

/// <summary>A search as the handler asks for it: raw parameters, to be parsed, validated and executed.</summary>
/// <param name="ResourceType">The type searched, or null for a system search.</param>
/// <param name="Parameters">The search parameters as sent (name may carry modifiers and chains).</param>
/// <param name="BaseUrl">The FHIR base URL, for <c>fullUrl</c>s and links.</param>
/// <param name="Strict">True under <c>Prefer: handling=strict</c>: unknown or unsupported parameters are errors (400).</param>
/// <param name="CompartmentType">The compartment type of a compartment search.</param>
/// <param name="CompartmentId">The compartment id of a compartment search.</param>
internal sealed record SearchRequest(string? ResourceType, IReadOnlyList<KeyValuePair<string, string>> Parameters, string BaseUrl, bool Strict, string? CompartmentType = null, string? CompartmentId = null);

/// <summary>Extracts index rows at write time and runs searches into searchset Bundles.</summary>
internal sealed class FhirSearchService
{
    /// <summary>The index rows of a resource, for every search parameter of its type.</summary>
    public IReadOnlyList<SearchIndexEntry> Extract(Resource resource) => [];

    /// <summary>Runs a search and builds the searchset Bundle (matches, includes, links, total, warnings).</summary>
    public async Task<Bundle> SearchAsync(IFhirStoreSession session, SearchRequest request, CancellationToken cancellationToken)
    {
        var query = new SearchQuery { ResourceTypes = request.ResourceType is null ? [] : [request.ResourceType] };
        var result = await session.SearchAsync(query, cancellationToken);
        var bundle = new Bundle { Type = Bundle.BundleType.Searchset, Total = result.Total };
        foreach (var match in result.Matches)
        {
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = $"{request.BaseUrl}/{match.ResourceType}/{match.Id}",
                Resource = FhirFormats.ParseStored(match.Json!),
                Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Match },
            });
        }

        return bundle;
    }

    /// <summary>Finds the current resources of <paramref name="resourceType"/> matching criteria, for conditional interactions (at most <paramref name="max"/>).</summary>
    public async Task<IReadOnlyList<StoredResource>> FindAsync(IFhirStoreSession session, string resourceType, IReadOnlyList<KeyValuePair<string, string>> criteria, int max, CancellationToken cancellationToken)
    {
        var result = await session.SearchAsync(new SearchQuery { ResourceTypes = [resourceType], Count = max }, cancellationToken);
        return result.Matches;
    }
}
