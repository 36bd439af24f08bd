using System.Collections.Concurrent;
using System.Collections.Immutable;
using Hl7.Fhir.Model;
using Igia.Terminology.Engine;

namespace Igia.Terminology.Content;

/// <summary>A terminology resource (CodeSystem, ValueSet, ConceptMap) held by canonical URL and version.</summary>
internal sealed class CanonicalEntry<T>
    where T : Resource
{
    public CanonicalEntry(T resource, string url, string? version, string source)
    {
        Resource = resource;
        Url = url;
        Version = version;
        Source = source;
    }

    public T Resource { get; }

    public string Url { get; }

    public string? Version { get; }

    /// <summary>Where it came from (package, file, store, request).</summary>
    public string Source { get; }

    /// <summary>Derived, immutable data built on first use (the indexed code system, a cached expansion).</summary>
    public ConcurrentDictionary<string, object> Derived { get; } = new(StringComparer.Ordinal);

    public string VersionedUrl => Version is null ? Url : $"{Url}|{Version}";
}

/// <summary>Resources of one type by canonical URL; every version kept, newest first. Safe for concurrent readers and writers.</summary>
internal sealed class ResourceIndex<T>
    where T : Resource
{
    private readonly ConcurrentDictionary<string, ImmutableArray<CanonicalEntry<T>>> _byUrl = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CanonicalEntry<T>> _byId = new(StringComparer.Ordinal);

    public int Count => _byUrl.Values.Sum(v => v.Length);

    public IEnumerable<CanonicalEntry<T>> All => _byUrl.Values.SelectMany(v => v);

    public IEnumerable<string> Urls => _byUrl.Keys;

    /// <summary>Adds or replaces (same URL and version) a resource.</summary>
    public CanonicalEntry<T> Add(T resource, string url, string? version, string source)
    {
        var entry = new CanonicalEntry<T>(resource, url, version, source);
        _byUrl.AddOrUpdate(
            url,
            _ => [entry],
            (_, existing) =>
            {
                var list = existing.RemoveAll(e => e.Version == version).Add(entry);
                return [.. list.Sort((a, b) => -Engine.Versions.Compare(a.Version, b.Version))];
            });
        if (resource.Id is { Length: > 0 } id)
        {
            _byId[id] = entry;
        }

        return entry;
    }

    public bool Remove(string url, string? version) => Remove(url, e => version is null || e.Version == version);

    /// <summary>Removes the entries of a URL that <paramref name="match"/> selects.</summary>
    public bool Remove(string url, Predicate<CanonicalEntry<T>> match)
    {
        var removed = false;
        while (_byUrl.TryGetValue(url, out var existing))
        {
            var list = existing.RemoveAll(match);
            if (list.Length == existing.Length)
            {
                break;
            }

            var done = list.Length == 0 ? _byUrl.TryRemove(new KeyValuePair<string, ImmutableArray<CanonicalEntry<T>>>(url, existing)) : _byUrl.TryUpdate(url, list, existing);
            if (done)
            {
                removed = true;
                foreach (var e in existing.Except(list))
                {
                    if (e.Resource.Id is { } id && _byId.TryGetValue(id, out var current) && current == e)
                    {
                        _byId.TryRemove(id, out _);
                    }
                }

                break;
            }
        }

        return removed;
    }

    public void Clear()
    {
        _byUrl.Clear();
        _byId.Clear();
    }

    /// <summary>Every version of a URL, newest first.</summary>
    public ImmutableArray<CanonicalEntry<T>> AllVersions(string url) => _byUrl.TryGetValue(url, out var list) ? list : [];

    public CanonicalEntry<T>? ById(string id) => _byId.TryGetValue(id, out var e) ? e : null;

    /// <summary>
    /// The entry for a URL and version: the exact version; for a wildcard (<c>1.0.x</c>) the newest matching one; without a
    /// version the newest one.
    /// </summary>
    public CanonicalEntry<T>? Find(string url, string? version)
    {
        if (!_byUrl.TryGetValue(url, out var list) || list.Length == 0)
        {
            return null;
        }

        if (version is null)
        {
            return list[0];
        }

        foreach (var e in list)
        {
            if (e.Version == version)
            {
                return e;
            }
        }

        if (Engine.Versions.IsWildcard(version))
        {
            foreach (var e in list)
            {
                if (Engine.Versions.Matches(version, e.Version))
                {
                    return e;
                }
            }
        }

        return null;
    }
}
