using System.Globalization;
using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Search;
using Igia.Fhir.Server;
using Igia.Fhir.Storage;
using Microsoft.Extensions.Options;

namespace Igia.Fhir.Bundles;

/// <summary>
/// Processes batch and transaction Bundles. Every entry becomes an interaction that passes the full pipeline
/// (so filters authorize and audit it exactly like the same request on its own). A transaction runs all its
/// entries in one store session and commits only if every entry succeeds.
/// </summary>
internal sealed class BundleProcessor(FhirPipeline pipeline, IFhirStore store, FhirSearchService search, IOptions<FhirServerOptions> options)
{
    private readonly FhirServerOptions _options = options.Value;

    public async Task<FhirResponse> ProcessAsync(FhirInteraction interaction)
    {
        var bundle = interaction.Resource as Bundle ?? throw FhirException.BadRequest("A Bundle was expected.");
        if (interaction.Parent is not null)
        {
            throw FhirException.BadRequest("A batch or transaction cannot be nested inside another.");
        }

        if (bundle.Entry.Count > _options.MaxBundleEntries)
        {
            throw new FhirException(HttpStatusCode.RequestEntityTooLarge, OperationOutcome.IssueType.TooCostly,
                $"The Bundle has {bundle.Entry.Count} entries; this server accepts at most {_options.MaxBundleEntries}.");
        }

        return interaction.Kind == FhirInteractionKind.Transaction
            ? await TransactionAsync(interaction, bundle.Entry.Select((e, i) => ParseEntry(interaction, e, i)).ToList())
            : await BatchAsync(interaction, bundle);
    }

    private sealed record Entry(int Index, Bundle.EntryComponent Source, FhirRoute Route, List<KeyValuePair<string, string>> Query, string Method, string Url);

    private static Entry ParseEntry(FhirInteraction parent, Bundle.EntryComponent entry, int index)
    {
        var request = entry.Request ?? throw FhirException.BadRequest($"Bundle entry {index} has no request.");
        if (request.Method is null || string.IsNullOrWhiteSpace(request.Url))
        {
            throw FhirException.BadRequest($"Bundle entry {index} needs request.method and request.url.");
        }

        var url = request.Url;
        if (url.StartsWith(parent.BaseUrl + "/", StringComparison.Ordinal))
        {
            url = url[(parent.BaseUrl.Length + 1)..];
        }
        else if (Uri.TryCreate(url, UriKind.Absolute, out var abs) && abs.Scheme is "http" or "https")
        {
            throw FhirException.BadRequest($"Bundle entry {index}: request.url must be relative to this server.");
        }

        var method = request.Method.Value.ToString().ToUpperInvariant();
        var q = url.IndexOf('?');
        var path = q >= 0 ? url[..q] : url;
        var query = q >= 0 ? FhirInteractionHandler.ParseCriteria(url[q..]) : [];
        FhirRoute route;
        try
        {
            route = FhirRoute.Parse(method, path);
        }
        catch (FhirException e)
        {
            throw new FhirException(e.StatusCode, OperationOutcome.IssueType.Invalid, $"Bundle entry {index}: {e.Message}");
        }

        if (route.Kind is FhirInteractionKind.Batch or FhirInteractionKind.Transaction)
        {
            throw FhirException.BadRequest($"Bundle entry {index}: a batch or transaction cannot be nested.");
        }

        if (method is "POST" or "PUT" && route.Kind is FhirInteractionKind.Create or FhirInteractionKind.Update && entry.Resource is null)
        {
            throw FhirException.BadRequest($"Bundle entry {index}: {method} needs a resource.");
        }

        return new Entry(index, entry, route, query, method, url);
    }

    private async Task<FhirResponse> BatchAsync(FhirInteraction parent, Bundle bundle)
    {
        var result = new Bundle { Type = Bundle.BundleType.BatchResponse };
        for (var i = 0; i < bundle.Entry.Count; i++)
        {
            FhirResponse response;
            try
            {
                response = await pipeline.ExecuteAsync(ToInteraction(parent, ParseEntry(parent, bundle.Entry[i], i), null, null));
            }
            catch (FhirException e)
            {
                // Batch entries stand alone: one that cannot even be parsed fails by itself.
                response = new FhirResponse { StatusCode = e.StatusCode, Resource = e.Outcome };
            }

            result.Entry.Add(ToResponseEntry(parent, response));
        }

        return new FhirResponse { Resource = result };
    }

    private async Task<FhirResponse> TransactionAsync(FhirInteraction parent, List<Entry> entries)
    {
        await using var session = await store.OpenSessionAsync(FhirSessionMode.Write, parent.CancellationToken);

        // Resolve fullUrls (urn:uuid:… and absolute) to the ids the entries will have, then rewrite references.
        var ids = await AssignIdsAsync(session, parent, entries);
        foreach (var entry in entries)
        {
            if (entry.Source.Resource is { } resource)
            {
                await ReferenceRewriter.RewriteAsync(resource, ids.Map, (type, criteria) => ResolveConditionalReferenceAsync(session, parent, type, criteria), entry.Index);
            }
        }

        // Order of processing (http.html#trules): DELETE, POST, PUT/PATCH, then GET/HEAD.
        static int Rank(Entry e) => e.Method switch { "DELETE" => 0, "POST" => 1, "PUT" or "PATCH" => 2, _ => 3 };
        var responses = new FhirResponse[entries.Count];
        foreach (var entry in entries.OrderBy(Rank).ThenBy(e => e.Index))
        {
            var response = await pipeline.ExecuteAsync(ToInteraction(parent, entry, session, ids.Assigned.GetValueOrDefault(entry.Index)));
            if (!response.IsSuccess)
            {
                // Nothing is committed: the session rolls back on dispose.
                var outcome = response.Resource as OperationOutcome ?? FhirResponse.Outcome(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Processing, "Entry failed.");
                foreach (var issue in outcome.Issue)
                {
                    issue.Diagnostics = $"Transaction entry {entry.Index} ({entry.Method} {entry.Url.Split('?')[0]}) failed: {issue.Diagnostics}";
                }

                return new FhirResponse { StatusCode = response.StatusCode, Resource = outcome };
            }

            responses[entry.Index] = response;
        }

        await session.CommitAsync(parent.CancellationToken);
        var result = new Bundle { Type = Bundle.BundleType.TransactionResponse };
        foreach (var response in responses)
        {
            result.Entry.Add(ToResponseEntry(parent, response));
        }

        return new FhirResponse { Resource = result };
    }

    private sealed record IdAssignment(Dictionary<string, string> Map, Dictionary<int, string> Assigned);

    private async Task<IdAssignment> AssignIdsAsync(IFhirStoreSession session, FhirInteraction parent, List<Entry> entries)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var assigned = new Dictionary<int, string>();
        foreach (var entry in entries)
        {
            var fullUrl = entry.Source.FullUrl;
            var type = entry.Route.ResourceType;
            string? target = null;
            if (entry.Route.Kind == FhirInteractionKind.Create && type is not null)
            {
                if (entry.Source.Request!.IfNoneExist is { } ifNoneExist)
                {
                    var matches = await search.FindAsync(session, type, FhirInteractionHandler.ParseCriteria(ifNoneExist), 2, parent.CancellationToken);
                    if (matches.Count > 1)
                    {
                        throw new FhirException(HttpStatusCode.PreconditionFailed, OperationOutcome.IssueType.Duplicate, $"Transaction entry {entry.Index}: If-None-Exist matched more than one resource.");
                    }

                    if (matches.Count == 1)
                    {
                        target = $"{type}/{matches[0].Id}";
                    }
                }

                if (target is null)
                {
                    var id = FhirInteractionHandler.NewId();
                    assigned[entry.Index] = id;
                    target = $"{type}/{id}";
                }
            }
            else if (entry.Route.Kind == FhirInteractionKind.Update && type is not null)
            {
                if (entry.Route.Id is not null)
                {
                    target = $"{type}/{entry.Route.Id}";
                }
                else
                {
                    var matches = await search.FindAsync(session, type, entry.Query, 2, parent.CancellationToken);
                    target = matches.Count == 1 ? $"{type}/{matches[0].Id}" : entry.Source.Resource?.Id is { } bodyId ? $"{type}/{bodyId}" : null;
                    if (matches.Count == 0 && target is null)
                    {
                        var id = FhirInteractionHandler.NewId();
                        entry.Source.Resource!.Id = id;
                        target = $"{type}/{id}";
                    }
                }
            }

            if (fullUrl is not null && target is not null)
            {
                if (!map.TryAdd(fullUrl, target))
                {
                    throw FhirException.BadRequest($"Transaction entry {entry.Index}: fullUrl '{fullUrl}' appears more than once.");
                }
            }
        }

        return new IdAssignment(map, assigned);
    }

    private async Task<string> ResolveConditionalReferenceAsync(IFhirStoreSession session, FhirInteraction parent, string type, string criteria)
    {
        var matches = await search.FindAsync(session, type, FhirInteractionHandler.ParseCriteria(criteria), 2, parent.CancellationToken);
        return matches.Count switch
        {
            1 => $"{type}/{matches[0].Id}",
            0 => throw new FhirException(HttpStatusCode.PreconditionFailed, OperationOutcome.IssueType.NotFound, $"The conditional reference '{type}?…' matched no resource."),
            _ => throw new FhirException(HttpStatusCode.PreconditionFailed, OperationOutcome.IssueType.MultipleMatches, $"The conditional reference '{type}?…' matched more than one resource."),
        };
    }

    private static FhirInteraction ToInteraction(FhirInteraction parent, Entry entry, IFhirStoreSession? session, string? assignedId)
    {
        var request = entry.Source.Request!;
        var route = entry.Route;
        var interaction = new FhirInteraction
        {
            Kind = route.Kind,
            ResourceType = route.ResourceType,
            Id = route.Id,
            VersionId = route.VersionId,
            CompartmentType = route.CompartmentType,
            CompartmentId = route.CompartmentId,
            OperationName = route.OperationName,
            Parameters = entry.Query,
            Resource = entry.Source.Resource,
            Headers = new FhirRequestHeaders
            {
                IfMatch = request.IfMatch,
                IfNoneMatch = request.IfNoneMatch,
                IfModifiedSince = request.IfModifiedSince,
                IfNoneExist = request.IfNoneExist,
                Return = parent.Headers.Return,
                StrictHandling = parent.Headers.StrictHandling,
            },
            User = parent.User,
            HttpContext = parent.HttpContext,
            Parent = parent,
            Method = entry.Method,
            RelativeUrl = entry.Url,
            BaseUrl = parent.BaseUrl,
            CancellationToken = parent.CancellationToken,
            SharedSession = session,
        };
        if (assignedId is not null)
        {
            interaction.Items[FhirInteractionHandler.AssignedIdKey] = assignedId;
        }

        return interaction;
    }

    private static Bundle.EntryComponent ToResponseEntry(FhirInteraction parent, FhirResponse response)
    {
        var status = (int)response.StatusCode;
        var entry = new Bundle.EntryComponent
        {
            Response = new Bundle.ResponseComponent
            {
                Status = $"{status.ToString(CultureInfo.InvariantCulture)} {ReasonPhrase(response.StatusCode)}",
                Location = response.Location,
                Etag = response.VersionId is null ? null : $"W/\"{response.VersionId}\"",
                LastModified = response.LastModified,
            },
        };

        if (response.Resource is OperationOutcome outcome && !response.IsSuccess)
        {
            entry.Response.Outcome = outcome;
        }
        else if (response.Resource is not null)
        {
            entry.Resource = response.Resource;
            if (response.ResourceType is not null && response.Id is not null)
            {
                entry.FullUrl = $"{parent.BaseUrl}/{response.ResourceType}/{response.Id}";
            }
        }

        return entry;
    }

    private static string ReasonPhrase(HttpStatusCode code) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase((int)code);
}
