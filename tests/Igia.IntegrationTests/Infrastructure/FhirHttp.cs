using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Igia.IntegrationTests.Infrastructure;

/// <summary>FHIR JSON over plain <see cref="HttpClient"/>, with Firely's model.</summary>
internal static class FhirHttp
{
    private static readonly System.Text.Json.JsonSerializerOptions Json =
        new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    /// <summary>Serialises a resource to <c>application/fhir+json</c> content.</summary>
    public static StringContent Content(Resource resource) =>
        new(System.Text.Json.JsonSerializer.Serialize(resource, resource.GetType(), Json), Encoding.UTF8, "application/fhir+json");

    /// <summary>Reads a response that must be 2xx with a FHIR JSON body of type <typeparamref name="T"/>.</summary>
    public static async Task<T> ReadAsync<T>(HttpResponseMessage response)
        where T : Resource
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {body}");
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        return Assert.IsType<T>(System.Text.Json.JsonSerializer.Deserialize<Resource>(body, Json));
    }

    /// <summary>GETs <paramref name="url"/> and reads a resource of type <typeparamref name="T"/>.</summary>
    public static async Task<T> GetAsync<T>(this HttpClient http, string url)
        where T : Resource
    {
        using var response = await http.GetAsync(url);
        return await ReadAsync<T>(response);
    }

    /// <summary>Runs a search and follows its <c>next</c> links; returns every match (not <c>_include</c>s).</summary>
    public static async Task<List<Resource>> SearchAllAsync(this HttpClient http, string url)
    {
        var matches = new List<Resource>();
        for (var (next, pages) = (url, 0); next is not null; pages++)
        {
            Assert.True(pages < 1000, $"Too many pages following {url}.");
            var bundle = await http.GetAsync<Bundle>(next);
            Assert.Equal(Bundle.BundleType.Searchset, bundle.Type);
            matches.AddRange(bundle.Entry.Where(e => e.Search?.Mode is null or Bundle.SearchEntryMode.Match).Select(e => e.Resource));
            next = bundle.Link.FirstOrDefault(l => l.Relation == "next")?.Url;
        }

        return matches;
    }
}
