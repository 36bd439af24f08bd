using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Igia.Fhir.Bundles;
using Igia.Fhir.Capabilities;
using Igia.Fhir.Operations;
using Igia.Fhir.Patch;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Search;
using Igia.Fhir.Serialization;
using Igia.Fhir.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Igia.Fhir.Server;

/// <summary>The end of the pipeline: carries out each interaction against the store.</summary>
internal sealed partial class FhirInteractionHandler(
    IFhirStore store,
    FhirSearchService search,
    FhirOperationRegistry operations,
    CapabilityStatementBuilder capabilities,
    IOptions<FhirServerOptions> options,
    TimeProvider time,
    IServiceProvider services)
{
    private readonly FhirServerOptions _options = options.Value;
    private long _lastTimestampTicks;
    private IFhirWriteValidator[]? _writeValidators;

    /// <summary>Runs batch/transaction entries; set once the pipeline exists (it calls back into the pipeline).</summary>
    internal BundleProcessor? Bundles { get; set; }

    /// <summary>The pipeline, for operations that run further interactions.</summary>
    internal IFhirInteractionExecutor? Executor { get; set; }

    [GeneratedRegex("^[A-Za-z0-9\\-\\.]{1,64}$")]
    private static partial Regex IdPattern();

    /// <summary>True when <paramref name="id"/> is a valid FHIR logical id.</summary>
    public static bool IsValidId(string id) => IdPattern().IsMatch(id);

    public async ValueTask<FhirResponse> HandleAsync(FhirInteraction interaction)
    {
        CheckSupported(interaction);
        PreExtractIndex(interaction);
        return interaction.Kind switch
        {
            FhirInteractionKind.Read => await WithSessionAsync(interaction, FhirSessionMode.Read, s => ReadAsync(s, interaction)),
            FhirInteractionKind.VRead => await WithSessionAsync(interaction, FhirSessionMode.Read, s => VReadAsync(s, interaction)),
            FhirInteractionKind.Create => await WithSessionAsync(interaction, FhirSessionMode.Write, s => CreateAsync(s, interaction)),
            FhirInteractionKind.Update => await WithSessionAsync(interaction, FhirSessionMode.Write, s => UpdateAsync(s, interaction)),
            FhirInteractionKind.Patch => await WithSessionAsync(interaction, FhirSessionMode.Write, s => PatchAsync(s, interaction)),
            FhirInteractionKind.Delete => await WithSessionAsync(interaction, FhirSessionMode.Write, s => DeleteAsync(s, interaction)),
            FhirInteractionKind.Search => await WithSessionAsync(interaction, FhirSessionMode.Read, s => SearchAsync(s, interaction)),
            FhirInteractionKind.History => await WithSessionAsync(interaction, FhirSessionMode.Read, s => HistoryAsync(s, interaction)),
            FhirInteractionKind.Capabilities => new FhirResponse { Resource = capabilities.Build(interaction.BaseUrl) },
            FhirInteractionKind.Batch or FhirInteractionKind.Transaction => await Bundles!.ProcessAsync(interaction),
            FhirInteractionKind.Operation => await OperationAsync(interaction),
            _ => throw new FhirException(HttpStatusCode.MethodNotAllowed, OperationOutcome.IssueType.NotSupported, $"Interaction {interaction.Kind} is not supported."),
        };
    }

    private void CheckSupported(FhirInteraction interaction)
    {
        if (interaction.ResourceType is { } type && !_options.Serves(type))
        {
            throw new FhirException(HttpStatusCode.NotFound, OperationOutcome.IssueType.NotSupported, $"Resource type '{type}' is not supported by this server.");
        }

        if (interaction.CompartmentType is { } compartment && !_options.Serves(compartment))
        {
            throw new FhirException(HttpStatusCode.NotFound, OperationOutcome.IssueType.NotSupported, $"Resource type '{compartment}' is not supported by this server.");
        }

        if (!_options.Interactions.Contains(interaction.Kind))
        {
            throw new FhirException(HttpStatusCode.MethodNotAllowed, OperationOutcome.IssueType.NotSupported, $"The {interaction.Kind.ToString().ToLowerInvariant()} interaction is not enabled on this server.");
        }

        foreach (var id in new[] { interaction.Id, interaction.CompartmentId })
        {
            if (id is not null && !IsValidId(id))
            {
                throw FhirException.BadRequest("The id in the URL is not a valid FHIR id ([A-Za-z0-9-.]{1,64}).");
            }
        }
    }

    private async Task<FhirResponse> WithSessionAsync(FhirInteraction interaction, FhirSessionMode mode, Func<IFhirStoreSession, Task<FhirResponse>> action)
    {
        if (interaction.SharedSession is { } shared)
        {
            return await action(shared);
        }

        for (var attempt = 1; ; attempt++)
        {
            await using var session = await store.OpenSessionAsync(mode, interaction.CancellationToken);
            try
            {
                var response = await action(session);
                if (response.IsSuccess)
                {
                    await session.CommitAsync(interaction.CancellationToken);
                }

                return response;
            }
            catch (FhirVersionConflictException) when (attempt < 5 && interaction.Headers.IfMatch is null)
            {
                // Another writer won the race; without If-Match the client asked for last-writer-wins, so retry.
            }
            catch (FhirVersionConflictException)
            {
                throw new FhirException(HttpStatusCode.PreconditionFailed, OperationOutcome.IssueType.Conflict, "The resource was changed by another request (version conflict).");
            }
        }
    }

    // ---- read / vread -------------------------------------------------------------------------

    private async Task<FhirResponse> ReadAsync(IFhirStoreSession session, FhirInteraction interaction)
    {
        var stored = await session.ReadAsync(interaction.ResourceType!, interaction.Id!, null, interaction.CancellationToken)
            ?? throw FhirException.NotFound($"{interaction.ResourceType}/{interaction.Id} is not known.");
        if (stored.Deleted)
        {
            return Gone(stored);
        }

        // RFC 9110 13.1.3: If-Modified-Since is ignored when If-None-Match is present.
        var notModified = interaction.Headers.IfNoneMatch is { } etag
            ? NoneMatchHits(etag, stored.VersionId)
            : interaction.Headers.IfModifiedSince is { } since && TruncateToSeconds(stored.LastUpdated) <= since;
        if (notModified)
        {
            return new FhirResponse { StatusCode = HttpStatusCode.NotModified, VersionId = stored.VersionId.ToString(CultureInfo.InvariantCulture), LastModified = stored.LastUpdated };
        }

        return Found(stored);
    }

    private async Task<FhirResponse> VReadAsync(IFhirStoreSession session, FhirInteraction interaction)
    {
        if (!int.TryParse(interaction.VersionId, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version < 1)
        {
            throw FhirException.NotFound($"Version '{interaction.VersionId}' is not a version id of this server.");
        }

        var stored = await session.ReadAsync(interaction.ResourceType!, interaction.Id!, version, interaction.CancellationToken)
            ?? throw FhirException.NotFound($"{interaction.ResourceType}/{interaction.Id}/_history/{version} is not known.");
        return stored.Deleted ? Gone(stored) : Found(stored);
    }

    private static FhirResponse Found(StoredResource stored)
    {
        var response = new FhirResponse
        {
            VersionId = stored.VersionId.ToString(CultureInfo.InvariantCulture),
            LastModified = stored.LastUpdated,
            ResourceType = stored.ResourceType,
            Id = stored.Id,
        };
        response.SetStoredJson(stored.Json!);
        return response;
    }

    private static FhirResponse Gone(StoredResource stored)
    {
        var response = FhirResponse.Error(HttpStatusCode.Gone, OperationOutcome.IssueType.Deleted, $"{stored.ResourceType}/{stored.Id} was deleted.");
        response.VersionId = stored.VersionId.ToString(CultureInfo.InvariantCulture);
        response.LastModified = stored.LastUpdated;
        response.ResourceType = stored.ResourceType;
        response.Id = stored.Id;
        return response;
    }

    // ---- create / update / patch / delete -------------------------------------------------------

    private async Task<FhirResponse> CreateAsync(IFhirStoreSession session, FhirInteraction interaction)
    {
        var resource = RequireResource(interaction);
        if (interaction.Headers.IfNoneExist is { } ifNoneExist)
        {
            var criteria = ParseCriteria(ifNoneExist);
            var matches = await search.FindAsync(session, interaction.ResourceType!, criteria, 2, interaction.CancellationToken);
            if (matches.Count > 1)
            {
                throw new FhirException(HttpStatusCode.PreconditionFailed, OperationOutcome.IssueType.Duplicate, "If-None-Exist matched more than one resource.");
            }

            if (matches.Count == 1)
            {
                var existing = Found(matches[0]);
                existing.Location = VersionPath(matches[0].ResourceType, matches[0].Id, matches[0].VersionId);
                return Shape(existing, interaction, "The resource already exists; nothing was created.");
            }
        }

        // A client-supplied id on create is ignored (http.html#create), and the server assigns one.
        var id = interaction.Items.TryGetValue(AssignedIdKey, out var assigned) && assigned is string a ? a : NewId();
        return await WriteAsync(session, interaction, resource, id, null, "POST", HttpStatusCode.Created);
    }

    /// <summary>Key in <see cref="FhirInteraction.Items"/> under which a transaction pre-assigns the id of a create.</summary>
    internal static readonly object AssignedIdKey = new();

    /// <summary>A new logical id: a time-ordered GUID, which keeps index inserts local.</summary>
    internal static string NewId() => Guid.CreateVersion7().ToString();

    private async Task<FhirResponse> UpdateAsync(IFhirStoreSession session, FhirInteraction interaction)
    {
        var resource = RequireResource(interaction);
        var type = interaction.ResourceType!;
        string id;
        StoredResource? current;
        if (interaction.IsConditional)
        {
            var matches = await FindConditionalAsync(session, interaction, 2);
            if (matches.Count > 1)
            {
                throw new FhirException(HttpStatusCode.PreconditionFailed, OperationOutcome.IssueType.MultipleMatches, "The conditional update criteria matched more than one resource.");
            }

            if (matches.Count == 1)
            {
                current = matches[0];
                if (resource.Id is not null && resource.Id != current.Id)
                {
                    throw FhirException.BadRequest("The id in the body differs from the id of the resource the conditional update matched.");
                }

                id = current.Id;
            }
            else
            {
                id = resource.Id ?? NewId();
                if (!IsValidId(id))
                {
                    throw FhirException.BadRequest("The id in the body is not a valid FHIR id.");
                }

                current = await session.ReadAsync(type, id, null, interaction.CancellationToken);
            }
        }
        else
        {
            id = interaction.Id!;
            if (resource.Id is null)
            {
                throw FhirException.BadRequest("The resource in an update must carry its id (http.html#update).");
            }

            if (resource.Id != id)
            {
                throw FhirException.BadRequest($"The id in the body ('{resource.Id}') does not match the id in the URL ('{id}').");
            }

            current = await session.ReadAsync(type, id, null, interaction.CancellationToken);
        }

        CheckIfMatch(interaction, current);
        if (current is null && !_options.AllowUpdateCreate)
        {
            throw new FhirException(HttpStatusCode.MethodNotAllowed, OperationOutcome.IssueType.NotSupported, "Update-as-create is not allowed on this server; use POST to create.");
        }

        var status = current is null || current.Deleted ? HttpStatusCode.Created : HttpStatusCode.OK;
        return await WriteAsync(session, interaction, resource, id, current, "PUT", status);
    }

    private async Task<FhirResponse> PatchAsync(IFhirStoreSession session, FhirInteraction interaction)
    {
        StoredResource current;
        if (interaction.IsConditional)
        {
            var matches = await FindConditionalAsync(session, interaction, 2);
            current = matches.Count switch
            {
                0 => throw FhirException.NotFound("The conditional patch criteria matched no resource."),
                1 => matches[0],
                _ => throw new FhirException(HttpStatusCode.PreconditionFailed, OperationOutcome.IssueType.MultipleMatches, "The conditional patch criteria matched more than one resource."),
            };
        }
        else
        {
            current = await session.ReadAsync(interaction.ResourceType!, interaction.Id!, null, interaction.CancellationToken)
                ?? throw FhirException.NotFound($"{interaction.ResourceType}/{interaction.Id} is not known.");
        }

        if (current.Deleted)
        {
            return Gone(current);
        }

        CheckIfMatch(interaction, current);
        var original = FhirFormats.ParseStored(current.Json!);
        Resource patched;
        try
        {
            patched = interaction.JsonPatch is { } jsonPatch
                ? JsonPatch.Apply(original, jsonPatch)
                : interaction.Resource is Parameters parameters
                    ? FhirPathPatch.Apply(original, parameters)
                    : throw FhirException.BadRequest("A PATCH body must be a JSON Patch document (application/json-patch+json) or a FHIRPath Patch Parameters resource.");
        }
        catch (FhirPatchException e)
        {
            throw new FhirException(HttpStatusCode.UnprocessableEntity, OperationOutcome.IssueType.Processing, $"The patch could not be applied: {e.Message}");
        }

        if (patched.TypeName != current.ResourceType || patched.Id != current.Id)
        {
            throw new FhirException(HttpStatusCode.UnprocessableEntity, OperationOutcome.IssueType.Processing, "A patch may not change the resource type or id.");
        }

        return await WriteAsync(session, interaction, patched, current.Id, current, "PATCH", HttpStatusCode.OK);
    }

    private async Task<FhirResponse> DeleteAsync(IFhirStoreSession session, FhirInteraction interaction)
    {
        IReadOnlyList<StoredResource> targets;
        if (interaction.IsConditional)
        {
            var limit = _options.AllowMultipleDelete ? _options.MaxBundleEntries : 1;
            targets = await FindConditionalAsync(session, interaction, limit + 1);
            if (targets.Count > limit)
            {
                throw new FhirException(HttpStatusCode.PreconditionFailed, OperationOutcome.IssueType.MultipleMatches,
                    _options.AllowMultipleDelete ? $"The conditional delete matched more than {limit} resources." : "The conditional delete matched more than one resource.");
            }
        }
        else
        {
            var current = await session.ReadAsync(interaction.ResourceType!, interaction.Id!, null, interaction.CancellationToken)
                ?? throw FhirException.NotFound($"{interaction.ResourceType}/{interaction.Id} is not known.");
            CheckIfMatch(interaction, current);
            if (current.Deleted)
            {
                return new FhirResponse { StatusCode = HttpStatusCode.NoContent, VersionId = current.VersionId.ToString(CultureInfo.InvariantCulture), ResourceType = current.ResourceType, Id = current.Id };
            }

            targets = [current];
        }

        var response = new FhirResponse { StatusCode = HttpStatusCode.NoContent };
        foreach (var target in targets)
        {
            var version = target.VersionId + 1;
            await session.WriteAsync(new ResourceWrite(target.ResourceType, target.Id, version, NextTimestamp(target), "DELETE", null, []), interaction.CancellationToken);
            response.VersionId = version.ToString(CultureInfo.InvariantCulture);
            response.ResourceType = target.ResourceType;
            response.Id = target.Id;
        }

        return response;
    }

    private async Task<FhirResponse> WriteAsync(IFhirStoreSession session, FhirInteraction interaction, Resource resource, string id, StoredResource? current, string method, HttpStatusCode status)
    {
        var version = (current?.VersionId ?? 0) + 1;
        var lastUpdated = NextTimestamp(current);
        resource.Id = id;
        resource.Meta ??= new Meta();
        resource.Meta.VersionId = version.ToString(CultureInfo.InvariantCulture);
        resource.Meta.LastUpdated = lastUpdated;
        foreach (var validator in _writeValidators ??= services.GetServices<IFhirWriteValidator>().ToArray())
        {
            await validator.ValidateWriteAsync(interaction, resource, current);
        }

        var extracted = interaction.Items.TryGetValue(PreExtractedKey, out var pre) && pre is PreExtracted p && ReferenceEquals(p.Resource, resource) ? p : null;
        var json = (version == 1 ? extracted?.Serialized?.With(id, lastUpdated) : null) ?? FhirFormats.ToStorageJson(resource);
        var index = extracted?.Index ?? search.Extract(resource);
        await session.WriteAsync(new ResourceWrite(resource.TypeName, id, version, lastUpdated, method, json, index), interaction.CancellationToken);
        var response = new FhirResponse
        {
            StatusCode = status,
            VersionId = resource.Meta.VersionId,
            LastModified = lastUpdated,
            Location = VersionPath(resource.TypeName, id, version),
            ResourceType = resource.TypeName,
            Id = id,
        };

        // The body is what was just stored: sent as that JSON unless someone needs the object (which is at hand, not parsed).
        response.SetStoredJson(json, resource);
        return Shape(response, interaction, status == HttpStatusCode.Created ? "Created." : "Updated.");
    }

    /// <summary>Key in <see cref="FhirInteraction.Items"/> of the index rows extracted before the write session opened.</summary>
    private static readonly object PreExtractedKey = new();

    private sealed record PreExtracted(Resource Resource, IReadOnlyList<SearchIndexEntry> Index, PreSerialized? Serialized);

    /// <summary>
    /// Extracts the search index rows of a create or update body before the store session opens, so that the FHIRPath
    /// evaluation (the costliest part of a write) runs outside the store's single-writer lock and writes from many
    /// connections overlap. The rows depend only on the body's content (not on the id, versionId or lastUpdated the write
    /// assigns), and <see cref="IFhirWriteValidator"/>s only check the resource, so they stay valid. Entries of a
    /// transaction are left alone: their references are rewritten inside the transaction's session.
    /// </summary>
    private void PreExtractIndex(FhirInteraction interaction)
    {
        if (interaction.SharedSession is null
            && interaction.Kind is FhirInteractionKind.Create or FhirInteractionKind.Update
            && interaction.Resource is { } resource
            && resource.TypeName == interaction.ResourceType)
        {
            interaction.Items[PreExtractedKey] = new PreExtracted(resource, search.Extract(resource),
                interaction.Kind == FhirInteractionKind.Create ? PreSerialize(interaction, resource) : null);
        }
    }

    /// <summary>
    /// Serialises a create's body before the write lock too, with the id it will get and a stand-in lastUpdated; in the lock,
    /// where the time stamp is assigned (in commit order, which history paging relies on), <see cref="PreSerialized.With"/>
    /// only swaps the stand-in for it. Serialising was the largest step left under the lock.
    /// </summary>
    private static PreSerialized? PreSerialize(FhirInteraction interaction, Resource resource)
    {
        var id = NewId();
        interaction.Items[AssignedIdKey] = id;
        var meta = resource.Meta;
        var (oldId, oldVersion, oldUpdated) = (resource.Id, meta?.VersionId, meta?.LastUpdated);
        resource.Id = id;
        resource.Meta ??= new Meta();
        resource.Meta.VersionId = "1";
        resource.Meta.LastUpdated = PreSerialized.StandIn;
        try
        {
            return PreSerialized.Create(resource.TypeName, id, FhirFormats.ToStorageJson(resource));
        }
        finally
        {
            // The write sets them again in the lock; until then the body is as the client sent it (for filters and validators).
            resource.Id = oldId;
            if (meta is null)
            {
                resource.Meta = null;
            }
            else
            {
                meta.VersionId = oldVersion;
                meta.LastUpdated = oldUpdated;
            }
        }
    }

    /// <summary>A create's storage JSON made before the write lock, but for its lastUpdated.</summary>
    private sealed class PreSerialized
    {
        /// <summary>The stand-in time stamp: unlike any a write assigns (those are "now").</summary>
        public static readonly DateTimeOffset StandIn = new DateTimeOffset(1901, 2, 3, 4, 5, 6, TimeSpan.Zero).AddTicks(1234567);

        private static readonly string StandInText = InstantText(StandIn);

        private readonly string _head;
        private readonly string _tail;
        private readonly string _id;

        private PreSerialized(string head, string tail, string id) => (_head, _tail, _id) = (head, tail, id);

        /// <summary>
        /// Splits <paramref name="json"/> at the stand-in lastUpdated, which must come where the serializer puts meta.lastUpdated
        /// (right after resourceType, id and meta.versionId); null otherwise, and the write then serialises in the lock.
        /// </summary>
        public static PreSerialized? Create(string type, string id, string json)
        {
            var head = $"{{\"resourceType\":\"{type}\",\"id\":\"{id}\",\"meta\":{{\"versionId\":\"1\",\"lastUpdated\":\"";
            return json.StartsWith(head, StringComparison.Ordinal) && json.AsSpan(head.Length).StartsWith(StandInText + "\"", StringComparison.Ordinal)
                ? new PreSerialized(head, json[(head.Length + StandInText.Length)..], id)
                : null;
        }

        /// <summary>The JSON with the real lastUpdated, or null if the write is not the one this was made for.</summary>
        public string? With(string id, DateTimeOffset lastUpdated) =>
            id == _id ? string.Concat(_head, InstantText(lastUpdated), _tail) : null;

        /// <summary>An instant as the serializer writes meta.lastUpdated (taken from the serializer, so it cannot drift from it).</summary>
        private static string InstantText(DateTimeOffset instant)
        {
            var json = FhirFormats.ToStorageJson(new Basic { Meta = new Meta { LastUpdated = instant } });
            const string Head = "{\"resourceType\":\"Basic\",\"meta\":{\"lastUpdated\":\"";
            return json.StartsWith(Head, StringComparison.Ordinal) && json.EndsWith("\"}}", StringComparison.Ordinal)
                ? json[Head.Length..^3]
                : throw new InvalidOperationException("Unexpected serialisation of meta.lastUpdated.");
        }
    }

    /// <summary>Applies <c>Prefer: return=</c> to a successful write response.</summary>
    private static FhirResponse Shape(FhirResponse response, FhirInteraction interaction, string message)
    {
        switch (interaction.Headers.Return)
        {
            case FhirReturnPreference.Minimal:
                response.Resource = null;
                break;
            case FhirReturnPreference.OperationOutcome:
                response.Resource = FhirResponse.Outcome(OperationOutcome.IssueSeverity.Information, OperationOutcome.IssueType.Informational, message);
                break;
        }

        return response;
    }

    private DateTimeOffset NextTimestamp(StoredResource? current)
    {
        var now = time.GetUtcNow();
        now = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

        // Every write of this server is strictly later than the one before, and than the version it replaces, even
        // if the clock steps back: when two share a millisecond the later is one tick later. So versions of a resource
        // stay ordered, time stamps do not run ahead of the clock (but for those ticks), and a write committed after a history page was read is
        // always newer than that page.
        var floor = current?.LastUpdated.UtcTicks ?? 0;
        while (true)
        {
            var last = Interlocked.Read(ref _lastTimestampTicks);
            var ticks = Math.Max(now.UtcTicks, Math.Max(floor, last) + 1);
            if (Interlocked.CompareExchange(ref _lastTimestampTicks, ticks, last) == last)
            {
                return new DateTimeOffset(ticks, TimeSpan.Zero);
            }
        }
    }

    private static void CheckIfMatch(FhirInteraction interaction, StoredResource? current)
    {
        if (interaction.Headers.IfMatch is not { } ifMatch)
        {
            return;
        }

        var expected = ParseVersion(ifMatch);
        if (current is null || current.Deleted || current.VersionId.ToString(CultureInfo.InvariantCulture) != expected)
        {
            throw new FhirException(HttpStatusCode.PreconditionFailed, OperationOutcome.IssueType.Conflict,
                $"If-Match version '{expected}' is not the current version{(current is null ? " (the resource does not exist)" : $" ({current.VersionId})")}.");
        }
    }

    private static Resource RequireResource(FhirInteraction interaction)
    {
        var resource = interaction.Resource ?? throw FhirException.BadRequest("The request has no body; a resource was expected.");
        if (resource.TypeName != interaction.ResourceType)
        {
            throw FhirException.BadRequest($"The body is a {resource.TypeName} but the URL is for {interaction.ResourceType}.");
        }

        return resource;
    }

    private async Task<IReadOnlyList<StoredResource>> FindConditionalAsync(IFhirStoreSession session, FhirInteraction interaction, int max)
    {
        // A nameless parameter (DELETE Patient?=) is no criterion: it must not turn into "match everything".
        var criteria = interaction.Parameters.Where(p => p.Key.Length > 0 && p.Key is not "_format" and not "_pretty").ToList();
        if (criteria.Count == 0)
        {
            throw new FhirException(HttpStatusCode.PreconditionFailed, OperationOutcome.IssueType.Required, "A conditional interaction needs search criteria.");
        }

        return await search.FindAsync(session, interaction.ResourceType!, criteria, max, interaction.CancellationToken);
    }

    /// <summary>Parses <c>a=1&amp;b=2</c> (as in If-None-Exist, or a conditional reference) into parameters.</summary>
    internal static List<KeyValuePair<string, string>> ParseCriteria(string query)
    {
        var q = query.StartsWith('?') ? query[1..] : query;
        var parsed = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery("?" + q);
        var list = new List<KeyValuePair<string, string>>();
        foreach (var (key, values) in parsed.Where(p => p.Key.Length > 0))
        {
            foreach (var value in values)
            {
                list.Add(new(key, value ?? ""));
            }
        }

        if (list.Count == 0)
        {
            throw FhirException.BadRequest("The conditional criteria are empty.");
        }

        return list;
    }

    private static string ParseVersion(string etag)
    {
        var v = etag.Trim();
        if (v.StartsWith("W/", StringComparison.Ordinal))
        {
            v = v[2..];
        }

        return v.Trim('"');
    }

    /// <summary>
    /// True when an <c>If-None-Match</c> list (RFC 9110 13.1.2: <c>*</c> or comma-separated, weakly compared entity tags)
    /// names the current version, so a read answers 304.
    /// </summary>
    private static bool NoneMatchHits(string header, int version)
    {
        var current = version.ToString(CultureInfo.InvariantCulture);
        foreach (var tag in header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (tag == "*" || ParseVersion(tag) == current)
            {
                return true;
            }
        }

        return false;
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset t) => new(t.Ticks - (t.Ticks % TimeSpan.TicksPerSecond), t.Offset);

    internal static string VersionPath(string type, string id, int version) => $"{type}/{id}/_history/{version.ToString(CultureInfo.InvariantCulture)}";

    // ---- search / history -----------------------------------------------------------------------

    private async Task<FhirResponse> SearchAsync(IFhirStoreSession session, FhirInteraction interaction)
    {
        var request = new SearchRequest(interaction.ResourceType, interaction.Parameters, interaction.BaseUrl, interaction.Headers.StrictHandling, interaction.CompartmentType, interaction.CompartmentId);
        var response = new FhirResponse();
        response.SetUnparsedBundle(await search.SearchAsync(session, request, interaction.CancellationToken));
        return response;
    }

    private async Task<FhirResponse> HistoryAsync(IFhirStoreSession session, FhirInteraction interaction)
    {
        DateTimeOffset? since = null, at = null, before = null;
        var count = _options.DefaultPageSize;
        var offset = 0;
        foreach (var (name, value) in interaction.Parameters)
        {
            switch (name)
            {
                case "_since":
                    since = ParseInstant(name, value);
                    break;
                case "_at":
                    at = ParseInstant(name, value);
                    break;
                case "_count":
                    count = ParseCount(value);
                    break;
                case "_offset":
                    offset = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var o) ? o : throw FhirException.BadRequest("_offset must be a non-negative integer.");
                    break;
                case "_before":
                    before = ParseInstant(name, value);
                    break;
                case "_format" or "_pretty" or "_summary" or "_elements":
                    break;
                default:
                    if (interaction.Headers.StrictHandling)
                    {
                        throw FhirException.BadRequest($"Parameter '{name}' is not supported on history.");
                    }

                    break;
            }
        }

        if (interaction.Id is not null)
        {
            var exists = await session.ReadAsync(interaction.ResourceType!, interaction.Id, null, interaction.CancellationToken);
            if (exists is null)
            {
                throw FhirException.NotFound($"{interaction.ResourceType}/{interaction.Id} is not known.");
            }
        }

        // Pin the page set to what existed at the first request, so later pages stay correct while others write.
        var firstPage = before is null && offset == 0;
        before ??= time.GetUtcNow();
        var result = await session.HistoryAsync(new HistoryQuery
        {
            ResourceType = interaction.ResourceType,
            Id = interaction.Id,
            Since = since,
            At = at,
            Before = before,
            Count = count,
            Offset = offset,
        }, interaction.CancellationToken);
        if (firstPage && result.Entries.Count > 0)
        {
            // A write in flight when this page was read has a time stamp before "now" but commits later; it is
            // always newer than the newest version read here (see NextTimestamp), so that version bounds the pages.
            before = result.Entries[0].LastUpdated;
        }

        var bundle = new Bundle { Type = Bundle.BundleType.History, Total = result.Total };
        foreach (var entry in result.Entries)
        {
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = $"{interaction.BaseUrl}/{entry.ResourceType}/{entry.Id}",
                Resource = entry.Deleted ? null : FhirFormats.ParseStored(entry.Json!),
                Request = new Bundle.RequestComponent
                {
                    Method = entry.Method switch { "POST" => Bundle.HTTPVerb.POST, "DELETE" => Bundle.HTTPVerb.DELETE, "PATCH" => Bundle.HTTPVerb.PATCH, _ => Bundle.HTTPVerb.PUT },
                    Url = entry.Method == "POST" ? entry.ResourceType : $"{entry.ResourceType}/{entry.Id}",
                },
                Response = new Bundle.ResponseComponent
                {
                    Status = entry.Deleted ? "204" : entry.VersionId == 1 ? "201" : "200",
                    Etag = $"W/\"{entry.VersionId.ToString(CultureInfo.InvariantCulture)}\"",
                    LastModified = entry.LastUpdated,
                },
            });
        }

        var path = interaction.ResourceType is null ? "_history" : interaction.Id is null ? $"{interaction.ResourceType}/_history" : $"{interaction.ResourceType}/{interaction.Id}/_history";
        string Link(int pageOffset)
        {
            var q = new List<string> { "_count=" + count, "_offset=" + pageOffset, "_before=" + Uri.EscapeDataString(before.Value.ToString("o", CultureInfo.InvariantCulture)) };
            if (since is not null)
            {
                q.Add("_since=" + Uri.EscapeDataString(since.Value.ToString("o", CultureInfo.InvariantCulture)));
            }

            if (at is not null)
            {
                q.Add("_at=" + Uri.EscapeDataString(at.Value.ToString("o", CultureInfo.InvariantCulture)));
            }

            return $"{interaction.BaseUrl}/{path}?{string.Join('&', q)}";
        }

        bundle.Link.Add(new Bundle.LinkComponent { Relation = "self", Url = Link(offset) });
        bundle.Link.Add(new Bundle.LinkComponent { Relation = "first", Url = Link(0) });
        if (count > 0 && offset + count < result.Total)
        {
            bundle.Link.Add(new Bundle.LinkComponent { Relation = "next", Url = Link(offset + count) });
        }

        if (offset > 0)
        {
            bundle.Link.Add(new Bundle.LinkComponent { Relation = "previous", Url = Link(Math.Max(0, offset - count)) });
        }

        return new FhirResponse { Resource = bundle };
    }

    private int ParseCount(string value)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            throw FhirException.BadRequest("_count must be a non-negative integer.");
        }

        return Math.Min(count, _options.MaxPageSize);
    }

    private static DateTimeOffset ParseInstant(string name, string value)
    {
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            && Hl7.Fhir.ElementModel.Types.DateTime.TryParse(value, out _))
        {
            return t;
        }

        throw FhirException.BadRequest($"{name} must be a FHIR instant or dateTime (e.g. 2024-01-31T10:00:00Z).");
    }

    // ---- operations -----------------------------------------------------------------------------

    private async Task<FhirResponse> OperationAsync(FhirInteraction interaction)
    {
        var level = interaction.Id is not null ? FhirOperationLevel.Instance : interaction.ResourceType is not null ? FhirOperationLevel.Type : FhirOperationLevel.System;
        var operation = operations.Find(interaction.OperationName!, level, interaction.ResourceType)
            ?? throw new FhirException(HttpStatusCode.NotFound, OperationOutcome.IssueType.NotSupported,
                $"Operation ${interaction.OperationName} is not supported at {level.ToString().ToLowerInvariant()} level{(interaction.ResourceType is null ? "" : " on " + interaction.ResourceType)}.");

        if (operation.AffectsState && interaction.Method is "GET" or "HEAD")
        {
            throw new FhirException(HttpStatusCode.MethodNotAllowed, OperationOutcome.IssueType.NotSupported, $"Operation ${operation.Name} changes data and must be invoked with POST.");
        }

        if (interaction.Id is not null)
        {
            await using var session = await store.OpenSessionAsync(FhirSessionMode.Read, interaction.CancellationToken);
            var target = await session.ReadAsync(interaction.ResourceType!, interaction.Id, null, interaction.CancellationToken);
            if (target is null)
            {
                throw FhirException.NotFound($"{interaction.ResourceType}/{interaction.Id} is not known.");
            }

            if (target.Deleted)
            {
                return Gone(target);
            }
        }

        var parameters = interaction.Resource switch
        {
            Parameters p => p,
            null => FhirOperationRegistry.ParametersFromQuery(interaction.Parameters),
            var other => new Parameters { Parameter = [new Parameters.ParameterComponent { Name = "resource", Resource = other }] },
        };

        return await operation.ExecuteAsync(new FhirOperationContext
        {
            Interaction = interaction,
            Parameters = parameters,
            Executor = Executor!,
            Services = services,
        });
    }
}
