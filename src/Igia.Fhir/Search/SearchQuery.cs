using Hl7.Fhir.Model;

namespace Igia.Fhir.Search;

/// <summary>
/// A parsed, validated search over the index, ready for a store to execute. It is database-neutral: conditions are
/// a small tree over the typed index rows (<see cref="SearchIndexEntry"/>) and two resource columns
/// (<c>_id</c> and <c>_lastUpdated</c>, which have no index rows).
/// </summary>
public sealed class SearchQuery
{
    /// <summary>The resource types searched (one for a type search; several or none = all for a system search).</summary>
    public IReadOnlyList<string> ResourceTypes { get; init; } = [];

    /// <summary>Conditions that must all hold (AND). Empty matches every current resource of <see cref="ResourceTypes"/>.</summary>
    public IReadOnlyList<SearchCondition> Conditions { get; init; } = [];

    /// <summary>Sort keys, most significant first; ties (and no keys) are ordered by storage order.</summary>
    public IReadOnlyList<SearchSort> Sort { get; init; } = [];

    /// <summary>Page size.</summary>
    public int Count { get; init; } = 50;

    /// <summary>Matches to skip.</summary>
    public int Offset { get; init; }

    /// <summary>Whether and how to count the matches.</summary>
    public SearchTotalMode Total { get; init; } = SearchTotalMode.None;

    /// <summary>Only count the matches; return no resources (<c>_summary=count</c>).</summary>
    public bool CountOnly { get; init; }

    /// <summary><c>_include</c>s and <c>_revinclude</c>s to resolve for the page.</summary>
    public IReadOnlyList<SearchInclude> Includes { get; init; } = [];

    /// <summary>The most resources <see cref="Includes"/> may add to one page.</summary>
    public int MaxIncluded { get; init; } = 1000;

    /// <summary>
    /// The FHIR base URL of the server: an absolute reference that starts with it is local and matches like a relative one
    /// (for conditions and includes).
    /// </summary>
    public string? BaseUrl { get; init; }

    /// <summary>The most matches collected for one search (and kept in a paging snapshot).</summary>
    public int MaxResults { get; init; } = 1000;

    /// <summary>
    /// When set and the matches do not fit on one page, the store keeps the ordered matches as a snapshot valid until this
    /// instant, so that later pages stay stable while others write, and returns its id in <see cref="StoreSearchResult.SnapshotId"/>.
    /// </summary>
    public DateTimeOffset? SnapshotExpires { get; init; }

    /// <summary>Opaque text kept with a new snapshot and returned with each page of it (the search service keeps its parameters there).</summary>
    public string? SnapshotState { get; init; }

    /// <summary>
    /// Reads a page of an existing snapshot instead of running <see cref="Conditions"/> (which are then ignored);
    /// the store throws <see cref="SearchSnapshotNotFoundException"/> when it is unknown or expired.
    /// </summary>
    public string? SnapshotId { get; init; }

    /// <summary>The current time, to tell expired snapshots.</summary>
    public DateTimeOffset Now { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>How to count a search's matches (<c>_total</c>).</summary>
public enum SearchTotalMode
{
    /// <summary>No total needed; a store may still give one when it has it at no cost.</summary>
    None,

    /// <summary>An estimate is enough.</summary>
    Estimate,

    /// <summary>The exact number.</summary>
    Accurate,
}

/// <summary>A sort key (<c>_sort</c>).</summary>
/// <param name="Parameter">The parameter code, or <c>_id</c> / <c>_lastUpdated</c>.</param>
/// <param name="Type">The parameter's type (picks the index rows).</param>
/// <param name="Descending">True for <c>-param</c>.</param>
public sealed record SearchSort(string Parameter, SearchParamType Type, bool Descending);

/// <summary>An <c>_include</c> (follow references out of the page) or <c>_revinclude</c> (find resources that refer to the page).</summary>
/// <param name="Reverse">True for <c>_revinclude</c>.</param>
/// <param name="SourceType">The type holding the reference, or null for any.</param>
/// <param name="Parameters">The reference search parameters followed; empty for every reference parameter (<c>*</c>).</param>
/// <param name="TargetType">Restricts the resources referred to, or null for any.</param>
/// <param name="Iterate">True for <c>:iterate</c>: also applied to included resources, repeatedly.</param>
public sealed record SearchInclude(bool Reverse, string? SourceType, IReadOnlyList<string> Parameters, string? TargetType, bool Iterate);

/// <summary>The comparison prefix of a number, date or quantity search value.</summary>
public enum SearchPrefix
{
    /// <summary>Equal (within the precision of the value).</summary>
    Eq,

    /// <summary>Not equal.</summary>
    Ne,

    /// <summary>Greater than.</summary>
    Gt,

    /// <summary>Less than.</summary>
    Lt,

    /// <summary>Greater or equal.</summary>
    Ge,

    /// <summary>Less or equal.</summary>
    Le,

    /// <summary>Starts after.</summary>
    Sa,

    /// <summary>Ends before.</summary>
    Eb,

    /// <summary>Approximately (10%).</summary>
    Ap,
}

/// <summary>How a string value is matched.</summary>
public enum StringMatch
{
    /// <summary>The normalised value starts with the normalised search value (the default).</summary>
    StartsWith,

    /// <summary>The value equals the search value exactly (<c>:exact</c>).</summary>
    Exact,

    /// <summary>The normalised value contains the normalised search value (<c>:contains</c>).</summary>
    Contains,
}

/// <summary>How a token's system is matched.</summary>
public enum TokenSystemMatch
{
    /// <summary>Any system or none (<c>code</c>).</summary>
    Any,

    /// <summary>The given system (<c>system|code</c>, <c>system|</c>).</summary>
    Equals,

    /// <summary>No system (<c>|code</c>).</summary>
    None,
}

/// <summary>How a URI is matched.</summary>
public enum UriMatch
{
    /// <summary>Equal.</summary>
    Exact,

    /// <summary>The indexed URI starts with the search value (<c>:below</c>).</summary>
    Below,

    /// <summary>The search value starts with the indexed URI, at a path boundary (<c>:above</c>).</summary>
    Above,
}

/// <summary>A node of a search's condition tree. Conditions on a parameter refer to the index rows with that parameter code.</summary>
public abstract record SearchCondition;

/// <summary>Any of the alternatives holds (OR).</summary>
/// <param name="Alternatives">The alternatives.</param>
public sealed record AnyOfCondition(IReadOnlyList<SearchCondition> Alternatives) : SearchCondition;

/// <summary>All conditions hold (AND).</summary>
/// <param name="Conditions">The conditions.</param>
public sealed record AllOfCondition(IReadOnlyList<SearchCondition> Conditions) : SearchCondition;

/// <summary>The condition does not hold (a resource with no value for the parameter matches).</summary>
/// <param name="Condition">The negated condition.</param>
public sealed record NotCondition(SearchCondition Condition) : SearchCondition;

/// <summary>The resource is of one of the types.</summary>
/// <param name="Types">The resource types.</param>
public sealed record TypeCondition(IReadOnlyList<string> Types) : SearchCondition;

/// <summary>The resource's logical id is one of the ids (<c>_id</c>).</summary>
/// <param name="Ids">The ids.</param>
public sealed record IdCondition(IReadOnlyList<string> Ids) : SearchCondition;

/// <summary>The resource is one of these (type, id) pairs.</summary>
/// <param name="Keys">The resources.</param>
public sealed record ResourceKeysCondition(IReadOnlyList<(string Type, string Id)> Keys) : SearchCondition;

/// <summary>
/// A date comparison between the index ranges of <paramref name="Parameter"/> and the search range [<paramref name="Low"/>, <paramref name="High"/>]
/// (both inclusive, per search.html#prefix). For <c>_lastUpdated</c>, the resource's own time stamp is compared.
/// </summary>
/// <param name="Parameter">The parameter code, or <c>_lastUpdated</c>.</param>
/// <param name="Prefix">The comparison.</param>
/// <param name="Low">The start of the search range.</param>
/// <param name="High">The end of the search range.</param>
/// <param name="ApproximateMargin">For <see cref="SearchPrefix.Ap"/>, how far beyond the range still counts.</param>
public sealed record DateCondition(string Parameter, SearchPrefix Prefix, DateTimeOffset Low, DateTimeOffset High, TimeSpan ApproximateMargin = default) : SearchCondition;

/// <summary>A string match.</summary>
/// <param name="Parameter">The parameter code.</param>
/// <param name="Value">The value as given (compared as is for <see cref="StringMatch.Exact"/>).</param>
/// <param name="Normalized">The value normalised like <see cref="StringIndexEntry.Normalized"/> (compared for the other matches).</param>
/// <param name="Match">How to match.</param>
public sealed record StringCondition(string Parameter, string Value, string Normalized, StringMatch Match) : SearchCondition;

/// <summary>A token match.</summary>
/// <param name="Parameter">The parameter code.</param>
/// <param name="System">The system, for <see cref="TokenSystemMatch.Equals"/>.</param>
/// <param name="Code">The code, or null for any code.</param>
/// <param name="SystemMatch">How the system is matched.</param>
public sealed record TokenCondition(string Parameter, string? System, string? Code, TokenSystemMatch SystemMatch) : SearchCondition;

/// <summary>A token's text starts with the (normalised) value (<c>:text</c>).</summary>
/// <param name="Parameter">The parameter code.</param>
/// <param name="Text">The normalised text.</param>
public sealed record TokenTextCondition(string Parameter, string Text) : SearchCondition;

/// <summary>
/// A reference match. With <paramref name="TargetId"/>: rows whose target id matches (and type, when <paramref name="TargetTypes"/> is given) that are
/// relative or absolute under <see cref="SearchQuery.BaseUrl"/>. With only <paramref name="Url"/>: rows with that absolute or canonical URL.
/// </summary>
/// <param name="Parameter">The parameter code.</param>
/// <param name="TargetTypes">Allowed target types, or null for any.</param>
/// <param name="TargetId">The target's logical id.</param>
/// <param name="Url">An absolute (non-local) or canonical URL to match instead.</param>
public sealed record ReferenceCondition(string Parameter, IReadOnlyList<string>? TargetTypes, string? TargetId, string? Url) : SearchCondition;

/// <summary>A number comparison. Equality is within the search value's precision, [<paramref name="Low"/>, <paramref name="High"/>).</summary>
/// <param name="Parameter">The parameter code.</param>
/// <param name="Prefix">The comparison.</param>
/// <param name="Value">The search value.</param>
/// <param name="Low">The lower end of the implied range.</param>
/// <param name="High">The upper end of the implied range (exclusive).</param>
public sealed record NumberCondition(string Parameter, SearchPrefix Prefix, decimal Value, decimal Low, decimal High) : SearchCondition;

/// <summary>
/// A quantity comparison. When <paramref name="CanonicalCode"/> is set, rows with a canonical form are compared in canonical units
/// (<paramref name="CanonicalValue"/>), and rows without one by <paramref name="System"/>/<paramref name="Code"/> and <paramref name="Value"/>.
/// </summary>
/// <param name="Parameter">The parameter code.</param>
/// <param name="Prefix">The comparison.</param>
/// <param name="Value">The value and its implied range, as written.</param>
/// <param name="System">The unit system, or null for any.</param>
/// <param name="Code">The unit code (or, without a system, the code or the unit text), or null for any.</param>
/// <param name="CanonicalValue">The value and range in UCUM base units.</param>
/// <param name="CanonicalCode">The UCUM base unit expression.</param>
public sealed record QuantityCondition(string Parameter, SearchPrefix Prefix, NumberRange Value, string? System, string? Code, NumberRange? CanonicalValue, string? CanonicalCode) : SearchCondition;

/// <summary>A number with its implied precision range [<paramref name="Low"/>, <paramref name="High"/>).</summary>
/// <param name="Value">The value.</param>
/// <param name="Low">The lower end.</param>
/// <param name="High">The upper end (exclusive).</param>
public sealed record NumberRange(decimal Value, decimal Low, decimal High);

/// <summary>A URI match.</summary>
/// <param name="Parameter">The parameter code.</param>
/// <param name="Uri">The URI.</param>
/// <param name="Match">How to match.</param>
public sealed record UriCondition(string Parameter, string Uri, UriMatch Match) : SearchCondition;

/// <summary>The resource has (<paramref name="Missing"/> false) or has no (true) index row for the parameter (<c>:missing</c>).</summary>
/// <param name="Parameter">The parameter code (for a composite, the code of its first component).</param>
/// <param name="Type">The parameter's type (picks the index rows).</param>
/// <param name="Missing">True to find resources without a value.</param>
public sealed record MissingCondition(string Parameter, SearchParamType Type, bool Missing) : SearchCondition;

/// <summary>
/// A chained search: the resource refers through <paramref name="Parameter"/> to a current resource of one of
/// <paramref name="TargetTypes"/> for which all <paramref name="TargetConditions"/> hold.
/// </summary>
/// <param name="Parameter">The reference parameter of the searched resource.</param>
/// <param name="TargetTypes">The types of the resources referred to.</param>
/// <param name="TargetConditions">Conditions on the resource referred to.</param>
public sealed record ChainCondition(string Parameter, IReadOnlyList<string> TargetTypes, IReadOnlyList<SearchCondition> TargetConditions) : SearchCondition;

/// <summary>
/// A reverse chain (<c>_has</c>): some current resource of <paramref name="SourceType"/> refers to the resource through
/// <paramref name="Parameter"/>, and all <paramref name="SourceConditions"/> hold for it.
/// </summary>
/// <param name="SourceType">The referring type.</param>
/// <param name="Parameter">Its reference parameter.</param>
/// <param name="SourceConditions">Conditions on the referring resource.</param>
public sealed record ReverseChainCondition(string SourceType, string Parameter, IReadOnlyList<SearchCondition> SourceConditions) : SearchCondition;

/// <summary>
/// A composite match: one element (one <see cref="CompositeIndexEntry"/>) satisfies every component condition. Component conditions use the
/// component codes of <see cref="CompositeIndexEntry.ComponentCode"/>.
/// </summary>
/// <param name="Parameter">The composite parameter code.</param>
/// <param name="Components">One condition per component, in order.</param>
public sealed record CompositeCondition(string Parameter, IReadOnlyList<SearchCondition> Components) : SearchCondition;

/// <summary>What a store returns for a <see cref="SearchQuery"/>.</summary>
/// <param name="Matches">The matching resources on this page, in order.</param>
/// <param name="Included">Resources added by <c>_include</c>/<c>_revinclude</c>.</param>
/// <param name="Total">The number of matches, when asked for or known.</param>
public sealed record StoreSearchResult(IReadOnlyList<Storage.StoredResource> Matches, IReadOnlyList<Storage.StoredResource> Included, int? Total)
{
    /// <summary>The snapshot that holds all the matches, when one was made (or read).</summary>
    public string? SnapshotId { get; init; }

    /// <summary>The <see cref="SearchQuery.SnapshotState"/> kept with the snapshot that was read.</summary>
    public string? SnapshotState { get; init; }
}

/// <summary>Thrown by a store when a paging snapshot is unknown or has expired.</summary>
/// <param name="snapshotId">The snapshot id.</param>
/// <param name="expired">True when it existed but expired.</param>
public sealed class SearchSnapshotNotFoundException(string snapshotId, bool expired)
    : Exception(expired ? "The search result set has expired; run the search again." : "The search result set is not known; run the search again.")
{
    /// <summary>The snapshot id.</summary>
    public string SnapshotId { get; } = snapshotId;

    /// <summary>True when it existed but expired.</summary>
    public bool Expired { get; } = expired;
}
