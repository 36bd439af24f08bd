using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Serialization;
using Igia.Fhir.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Task = System.Threading.Tasks.Task;

namespace Igia.Fhir.Tests.Server;

/// <summary>
/// The fast paths that send stored JSON without parsing it — a read's body, a search Bundle's entries (spliced into the
/// Bundle), a create's body — give the same bytes as the object path, and step aside whenever something needs the object:
/// a filter that reads <see cref="FhirResponse.Resource"/>, <c>_summary</c>, <c>_elements</c>, <c>_pretty</c>, XML.
/// </summary>
public sealed class FastPathTests : IAsyncLifetime
{
    /// <summary>Request header that makes <see cref="ProbeFilter"/> read <see cref="FhirResponse.Resource"/> (forcing the object path).</summary>
    private const string Materialize = "X-Test-Materialize";

    /// <summary>Request header that makes <see cref="ProbeFilter"/> redact every Patient's name in the response.</summary>
    private const string Redact = "X-Test-Redact";

    private FhirTestHost _host = null!;
    private ProbeFilter _probe = null!;
    private Patient _patient = null!;
    private readonly List<Observation> _observations = [];

    public async Task InitializeAsync()
    {
        _probe = new ProbeFilter();
        _host = await FhirTestHost.StartAsync(configureServices: services => services.AddSingleton<IFhirInteractionFilter>(_probe));
        _patient = await _host.CreateAsync(new Patient
        {
            Name = [new HumanName { Family = "Splice", Given = ["Ünïcode", "Ann"] }],
            Gender = AdministrativeGender.Female,
            BirthDate = "1980-02-03",
            Text = new Narrative { Status = Narrative.NarrativeStatus.Generated, Div = "<div xmlns=\"http://www.w3.org/1999/xhtml\">Ann &amp; \"Splice\"</div>" },
        });
        for (var i = 0; i < 3; i++)
        {
            _observations.Add(await _host.CreateAsync(new Observation
            {
                Status = ObservationStatus.Final,
                Code = new CodeableConcept("http://loinc.org", "8867-4", "Heart rate"),
                Subject = new ResourceReference($"Patient/{_patient.Id}"),
                Effective = new FhirDateTime(2024, 1, i + 1),
                Value = new Quantity(60 + i, "/min"),
                Note = [new Annotation { Text = $"note {i} with \"quotes\" and \\ backslash" }],
            }));
        }
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<(HttpResponseMessage Response, string Body)> GetAsync(string url, params string[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        foreach (var header in headers)
        {
            request.Headers.Add(header, "1");
        }

        var response = await _host.Client.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A searchset without what is new in every response: its id and lastUpdated, and the urn:uuid fullUrl of its OperationOutcome.</summary>
    private static JsonNode WithoutBundleIdentity(string json)
    {
        var node = JsonNode.Parse(json)!;
        var root = node.AsObject();
        Assert.True(root.Remove("id"));
        Assert.True(root.Remove("meta"));
        foreach (var entry in root["entry"]!.AsArray())
        {
            if (entry!["fullUrl"]!.GetValue<string>().StartsWith("urn:uuid:", StringComparison.Ordinal))
            {
                entry.AsObject().Remove("fullUrl");
            }
        }

        return node;
    }

    [Fact]
    public async Task Search_SplicedBundle_IsTheBundleTheObjectPathWrites()
    {
        const string Url = "Observation?subject=Patient/{0}&_include=Observation:subject&_sort=date&unknown-parameter=x";
        var url = string.Format(System.Globalization.CultureInfo.InvariantCulture, Url, _patient.Id);

        var (fast, fastBody) = await GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, fast.StatusCode);
        Assert.True(_probe.LastSawUnparsedBundle, "the search response should still hold its entries as stored JSON");

        var (slow, slowBody) = await GetAsync(url, Materialize);
        Assert.Equal(HttpStatusCode.OK, slow.StatusCode);

        Assert.True(JsonNode.DeepEquals(WithoutBundleIdentity(slowBody), WithoutBundleIdentity(fastBody)), $"fast:\n{fastBody}\nslow:\n{slowBody}");
        var bundle = await FhirTestHost.ReadAsync<Bundle>(fast);
        Assert.Equal(5, bundle.Entry.Count); // 3 matches, the included Patient, the OperationOutcome for the unknown parameter
        Assert.Equal([60m, 61m, 62m], bundle.Entry.Take(3).Select(e => ((Quantity)((Observation)e.Resource).Value).Value!.Value));
        Assert.Equal(Encoding.UTF8.GetByteCount(fastBody), fast.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Search_TokenProbeWithSystemAndCode_MatchesExactly()
    {
        // The subject reference drives these searches; the token is checked per candidate (one index seek with system|code).
        async Task<int> Count(string token) => (await _host.GetAsync<Bundle>($"Observation?subject=Patient/{_patient.Id}&code={token}")).Entry.Count;
        Assert.Equal(3, await Count("http://loinc.org|8867-4"));
        Assert.Equal(0, await Count("http://snomed.info/sct|8867-4"));
        Assert.Equal(0, await Count("http://loinc.org|8480-6"));
        Assert.Equal(3, await Count("8867-4"));
        Assert.Equal(3, await Count("http://loinc.org|8867-4,http://loinc.org|8480-6"));
        Assert.Equal(0, await Count("|8867-4"));
        Assert.Empty((await _host.GetAsync<Bundle>($"Observation?subject=Patient/{_patient.Id}&code:not=http://loinc.org|8867-4")).Entry);
    }

    [Fact]
    public void StoredBundleEntries_ToJson_EqualsSerialisingTheMaterialisedBundle()
    {
        var stored = _observations.Select(o => FhirFormats.ToStorageJson(o)).ToList();
        var entries = new StoredBundleEntries(new Bundle { Id = "b1", Type = Bundle.BundleType.Searchset, Total = 3 });
        entries.Bundle.Link.Add(new Bundle.LinkComponent { Relation = "self", Url = "http://x/fhir/Observation?a=%22b%22" });
        foreach (var (json, i) in stored.Select((j, i) => (j, i)))
        {
            entries.Add(new Bundle.EntryComponent { FullUrl = $"http://x/fhir/Observation/{i}", Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Match } }, json);
        }

        entries.Bundle.Entry.Add(new Bundle.EntryComponent { Resource = new OperationOutcome { Issue = [new OperationOutcome.IssueComponent { Severity = OperationOutcome.IssueSeverity.Warning, Code = OperationOutcome.IssueType.NotSupported, Diagnostics = "x" }] } });

        var spliced = entries.ToJson();
        Assert.All(entries.Bundle.Entry.Take(3), e => Assert.Null(e.Resource)); // ToJson leaves the entries unparsed
        var materialised = FhirFormats.ToStorageJson(entries.Materialize());
        Assert.Equal(materialised, spliced);
        Assert.All(entries.Bundle.Entry, e => Assert.NotNull(e.Resource));
        Assert.Same(entries.Bundle, entries.Materialize()); // idempotent
    }

    [Fact]
    public async Task Search_ShapingParametersAndXml_TakeTheObjectPath()
    {
        var summary = await _host.GetAsync<Bundle>($"Observation?subject=Patient/{_patient.Id}&_summary=true");
        Assert.Equal(3, summary.Entry.Count);
        Assert.All(summary.Entry, e => Assert.Empty(((Observation)e.Resource).Note)); // note is not a summary element

        var elements = await _host.GetAsync<Bundle>($"Observation?subject=Patient/{_patient.Id}&_elements=status");
        Assert.All(elements.Entry, e => Assert.Null(((Observation)e.Resource).Value));

        var (pretty, prettyBody) = await GetAsync($"Observation?subject=Patient/{_patient.Id}&_pretty=true");
        Assert.Equal(HttpStatusCode.OK, pretty.StatusCode);
        Assert.Contains("\n", prettyBody);

        using var xmlRequest = new HttpRequestMessage(HttpMethod.Get, $"Observation?subject=Patient/{_patient.Id}");
        xmlRequest.Headers.Accept.ParseAdd("application/fhir+xml");
        using var xml = await _host.Client.SendAsync(xmlRequest);
        var xmlBody = await xml.Content.ReadAsStringAsync();
        Assert.Contains("<Bundle xmlns=\"http://hl7.org/fhir\"", xmlBody);
        Assert.Equal(3, xmlBody.Split("<Observation").Length - 1);
    }

    [Fact]
    public async Task FilterThatChangesTheObject_IsWhatTheClientGets_ForReadSearchAndCreate()
    {
        var (read, _) = await GetAsync($"Patient/{_patient.Id}", Redact);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Empty((await FhirTestHost.ReadAsync<Patient>(read)).Name);

        var (search, _) = await GetAsync($"Observation?subject=Patient/{_patient.Id}&_include=Observation:subject", Redact);
        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        var bundle = await FhirTestHost.ReadAsync<Bundle>(search);
        Assert.Empty(Assert.Single(bundle.Entry.Select(e => e.Resource).OfType<Patient>()).Name);
        Assert.Equal(3, bundle.Entry.Count(e => e.Resource is Observation));

        using var create = new HttpRequestMessage(HttpMethod.Post, "Patient") { Content = FhirTestHost.JsonContent(new Patient { Name = [new HumanName { Family = "Splice" }] }) };
        create.Headers.Add(Redact, "1");
        using var created = await _host.Client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var createdBody = await created.Content.ReadAsStringAsync();
        Assert.DoesNotContain("Splice", createdBody);

        // The redaction changed the response only: the store kept what was sent.
        var stored = await _host.GetAsync<Patient>($"Patient/{(await FhirTestHost.ReadAsync<Patient>(created)).Id}");
        Assert.Equal("Splice", Assert.Single(stored.Name).Family);
    }

    [Fact]
    public async Task Read_SendsTheStoredJson_WithContentLength_AndWithoutParsing()
    {
        var (response, body) = await GetAsync($"Patient/{_patient.Id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(_probe.LastSawStoredJson);
        Assert.Equal(Encoding.UTF8.GetByteCount(body), response.Content.Headers.ContentLength);
        var (slow, slowBody) = await GetAsync($"Patient/{_patient.Id}", Materialize);
        Assert.Equal(HttpStatusCode.OK, slow.StatusCode);
        Assert.Equal(slowBody, body);
    }

    [Fact]
    public async Task Create_AnswersWithTheStoredJson_WithTheAssignedIdVersionAndTimeStamp()
    {
        var sent = new Observation
        {
            Id = "client-chosen",
            Meta = new Meta { VersionId = "7", LastUpdated = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero), Tag = [new Coding("http://example.org/tags", "keep")] },
            Status = ObservationStatus.Final,
            Code = new CodeableConcept("http://loinc.org", "8867-4"),
            Subject = new ResourceReference($"Patient/{_patient.Id}"),
        };
        using var created = await _host.Client.PostAsync("Observation", FhirTestHost.JsonContent(sent));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.True(_probe.LastSawStoredJson);
        var createdBody = await created.Content.ReadAsStringAsync();
        var observation = await FhirTestHost.ReadAsync<Observation>(created);
        Assert.NotEqual("client-chosen", observation.Id);
        Assert.Equal("1", observation.Meta.VersionId);
        Assert.True(observation.Meta.LastUpdated > DateTimeOffset.UtcNow.AddMinutes(-5));
        Assert.Equal("keep", Assert.Single(observation.Meta.Tag).Code);
        Assert.EndsWith($"Observation/{observation.Id}/_history/1", created.Headers.Location!.ToString());
        Assert.Equal(observation.Meta.LastUpdated!.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture), created.Content.Headers.LastModified!.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture));

        // What was stored is byte for byte what the create answered, and searches find it by its content.
        var (read, readBody) = await GetAsync($"Observation/{observation.Id}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(createdBody, readBody);
        var found = await _host.GetAsync<Bundle>($"Observation?_id={observation.Id}&_tag=http://example.org/tags|keep");
        Assert.Single(found.Entry);
    }

    [Fact]
    public async Task Create_WithMetaTheStandInCannotMatch_IsStoredCorrectly()
    {
        // meta.lastUpdated with an extension: the serializer writes more than the plain value, so the create serialises in the lock.
        var json = """
            {"resourceType":"Observation","meta":{"lastUpdated":"2001-01-01T00:00:00Z","_lastUpdated":{"extension":[{"url":"http://example.org/x","valueString":"y"}]}},
             "status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/PATIENT"}}
            """.Replace("PATIENT", _patient.Id, StringComparison.Ordinal);
        using var created = await _host.Client.PostAsync("Observation", FhirTestHost.JsonContent(json));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var observation = await FhirTestHost.ReadAsync<Observation>(created);
        Assert.True(observation.Meta.LastUpdated > DateTimeOffset.UtcNow.AddMinutes(-5));
        var read = await _host.GetAsync<Observation>($"Observation/{observation.Id}");
        Assert.Equal(observation.Meta.LastUpdated, read.Meta.LastUpdated);
        Assert.Equal("1", read.Meta.VersionId);
    }

    /// <summary>Records whether responses still held stored JSON, and reads or redacts the object when a test header asks.</summary>
    private sealed class ProbeFilter : IFhirInteractionFilter
    {
        public int Order => FhirFilterOrder.Default;

        public bool LastSawUnparsedBundle { get; private set; }

        public bool LastSawStoredJson { get; private set; }

        public async ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next)
        {
            var response = await next(interaction);
            var headers = interaction.HttpContext?.Request.Headers;
            if (headers is null)
            {
                return response;
            }

            LastSawUnparsedBundle = response.UnparsedBundle is not null;
            LastSawStoredJson = response.StoredJson is not null;
            if (headers.ContainsKey(Materialize))
            {
                _ = response.Resource;
            }

            if (headers.ContainsKey(Redact))
            {
                var resources = response.Resource is Bundle bundle ? bundle.Entry.Select(e => e.Resource) : [response.Resource];
                foreach (var patient in resources.OfType<Patient>())
                {
                    patient.Name.Clear();
                }
            }

            return response;
        }
    }
}
