using System.Globalization;
using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Serialization;
using Igia.Fhir.Server;
using Igia.Fhir.Storage;
using Microsoft.Extensions.Options;

namespace Igia.Fhir.Search;

/// <summary>A search as the handler asks for it: raw parameters, to be parsed, validated and executed.</summary>
/// <param name="ResourceType">The type searched, or null for a system search.</param>
/// <param name="Parameters">The search parameters as sent (name may carry modifiers and chains).</param>
/// <param name="BaseUrl">The FHIR base URL, for <c>fullUrl</c>s and links.</param>
/// <param name="Strict">True under <c>Prefer: handling=strict</c>: unknown or unsupported parameters are errors (400).</param>
/// <param name="CompartmentType">The compartment type of a compartment search.</param>
/// <param name="CompartmentId">The compartment id of a compartment search.</param>
internal sealed record SearchRequest(string? ResourceType, IReadOnlyList<KeyValuePair<string, string>> Parameters, string BaseUrl, bool Strict, string? CompartmentType = null, string? CompartmentId = null)
{
    /// <summary>
    /// The expansions of the value sets named by <c>:in</c>/<c>:not-in</c> parameters (null entry: unknown value set);
    /// null when no <see cref="IFhirValueSetMembership"/> is registered.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyCollection<FhirSearchCode>?>? ValueSets { get; init; }

    /// <summary>The members of the Lists named by <c>_list</c> (by List id; null entry: no such List), read in the search's session.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<(string Type, string Id)>?>? Lists { get; init; }
}

/// <summary>Extracts index rows at write time and runs searches into searchset Bundles.</summary>
internal sealed class FhirSearchService
{
    private readonly SearchIndexer _indexer;
    private readonly SearchRequestParser _parser;
    private readonly FhirServerOptions _options;
    private readonly TimeProvider _time;
    private readonly IFhirValueSetMembership? _valueSets;

    /// <summary>Creates the service.</summary>
    public FhirSearchService(SearchParameterRegistry registry, IOptions<FhirServerOptions> options, TimeProvider time, IEnumerable<IFhirValueSetMembership>? valueSets = null)
    {
        _valueSets = valueSets?.FirstOrDefault();
        _options = options.Value;
        _time = time;
        _indexer = new SearchIndexer(registry);
        _parser = new SearchRequestParser(registry, _options);
    }

    /// <summary>The index rows of a resource, for every search parameter of its type.</summary>
    public IReadOnlyList<SearchIndexEntry> Extract(Resource resource) => _indexer.Extract(resource);

    /// <summary>
    /// Runs a search and builds the searchset Bundle (matches, includes, links, total, warnings), its entries' resources
    /// left as stored JSON until someone needs them as objects.
    /// </summary>
    public async Task<StoredBundleEntries> SearchAsync(IFhirStoreSession session, SearchRequest request, CancellationToken cancellationToken)
    {
        request = await WithListsAsync(session, await WithValueSetsAsync(request, cancellationToken), cancellationToken);
        var parsed = _parser.Parse(request);
        return parsed.GetPages is not null
            ? await NextPageAsync(session, request, parsed, cancellationToken)
            : await FirstPageAsync(session, request, parsed, cancellationToken);
    }

    /// <summary>Reads the Lists that <c>_list</c> parameters name and collects the local resources their entries reference.</summary>
    private static async Task<SearchRequest> WithListsAsync(IFhirStoreSession session, SearchRequest request, CancellationToken cancellationToken)
    {
        Dictionary<string, IReadOnlyList<(string Type, string Id)>?>? lists = null;
        foreach (var (name, value) in request.Parameters)
        {
            if (name != "_list")
            {
                continue;
            }

            lists ??= new Dictionary<string, IReadOnlyList<(string Type, string Id)>?>(StringComparer.Ordinal);
            foreach (var part in SearchEscaping.Split(value, ','))
            {
                var id = SearchEscaping.Unescape(part);
                if (lists.ContainsKey(id))
                {
                    continue;
                }

                if (!Server.FhirInteractionHandler.IsValidId(id))
                {
                    lists[id] = null;
                    continue;
                }

                var stored = await session.ReadAsync("List", id, null, cancellationToken);
                var members = new List<(string Type, string Id)>();
                if (stored is { Deleted: false, Json: { } json } && Serialization.FhirFormats.ParseStored(json) is Hl7.Fhir.Model.List list)
                {
                    foreach (var entry in list.Entry)
                    {
                        // Relative references (Type/id) only: the index of this server knows no other.
                        if (entry.Item?.Reference is { } reference && reference.Split('/') is [var type, var memberId] && ModelInfo.IsKnownResource(type))
                        {
                            members.Add((type, memberId));
                        }
                    }
                }

                // A List that does not exist (or was deleted) names nothing: the search matches nothing.
                lists[id] = members;
            }
        }

        return lists is null ? request : request with { Lists = lists };
    }

    /// <summary>Expands, through the registered <see cref="IFhirValueSetMembership"/>, the value sets that <c>:in</c>/<c>:not-in</c> parameters name.</summary>
    private async Task<SearchRequest> WithValueSetsAsync(SearchRequest request, CancellationToken cancellationToken)
    {
        if (_valueSets is null)
        {
            return request;
        }

        Dictionary<string, IReadOnlyCollection<FhirSearchCode>?>? expansions = null;
        foreach (var (name, value) in request.Parameters)
        {
            if (!name.EndsWith(":in", StringComparison.Ordinal) && !name.EndsWith(":not-in", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var valueSet in SearchEscaping.Split(value, ','))
            {
                var url = SearchEscaping.Unescape(valueSet);
                expansions ??= new Dictionary<string, IReadOnlyCollection<FhirSearchCode>?>(StringComparer.Ordinal);
                if (url.Length > 0 && !expansions.ContainsKey(url))
                {
                    expansions[url] = await _valueSets.ExpandAsync(url, cancellationToken);
                }
            }
        }

        return request with { ValueSets = expansions ?? new Dictionary<string, IReadOnlyCollection<FhirSearchCode>?>() };
    }

    /// <summary>Finds the current resources of <paramref name="resourceType"/> matching criteria, for conditional interactions (at most <paramref name="max"/>).</summary>
    public async Task<IReadOnlyList<StoredResource>> FindAsync(IFhirStoreSession session, string resourceType, IReadOnlyList<KeyValuePair<string, string>> criteria, int max, CancellationToken cancellationToken)
    {
        var request = await WithListsAsync(session, await WithValueSetsAsync(new SearchRequest(resourceType, criteria, _options.BaseUrl?.ToString().TrimEnd('/') ?? "", Strict: true), cancellationToken), cancellationToken);
        var parsed = _parser.Parse(request, criteriaOnly: true);
        var result = await session.SearchAsync(new SearchQuery
        {
            ResourceTypes = [resourceType],
            Conditions = parsed.Conditions,
            Count = max,
            MaxResults = max,
            BaseUrl = _options.BaseUrl?.ToString().TrimEnd('/'),
            Now = _time.GetUtcNow(),
        }, cancellationToken);
        return result.Matches;
    }

    private async Task<StoredBundleEntries> FirstPageAsync(IFhirStoreSession session, SearchRequest request, ParsedSearch parsed, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var state = EncodeState(request, parsed.Used);
        var query = new SearchQuery
        {
            ResourceTypes = parsed.ResourceTypes,
            Conditions = parsed.Conditions,
            Sort = parsed.Sort,
            Count = parsed.Count,
            Offset = parsed.Offset,
            Total = parsed.CountOnly ? SearchTotalMode.Accurate : parsed.Total,
            CountOnly = parsed.CountOnly,
            Includes = parsed.Includes,
            MaxIncluded = Math.Max(_options.MaxPageSize, 100),
            BaseUrl = request.BaseUrl,
            MaxResults = _options.MaxSearchResults,
            SnapshotExpires = now + _options.SearchSnapshotLifetime,
            SnapshotState = state,
            Now = now,
        };
        var result = await session.SearchAsync(query, cancellationToken);
        var entries = new StoredBundleEntries(NewBundle(parsed, result.Total));
        AddEntries(entries, request.BaseUrl, result);
        var bundle = entries.Bundle;
        AddWarnings(bundle, parsed.Warnings);

        var path = SearchPath(request);
        var passthrough = parsed.Passthrough;
        var selfParameters = new List<KeyValuePair<string, string>>(parsed.Used);
        if (parsed.CountGiven)
        {
            selfParameters.Add(new("_count", parsed.Count.ToString(CultureInfo.InvariantCulture)));
        }

        if (parsed.Offset > 0)
        {
            selfParameters.Add(new("_offset", parsed.Offset.ToString(CultureInfo.InvariantCulture)));
        }

        bundle.Link.Add(Link("self", Url(request.BaseUrl, path, selfParameters.Concat(passthrough))));
        if (result.SnapshotId is { } snapshot)
        {
            AddPagingLinks(bundle, request.BaseUrl, path, snapshot, parsed.Offset, parsed.Count, result.Total, result.Matches.Count, passthrough, includeSelf: false);
        }

        return entries;
    }

    private async Task<StoredBundleEntries> NextPageAsync(IFhirStoreSession session, SearchRequest request, ParsedSearch paging, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var count = paging.CountGiven ? Math.Min(paging.Count, _options.MaxPageSize) : _options.DefaultPageSize;
        StoreSearchResult page;
        try
        {
            page = await session.SearchAsync(new SearchQuery
            {
                SnapshotId = paging.GetPages,
                Offset = paging.Offset,
                Count = count,
                BaseUrl = request.BaseUrl,
                Now = now,
            }, cancellationToken);
        }
        catch (SearchSnapshotNotFoundException e)
        {
            throw e.Expired
                ? new FhirException(HttpStatusCode.Gone, OperationOutcome.IssueType.NotFound, "The search result set (_getpages) has expired; run the search again.")
                : FhirException.NotFound("The search result set (_getpages) is not known; run the search again.");
        }

        var (original, used) = DecodeState(page.SnapshotState);
        if (original.ResourceType != request.ResourceType || original.CompartmentType != request.CompartmentType || original.CompartmentId != request.CompartmentId)
        {
            throw FhirException.BadRequest("_getpages: the result set belongs to a different search URL.");
        }

        foreach (var other in paging.Other)
        {
            if (!used.Contains(other))
            {
                throw FhirException.BadRequest($"_getpages: parameter '{SearchRequestParser.Truncate(other.Key)}' was not part of the original search and cannot be added to a page request.");
            }
        }

        // Re-read the original search's result parameters (includes, _total) from the snapshot.
        var parsed = _parser.Parse(request with { Parameters = used, Strict = false });
        var included = page.Included;
        if (parsed.Includes.Count > 0 && page.Matches.Count > 0)
        {
            var includeResult = await session.SearchAsync(new SearchQuery
            {
                ResourceTypes = page.Matches.Select(m => m.ResourceType).Distinct().ToList(),
                Conditions = [new ResourceKeysCondition(page.Matches.Select(m => (m.ResourceType, m.Id)).ToList())],
                Count = page.Matches.Count,
                MaxResults = page.Matches.Count,
                Includes = parsed.Includes,
                MaxIncluded = Math.Max(_options.MaxPageSize, 100),
                BaseUrl = request.BaseUrl,
                Now = now,
            }, cancellationToken);
            included = includeResult.Included;
        }

        var entries = new StoredBundleEntries(NewBundle(parsed, page.Total));
        AddEntries(entries, request.BaseUrl, page with { Included = included });
        var path = SearchPath(request);
        AddPagingLinks(entries.Bundle, request.BaseUrl, path, paging.GetPages!, paging.Offset, count, page.Total, page.Matches.Count, paging.Passthrough, includeSelf: true);
        return entries;
    }

    private Bundle NewBundle(ParsedSearch parsed, int? total)
    {
        var bundle = new Bundle
        {
            Id = Guid.NewGuid().ToString("N"),
            Type = Bundle.BundleType.Searchset,
            Meta = new Meta { LastUpdated = _time.GetUtcNow() },
        };
        if (total is not null && (parsed.Total != SearchTotalMode.None || !parsed.TotalGiven || parsed.CountOnly))
        {
            bundle.Total = total;
        }

        return bundle;
    }

    private static void AddEntries(StoredBundleEntries bundle, string baseUrl, StoreSearchResult result)
    {
        foreach (var match in result.Matches)
        {
            bundle.Add(Entry(baseUrl, match, Bundle.SearchEntryMode.Match), match.Json!);
        }

        foreach (var include in result.Included)
        {
            bundle.Add(Entry(baseUrl, include, Bundle.SearchEntryMode.Include), include.Json!);
        }
    }

    private static Bundle.EntryComponent Entry(string baseUrl, StoredResource stored, Bundle.SearchEntryMode mode) => new()
    {
        FullUrl = $"{baseUrl}/{stored.ResourceType}/{stored.Id}",
        Search = new Bundle.SearchComponent { Mode = mode },
    };

    private static void AddWarnings(Bundle bundle, List<string> warnings)
    {
        if (warnings.Count == 0)
        {
            return;
        }

        var outcome = new OperationOutcome();
        foreach (var warning in warnings)
        {
            outcome.Issue.Add(new OperationOutcome.IssueComponent
            {
                Severity = OperationOutcome.IssueSeverity.Warning,
                Code = OperationOutcome.IssueType.NotSupported,
                Diagnostics = warning,
            });
        }

        bundle.Entry.Add(new Bundle.EntryComponent
        {
            FullUrl = "urn:uuid:" + Guid.NewGuid().ToString(),
            Resource = outcome,
            Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Outcome },
        });
    }

    private static void AddPagingLinks(Bundle bundle, string baseUrl, string path, string snapshot, int offset, int count, int? total, int pageSize,
        IReadOnlyList<KeyValuePair<string, string>> passthrough, bool includeSelf)
    {
        string Page(int pageOffset) => Url(baseUrl, path, new KeyValuePair<string, string>[]
        {
            new("_getpages", snapshot),
            new("_offset", pageOffset.ToString(CultureInfo.InvariantCulture)),
            new("_count", count.ToString(CultureInfo.InvariantCulture)),
        }.Concat(passthrough));

        if (includeSelf)
        {
            bundle.Link.Add(Link("self", Page(offset)));
        }

        if (count == 0)
        {
            return;
        }

        bundle.Link.Add(Link("first", Page(0)));
        if (offset > 0)
        {
            bundle.Link.Add(Link("previous", Page(Math.Max(0, offset - count))));
        }

        var hasNext = total is { } t ? offset + count < t : pageSize == count;
        if (hasNext)
        {
            bundle.Link.Add(Link("next", Page(offset + count)));
        }

        if (total is { } all && all > 0)
        {
            bundle.Link.Add(Link("last", Page((all - 1) / count * count)));
        }
    }

    private static Bundle.LinkComponent Link(string relation, string url) => new() { Relation = relation, Url = url };

    private static string SearchPath(SearchRequest request) =>
        request.CompartmentType is not null
            ? $"{request.CompartmentType}/{request.CompartmentId}/{request.ResourceType ?? "*"}"
            : request.ResourceType ?? "";

    private static string Url(string baseUrl, string path, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var sb = new StringBuilder(baseUrl);
        if (path.Length > 0)
        {
            sb.Append('/').Append(path);
        }

        var first = true;
        foreach (var (name, value) in parameters)
        {
            sb.Append(first ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
            first = false;
        }

        return sb.ToString();
    }

    // The snapshot keeps the original search so later pages can re-apply its includes and check the request belongs to it.
    private static string EncodeState(SearchRequest request, IEnumerable<KeyValuePair<string, string>> used)
    {
        var sb = new StringBuilder();
        sb.Append(request.ResourceType).Append('\n').Append(request.CompartmentType).Append('\n').Append(request.CompartmentId).Append('\n');
        sb.Append(string.Join('&', used.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value))));
        return sb.ToString();
    }

    private static (SearchRequest Request, List<KeyValuePair<string, string>> Used) DecodeState(string? state)
    {
        var lines = (state ?? "\n\n\n").Split('\n', 4);
        if (lines.Length < 4)
        {
            throw FhirException.BadRequest("_getpages: the result set cannot be read.");
        }

        var used = new List<KeyValuePair<string, string>>();
        foreach (var pair in lines[3].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            used.Add(eq < 0
                ? new(Uri.UnescapeDataString(pair), "")
                : new(Uri.UnescapeDataString(pair[..eq]), Uri.UnescapeDataString(pair[(eq + 1)..])));
        }

        static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
        return (new SearchRequest(NullIfEmpty(lines[0]), used, "", false, NullIfEmpty(lines[1]), NullIfEmpty(lines[2])), used);
    }
}
