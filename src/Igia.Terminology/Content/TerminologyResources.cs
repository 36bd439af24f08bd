using Hl7.Fhir.Model;
using Igia.Terminology.Engine;

namespace Igia.Terminology.Content;

/// <summary>
/// The terminology content the local engine works from: CodeSystems (with their supplements), ValueSets and ConceptMaps, every
/// version side by side. Filled by the content loader (packages, the core specification, files, the FHIR store) and by
/// <see cref="ITerminologyContent.Add(Resource, string?)"/>; a request's own resources (<c>tx-resource</c>) are layered on top
/// in a <see cref="TxScope"/> without changing it.
/// </summary>
internal sealed class TerminologyResources : ITerminologyContent
{
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _generation;

    /// <summary>Starts with UCUM, which is defined by a grammar rather than by content (a package's UCUM CodeSystem replaces it).</summary>
    public TerminologyResources()
    {
        CodeSystems.Add(Ucum.CreateCodeSystem(), Ucum.System, "2.1", "built-in");
    }

    public ResourceIndex<CodeSystem> CodeSystems { get; } = new();

    public ResourceIndex<ValueSet> ValueSets { get; } = new();

    public ResourceIndex<ConceptMap> ConceptMaps { get; } = new();

    /// <summary>Supplements by the canonical of the code system they supplement.</summary>
    public ResourceIndex<CodeSystem> Supplements { get; } = new();

    /// <summary>Changes whenever content is added or removed (caches of derived data key on it).</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <inheritdoc />
    public bool IsLoaded => _loaded.Task.IsCompletedSuccessfully;

    /// <inheritdoc />
    public Exception? LoadError => _loaded.Task.Exception?.GetBaseException();

    /// <inheritdoc />
    public int CodeSystemCount => CodeSystems.Count;

    /// <inheritdoc />
    public int ValueSetCount => ValueSets.Count;

    /// <inheritdoc />
    public int ConceptMapCount => ConceptMaps.Count;

    /// <inheritdoc />
    public Task WhenLoadedAsync(CancellationToken cancellationToken = default) => _loaded.Task.WaitAsync(cancellationToken);

    internal void MarkLoaded() => _loaded.TrySetResult();

    internal void MarkFailed(Exception e) => _loaded.TrySetException(e);

    /// <inheritdoc />
    public int Add(Resource resource, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var count = 0;
        switch (resource)
        {
            case Bundle bundle:
                foreach (var entry in bundle.Entry)
                {
                    if (entry.Resource is { } r)
                    {
                        count += Add(r, source);
                    }
                }

                return count;
            case CodeSystem cs when !string.IsNullOrEmpty(cs.Url):
                if (cs.Content == CodeSystemContentMode.Supplement)
                {
                    var supplements = cs.Supplements ?? "";
                    Supplements.Add(cs, Versions.SplitCanonical(supplements).Url, cs.Url + "|" + cs.Version, source ?? "api");
                }

                CodeSystems.Add(cs, cs.Url, cs.Version, source ?? "api");
                count = 1;
                break;
            case ValueSet vs when !string.IsNullOrEmpty(vs.Url):
                ValueSets.Add(vs, vs.Url, vs.Version, source ?? "api");
                count = 1;
                break;
            case ConceptMap cm when !string.IsNullOrEmpty(cm.Url):
                ConceptMaps.Add(cm, cm.Url, cm.Version, source ?? "api");
                count = 1;
                break;
        }

        if (count > 0)
        {
            Interlocked.Increment(ref _generation);
        }

        return count;
    }

    /// <inheritdoc />
    public bool Remove(string resourceType, string url, string? version = null)
    {
        bool removed;
        switch (resourceType)
        {
            case "CodeSystem":
                removed = CodeSystems.Remove(url, version);
                foreach (var s in Supplements.All.Where(s => s.Resource.Url == url && (version is null || s.Resource.Version == version)).ToList())
                {
                    Supplements.Remove(s.Url, s.Version);
                }

                break;
            case "ValueSet":
                removed = ValueSets.Remove(url, version);
                break;
            case "ConceptMap":
                removed = ConceptMaps.Remove(url, version);
                break;
            default:
                throw new ArgumentException($"'{resourceType}' is not a terminology resource type (CodeSystem, ValueSet, ConceptMap).", nameof(resourceType));
        }

        if (removed)
        {
            Interlocked.Increment(ref _generation);
        }

        return removed;
    }

    private bool RemoveSupplementsFrom(string source)
    {
        var removed = false;
        foreach (var supplemented in Supplements.All.Where(e => e.Source == source).Select(e => e.Url).Distinct().ToList())
        {
            removed |= Supplements.Remove(supplemented, e => e.Source == source);
        }

        return removed;
    }

    /// <summary>Removes what one source (e.g. <c>store:ValueSet/123</c>) added under a URL.</summary>
    internal bool RemoveFromSource(string resourceType, string url, string source)
    {
        var removed = resourceType switch
        {
            "CodeSystem" => CodeSystems.Remove(url, e => e.Source == source) | RemoveSupplementsFrom(source),
            "ValueSet" => ValueSets.Remove(url, e => e.Source == source),
            "ConceptMap" => ConceptMaps.Remove(url, e => e.Source == source),
            _ => false,
        };
        if (removed)
        {
            Interlocked.Increment(ref _generation);
        }

        return removed;
    }

    /// <inheritdoc />
    public CodeSystem? GetCodeSystem(string url, string? version = null) => CodeSystems.Find(url, version)?.Resource;

    /// <inheritdoc />
    public ValueSet? GetValueSet(string url, string? version = null) => ValueSets.Find(url, version)?.Resource;

    /// <inheritdoc />
    public ConceptMap? GetConceptMap(string url, string? version = null) => ConceptMaps.Find(url, version)?.Resource;
}
