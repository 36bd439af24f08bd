using System.ComponentModel.DataAnnotations;
using Igia.Fhir.Pipeline;

namespace Igia.Fhir.Server;

/// <summary>Settings of the FHIR server, validated at start-up.</summary>
public sealed class FhirServerOptions
{
    /// <summary>
    /// The public base URL of the FHIR endpoint (e.g. <c>https://ehr.example.org/fhir</c>), used in links,
    /// <c>fullUrl</c>s and the CapabilityStatement. When null it is taken from each request's scheme, host and path base.
    /// </summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>Resource types served. Empty means every R4 resource type.</summary>
    public ISet<string> ResourceTypes { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Interactions served; others answer 405. All are on by default.</summary>
    public ISet<FhirInteractionKind> Interactions { get; } = new HashSet<FhirInteractionKind>(Enum.GetValues<FhirInteractionKind>());

    /// <summary>Page size when the client gives no <c>_count</c>.</summary>
    [Range(1, 10_000)]
    public int DefaultPageSize { get; set; } = 20;

    /// <summary>The largest <c>_count</c> honoured; larger values are lowered to it (with a warning).</summary>
    [Range(1, 10_000)]
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>The largest request body, in bytes; larger bodies get 413.</summary>
    [Range(1024, int.MaxValue)]
    public int MaxBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>The most entries a batch or transaction Bundle may hold.</summary>
    [Range(1, 100_000)]
    public int MaxBundleEntries { get; set; } = 1000;

    /// <summary>The most resources a search may collect for paging (snapshot size).</summary>
    [Range(100, 1_000_000)]
    public int MaxSearchResults { get; set; } = 100_000;

    /// <summary>How long a paged search's snapshot stays valid.</summary>
    public TimeSpan SearchSnapshotLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Whether a PUT to an id that does not exist creates it (update-as-create).</summary>
    public bool AllowUpdateCreate { get; set; } = true;

    /// <summary>Whether conditional delete may delete several resources at once.</summary>
    public bool AllowMultipleDelete { get; set; } = true;

    /// <summary>The server's name in the CapabilityStatement.</summary>
    public string ServerName { get; set; } = "Igia FHIR Server";

    /// <summary>True when <paramref name="resourceType"/> is served.</summary>
    public bool Serves(string resourceType) =>
        Hl7.Fhir.Model.ModelInfo.IsKnownResource(resourceType) && (ResourceTypes.Count == 0 || ResourceTypes.Contains(resourceType));
}
