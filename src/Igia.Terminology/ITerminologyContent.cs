using Hl7.Fhir.Model;

namespace Igia.Terminology;

/// <summary>
/// The content of the local terminology engine: CodeSystems, ValueSets and ConceptMaps from packages, the FHIR core
/// specification, files and the FHIR store, every version side by side. Resolve it from DI to add or remove resources at run
/// time, or to wait until the content configured at start-up has loaded.
/// </summary>
public interface ITerminologyContent
{
    /// <summary>True once the content configured at start-up has loaded.</summary>
    bool IsLoaded { get; }

    /// <summary>Why loading failed, if it did.</summary>
    Exception? LoadError { get; }

    /// <summary>The number of CodeSystem versions held (supplements included).</summary>
    int CodeSystemCount { get; }

    /// <summary>The number of ValueSet versions held.</summary>
    int ValueSetCount { get; }

    /// <summary>The number of ConceptMap versions held.</summary>
    int ConceptMapCount { get; }

    /// <summary>Completes when the content configured at start-up has loaded (faults if loading failed).</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    Task WhenLoadedAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds (or replaces, same URL and version) a CodeSystem, ValueSet or ConceptMap, or those in a Bundle; other resources are ignored.</summary>
    /// <param name="resource">The resource or Bundle.</param>
    /// <param name="source">Where it comes from, for diagnostics.</param>
    /// <returns>The number of terminology resources added.</returns>
    int Add(Resource resource, string? source = null);

    /// <summary>Removes a resource: one version, or all versions of the URL when <paramref name="version"/> is null.</summary>
    /// <param name="resourceType"><c>CodeSystem</c>, <c>ValueSet</c> or <c>ConceptMap</c>.</param>
    /// <param name="url">The canonical URL.</param>
    /// <param name="version">The business version, or null for every version.</param>
    /// <returns>True when something was removed.</returns>
    bool Remove(string resourceType, string url, string? version = null);

    /// <summary>A CodeSystem by canonical URL; the newest version when <paramref name="version"/> is null (wildcards like <c>1.0.x</c> allowed).</summary>
    /// <param name="url">The canonical URL.</param>
    /// <param name="version">The business version.</param>
    CodeSystem? GetCodeSystem(string url, string? version = null);

    /// <summary>A ValueSet by canonical URL; the newest version when <paramref name="version"/> is null.</summary>
    /// <param name="url">The canonical URL.</param>
    /// <param name="version">The business version.</param>
    ValueSet? GetValueSet(string url, string? version = null);

    /// <summary>A ConceptMap by canonical URL; the newest version when <paramref name="version"/> is null.</summary>
    /// <param name="url">The canonical URL.</param>
    /// <param name="version">The business version.</param>
    ConceptMap? GetConceptMap(string url, string? version = null);
}
