using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Fhir.Tests.Infrastructure;

namespace Igia.Fhir.Tests.Server;

/// <summary>Small helpers shared by the HTTP-level server tests.</summary>
internal static class ServerTestSupport
{
    private static readonly FhirXmlDeserializer Xml = new();

    /// <summary>Sends <paramref name="method"/> to <paramref name="url"/> with an optional body and headers (name, value).</summary>
    public static async Task<HttpResponseMessage> SendAsync(this FhirTestHost host, HttpMethod method, string url, HttpContent? content = null, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        foreach (var (name, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return await host.Client.SendAsync(request);
    }

    /// <summary>PUTs a resource to <c>[type]/[id]</c> and returns the response.</summary>
    public static Task<HttpResponseMessage> PutAsync(this FhirTestHost host, Resource resource, params (string Name, string Value)[] headers) =>
        host.SendAsync(HttpMethod.Put, $"{resource.TypeName}/{resource.Id}", FhirTestHost.JsonContent(resource), headers);

    /// <summary>PUTs a resource that must succeed, and returns the stored version.</summary>
    public static async Task<T> UpsertAsync<T>(this FhirTestHost host, T resource)
        where T : Resource
    {
        using var response = await host.PutAsync(resource);
        Assert.True(response.IsSuccessStatusCode, $"PUT {resource.TypeName}/{resource.Id} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await FhirTestHost.ReadAsync<T>(response);
    }

    /// <summary>FHIR JSON (or any text) with a chosen media type.</summary>
    public static StringContent Content(string text, string mediaType) => new(text, Encoding.UTF8, mediaType);

    /// <summary>Reads a body as FHIR JSON or XML, whichever the response says it is.</summary>
    public static async Task<T> ReadAnyAsync<T>(HttpResponseMessage response)
        where T : Resource
    {
        if (response.Content.Headers.ContentType?.MediaType == "application/fhir+xml")
        {
            return (T)Xml.DeserializeResource(await response.Content.ReadAsStringAsync());
        }

        return await FhirTestHost.ReadAsync<T>(response);
    }

    /// <summary>
    /// Asserts an error answer: the expected status, an OperationOutcome body with an error issue, and (when given)
    /// diagnostics that name the problem. Returns the outcome.
    /// </summary>
    public static async Task<OperationOutcome> AssertOutcomeAsync(HttpResponseMessage response, HttpStatusCode status, params string[] diagnosticsContain)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status} but got {(int)response.StatusCode}: {body}");
        Assert.True(response.Content.Headers.ContentType?.MediaType is "application/fhir+json" or "application/fhir+xml", $"Expected a FHIR body, got '{response.Content.Headers.ContentType}': {body}");
        var outcome = await ReadAnyAsync<OperationOutcome>(response);
        Assert.NotNull(outcome);
        Assert.Contains(outcome.Issue, i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal);
        var diagnostics = string.Join(" | ", outcome.Issue.Select(i => i.Diagnostics));
        foreach (var text in diagnosticsContain)
        {
            Assert.True(diagnostics.Contains(text, StringComparison.OrdinalIgnoreCase), $"Diagnostics '{diagnostics}' should mention '{text}'.");
        }

        return outcome;
    }

    /// <summary>The number of versions in the server's system history (every write ever made).</summary>
    public static async Task<int> CountVersionsAsync(this FhirTestHost host)
    {
        var history = await host.GetAsync<Bundle>("_history?_count=1");
        return history.Total ?? throw new InvalidOperationException("History has no total.");
    }

    /// <summary>Asserts that the server has stored nothing at all (system history is empty).</summary>
    public static async System.Threading.Tasks.Task AssertNothingStoredAsync(this FhirTestHost host)
    {
        var history = await host.GetAsync<Bundle>("_history");
        Assert.True(history.Total == 0 && history.Entry.Count == 0, $"Expected nothing stored, but history holds {history.Total} versions: {string.Join(", ", history.Entry.Select(e => e.Request?.Url))}");
    }

    /// <summary>The value of the ETag header.</summary>
    public static string? ETag(this HttpResponseMessage response) => response.Headers.ETag?.ToString();

    /// <summary>A Bundle entry with a request.</summary>
    public static Bundle.EntryComponent Entry(Bundle.HTTPVerb method, string url, Resource? resource = null, string? fullUrl = null) => new()
    {
        FullUrl = fullUrl,
        Resource = resource,
        Request = new Bundle.RequestComponent { Method = method, Url = url },
    };

    /// <summary>Builds a batch or transaction Bundle.</summary>
    public static Bundle NewBundle(Bundle.BundleType type, params Bundle.EntryComponent[] entries) => new() { Type = type, Entry = [.. entries] };

    /// <summary>The numeric part of a Bundle entry's response status ("201 Created" → 201).</summary>
    public static int StatusOf(Bundle.EntryComponent entry) => int.Parse(entry.Response.Status.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Adds <c>If-Match: W/"n"</c>.</summary>
    public static (string, string) IfMatch(string version) => ("If-Match", $"W/\"{version}\"");

    /// <summary>A patient with one identifier in the test system.</summary>
    public static Patient PatientWithIdentifier(string value, string? id = null) => new()
    {
        Id = id,
        Identifier = [new Identifier("http://example.org/mrn", value)],
        Name = [new HumanName { Family = "Test-" + value }],
    };

    /// <summary>Media type of a response body.</summary>
    public static string? MediaType(this HttpResponseMessage response) => response.Content.Headers.ContentType?.MediaType;

    /// <summary>An <c>Accept</c> header value.</summary>
    public static MediaTypeWithQualityHeaderValue Accept(string mediaType) => new(mediaType);
}
