namespace Igia.Fhir.Search;

/// <summary>A parsed, validated search over the index, ready for a store to execute.</summary>
public sealed class SearchQuery
{
    /// <summary>The resource types searched (one for a type search; several or none = all for a system search).</summary>
    public IReadOnlyList<string> ResourceTypes { get; init; } = [];

    /// <summary>Page size.</summary>
    public int Count { get; init; } = 50;

    /// <summary>Matches to skip.</summary>
    public int Offset { get; init; }
}

/// <summary>What a store returns for a <see cref="SearchQuery"/>.</summary>
/// <param name="Matches">The matching resources on this page, in order.</param>
/// <param name="Included">Resources added by <c>_include</c>/<c>_revinclude</c>.</param>
/// <param name="Total">The number of matches, when asked for.</param>
public sealed record StoreSearchResult(IReadOnlyList<Storage.StoredResource> Matches, IReadOnlyList<Storage.StoredResource> Included, int? Total);
