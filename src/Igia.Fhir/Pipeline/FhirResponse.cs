using System.Net;
using Hl7.Fhir.Model;

namespace Igia.Fhir.Pipeline;

/// <summary>
/// The result of an interaction as it travels back through the filters: status, body and the headers that
/// FHIR defines. Filters may inspect or replace the body (for example redact entries of a search Bundle).
/// </summary>
public sealed class FhirResponse
{
    /// <summary>The HTTP status.</summary>
    public HttpStatusCode StatusCode { get; set; } = HttpStatusCode.OK;

    private Resource? _resource;
    private string? _storedJson;
    private Resource? _storedObject;
    private Serialization.StoredBundleEntries? _unparsedBundle;

    /// <summary>The body: a resource, a Bundle, an OperationOutcome, or null for none.</summary>
    public Resource? Resource
    {
        get
        {
            if (_resource is null)
            {
                if (_storedJson is not null)
                {
                    _resource = _storedObject ?? Serialization.FhirFormats.ParseStored(_storedJson);
                }
                else if (_unparsedBundle is not null)
                {
                    _resource = _unparsedBundle.Materialize();
                }
            }

            return _resource;
        }

        set
        {
            _resource = value;
            _storedJson = null;
            _storedObject = null;
            _unparsedBundle = null;
        }
    }

    /// <summary>
    /// The body as stored JSON, while nobody has asked for <see cref="Resource"/>: then the writer can send the
    /// stored bytes as they are instead of parsing and serialising them again (the read fast path).
    /// </summary>
    internal string? UnparsedJson => _resource is null ? _storedJson : null;

    /// <summary>
    /// A search Bundle whose entries still hold their resources as stored JSON, while nobody has asked for <see cref="Resource"/>:
    /// then the writer splices the stored JSON into the Bundle instead of parsing and serialising every entry.
    /// </summary>
    internal Serialization.StoredBundleEntries? UnparsedBundle => _resource is null ? _unparsedBundle : null;

    /// <summary>The body's object when it exists without parsing (set, parsed already, or the object a write serialised).</summary>
    internal Resource? ResourceIfParsed => _resource ?? _storedObject;

    /// <summary>
    /// The body as the stored JSON, while nobody has read or set <see cref="Resource"/> (null otherwise). Lets a filter
    /// look at a read's body (e.g. audit, for the patient it belongs to) without parsing it, which keeps the read fast path.
    /// </summary>
    public string? StoredJson => UnparsedJson;

    /// <summary>
    /// For a search Bundle body, while nobody has read or set <see cref="Resource"/>: the stored JSON of its resource
    /// entries (matches and includes), in entry order, unparsed; null otherwise. The Bundle's other entries (an
    /// OperationOutcome of search warnings) are not in it. Lets a filter look at a search's results (e.g. audit, for the
    /// patients they belong to) without parsing them, which keeps the search fast path. Read-only: to change the results,
    /// set <see cref="Resource"/>.
    /// </summary>
    public IReadOnlyList<string>? StoredEntries => UnparsedBundle?.StoredJson;

    /// <summary>
    /// Sets the body from stored JSON, parsed only if someone reads <see cref="Resource"/>; or, for a write, the object
    /// <paramref name="json"/> was serialised from, which <see cref="Resource"/> then returns without parsing.
    /// </summary>
    internal void SetStoredJson(string json, Resource? serializedFrom = null)
    {
        _resource = null;
        _unparsedBundle = null;
        _storedJson = json;
        _storedObject = serializedFrom;
    }

    /// <summary>Sets the body to a search Bundle, its stored entries parsed only if someone reads <see cref="Resource"/>.</summary>
    internal void SetUnparsedBundle(Serialization.StoredBundleEntries bundle)
    {
        _resource = null;
        _storedJson = null;
        _storedObject = null;
        _unparsedBundle = bundle;
    }

    /// <summary>The version id for the <c>ETag</c> header.</summary>
    public string? VersionId { get; set; }

    /// <summary>The <c>Last-Modified</c> header.</summary>
    public DateTimeOffset? LastModified { get; set; }

    /// <summary>The <c>Location</c> (create) or <c>Content-Location</c> (others) of the written version, relative to the base.</summary>
    public string? Location { get; set; }

    /// <summary>The resource type touched, when it differs from the request (e.g. a conditional interaction), for audit.</summary>
    public string? ResourceType { get; set; }

    /// <summary>The id touched or created, for audit and for Bundle responses.</summary>
    public string? Id { get; set; }

    /// <summary>Extra response headers (e.g. <c>Retry-After</c>).</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>True for 2xx and 3xx.</summary>
    public bool IsSuccess => (int)StatusCode < 400;

    /// <summary>A response with an OperationOutcome of one error issue.</summary>
    public static FhirResponse Error(HttpStatusCode status, OperationOutcome.IssueType code, string message) =>
        new() { StatusCode = status, Resource = Outcome(OperationOutcome.IssueSeverity.Error, code, message) };

    /// <summary>Builds an OperationOutcome of one issue.</summary>
    public static OperationOutcome Outcome(OperationOutcome.IssueSeverity severity, OperationOutcome.IssueType code, string message) =>
        new() { Issue = [new OperationOutcome.IssueComponent { Severity = severity, Code = code, Diagnostics = message }] };
}
