using Igia.Fhir.Search;

namespace Igia.Fhir.Storage;

/// <summary>
/// The persistence behind the FHIR server. Resources are kept as JSON with every version, and search
/// index rows are written with the resource in the same transaction, so that a search is a query over
/// indexes. Implementations: the embedded SQLite store, and provider packages for scale-out databases.
/// </summary>
public interface IFhirStore
{
    /// <summary>Creates or migrates the schema. Called once at start-up before any session is opened.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Opens a unit of work. A <see cref="FhirSessionMode.Write"/> session is serialised against other writers
    /// and is all-or-nothing: nothing it wrote is visible until <see cref="IFhirStoreSession.CommitAsync"/>,
    /// and disposing it uncommitted rolls everything back.
    /// </summary>
    Task<IFhirStoreSession> OpenSessionAsync(FhirSessionMode mode, CancellationToken cancellationToken);
}

/// <summary>Whether a store session only reads or also writes.</summary>
public enum FhirSessionMode
{
    /// <summary>Reads only; may run concurrently with any number of other sessions.</summary>
    Read,

    /// <summary>Reads and writes in one transaction.</summary>
    Write,
}

/// <summary>A unit of work against an <see cref="IFhirStore"/>.</summary>
public interface IFhirStoreSession : IAsyncDisposable
{
    /// <summary>Reads the current version (when <paramref name="versionId"/> is null) or a given version; null when never existed.</summary>
    Task<StoredResource?> ReadAsync(string resourceType, string id, int? versionId, CancellationToken cancellationToken);

    /// <summary>
    /// Writes a new version. <see cref="ResourceWrite.VersionId"/> must be one more than the current version
    /// (1 for a new resource); otherwise <see cref="FhirVersionConflictException"/> is thrown and nothing is written.
    /// The index rows replace those of the previous version.
    /// </summary>
    Task WriteAsync(ResourceWrite write, CancellationToken cancellationToken);

    /// <summary>Runs a search over the indexes.</summary>
    Task<StoreSearchResult> SearchAsync(SearchQuery query, CancellationToken cancellationToken);

    /// <summary>Reads history, newest first.</summary>
    Task<HistoryResult> HistoryAsync(HistoryQuery query, CancellationToken cancellationToken);

    /// <summary>Commits a write session. A read session ignores it.</summary>
    Task CommitAsync(CancellationToken cancellationToken);
}

/// <summary>One stored version of a resource.</summary>
/// <param name="ResourceType">The FHIR resource type.</param>
/// <param name="Id">The logical id.</param>
/// <param name="VersionId">The version, from 1.</param>
/// <param name="LastUpdated">When this version was written.</param>
/// <param name="Deleted">True for a deletion marker (then <paramref name="Json"/> is null).</param>
/// <param name="Method">The HTTP method that produced this version (POST, PUT, PATCH, DELETE), for history.</param>
/// <param name="Json">The resource as FHIR JSON, with <c>meta.versionId</c> and <c>meta.lastUpdated</c> set.</param>
public sealed record StoredResource(string ResourceType, string Id, int VersionId, DateTimeOffset LastUpdated, bool Deleted, string Method, string? Json);

/// <summary>A new version to write.</summary>
/// <param name="ResourceType">The FHIR resource type.</param>
/// <param name="Id">The logical id.</param>
/// <param name="VersionId">The new version: current + 1, or 1.</param>
/// <param name="LastUpdated">The time stamp of the new version.</param>
/// <param name="Method">The HTTP method (POST, PUT, PATCH, DELETE).</param>
/// <param name="Json">The resource JSON, or null for a deletion.</param>
/// <param name="Index">The search index rows of the new version (empty for a deletion).</param>
public sealed record ResourceWrite(string ResourceType, string Id, int VersionId, DateTimeOffset LastUpdated, string Method, string? Json, IReadOnlyList<SearchIndexEntry> Index)
{
    /// <summary>True when this version marks the resource deleted.</summary>
    public bool Deleted => Json is null;
}

/// <summary>A history request: instance (type and id), type (type only) or system (neither).</summary>
public sealed record HistoryQuery
{
    /// <summary>Restricts to one resource type.</summary>
    public string? ResourceType { get; init; }

    /// <summary>Restricts to one resource (needs <see cref="ResourceType"/>).</summary>
    public string? Id { get; init; }

    /// <summary>Only versions written at or after this instant (<c>_since</c>).</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only the version current at this instant (<c>_at</c>).</summary>
    public DateTimeOffset? At { get; init; }

    /// <summary>Page size.</summary>
    public int Count { get; init; } = 50;

    /// <summary>Entries to skip.</summary>
    public int Offset { get; init; }

    /// <summary>Upper bound on <c>LastUpdated</c> that keeps paging stable while others write.</summary>
    public DateTimeOffset? Before { get; init; }
}

/// <summary>A page of history, newest first.</summary>
/// <param name="Entries">The versions on this page.</param>
/// <param name="Total">The number of versions matching the query.</param>
public sealed record HistoryResult(IReadOnlyList<StoredResource> Entries, int Total);

/// <summary>Thrown by a store when a write's version is not the next one: another writer got there first.</summary>
public sealed class FhirVersionConflictException(string resourceType, string id, int attemptedVersion)
    : Exception($"{resourceType}/{id}: version {attemptedVersion} was already written by another request.")
{
    /// <summary>The resource type.</summary>
    public string ResourceType { get; } = resourceType;

    /// <summary>The logical id.</summary>
    public string Id { get; } = id;

    /// <summary>The version that could not be written.</summary>
    public int AttemptedVersion { get; } = attemptedVersion;
}
