using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Hl7.Fhir.Model;

namespace Igia.Fhir.Serialization;

/// <summary>
/// A Bundle (a search result) whose entries carry their resources as the stored JSON they were read as, unparsed. When nobody
/// needs the objects (no filter reads <see cref="Pipeline.FhirResponse.Resource"/>, no <c>_summary</c>, <c>_elements</c>,
/// <c>_pretty</c> or XML), <see cref="ToJson"/> writes the Bundle with the stored JSON spliced in as it is — what the
/// serializer would write for the parsed resource, as the read fast path relies on too; otherwise <see cref="Materialize"/>
/// parses the entries into the Bundle, once.
/// </summary>
internal sealed class StoredBundleEntries
{
    /// <summary>
    /// The id of the stand-in resource that marks where an entry's JSON goes: random per process, so no stored value can
    /// forge it (and it only ever meets this server's own links and messages in the Bundle's frame).
    /// </summary>
    private static readonly string Marker = "igia-splice-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)) + "-";

    private readonly List<Bundle.EntryComponent> _entries = [];
    private readonly List<string> _json = [];
    private System.Collections.ObjectModel.ReadOnlyCollection<string>? _jsonView;

    /// <summary>Wraps a Bundle whose other parts (type, total, links, outcome entries) are already set.</summary>
    public StoredBundleEntries(Bundle bundle) => Bundle = bundle;

    /// <summary>The Bundle; entries added by <see cref="Add"/> have no resource until <see cref="Materialize"/>.</summary>
    public Bundle Bundle { get; }

    /// <summary>
    /// The stored JSON of the entries added by <see cref="Add"/>, in entry order, until <see cref="Materialize"/> parses them
    /// (empty after): a read-only look at the resources without building them.
    /// </summary>
    public IReadOnlyList<string> StoredJson => _jsonView ??= _json.AsReadOnly();

    /// <summary>Appends an entry whose resource is <paramref name="json"/> (stored JSON, with meta).</summary>
    public void Add(Bundle.EntryComponent entry, string json)
    {
        Bundle.Entry.Add(entry);
        _entries.Add(entry);
        _json.Add(json);
    }

    /// <summary>Parses every stored entry into its entry and returns the complete Bundle (idempotent).</summary>
    public Bundle Materialize()
    {
        for (var i = 0; i < _entries.Count; i++)
        {
            _entries[i].Resource = FhirFormats.ParseStored(_json[i]);
        }

        _entries.Clear();
        _json.Clear();
        return Bundle;
    }

    /// <summary>The Bundle as compact JSON, the stored entries spliced in unparsed.</summary>
    public string ToJson()
    {
        if (_entries.Count == 0)
        {
            return FhirFormats.ToStorageJson(Bundle);
        }

        var placeholders = new string[_entries.Count];
        string frame;
        try
        {
            for (var i = 0; i < _entries.Count; i++)
            {
                var id = Marker + i.ToString(CultureInfo.InvariantCulture);
                _entries[i].Resource = new Basic { Id = id };
                placeholders[i] = "{\"resourceType\":\"Basic\",\"id\":\"" + id + "\"}";
            }

            frame = FhirFormats.ToStorageJson(Bundle);
        }
        finally
        {
            foreach (var entry in _entries)
            {
                entry.Resource = null;
            }
        }

        var sb = new StringBuilder(frame.Length + _json.Sum(j => j.Length));
        var at = 0;
        for (var i = 0; i < placeholders.Length; i++)
        {
            var found = frame.IndexOf(placeholders[i], at, StringComparison.Ordinal);
            if (found < 0)
            {
                // Not the frame this class expects (a serializer that writes the stand-in differently): take the slow path.
                return FhirFormats.ToStorageJson(Materialize());
            }

            sb.Append(frame, at, found - at).Append(_json[i]);
            at = found + placeholders[i].Length;
        }

        return sb.Append(frame, at, frame.Length - at).ToString();
    }
}
