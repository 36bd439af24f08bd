using System.Collections.Concurrent;
using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Igia.Fhir.Tests.Server.ServerTestSupport;

namespace Igia.Fhir.Tests.Server;

/// <summary>Batch (independent entries) and transaction (all-or-nothing, reference resolution, processing order).</summary>
public sealed class BundleTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;
    private EntryRecorder _recorder = null!;

    public async System.Threading.Tasks.Task InitializeAsync()
    {
        _host = await FhirTestHost.StartAsync(configureFhir: fhir => fhir.AddFilter<EntryRecorder>());
        _recorder = _host.App.Services.GetServices<IFhirInteractionFilter>().OfType<EntryRecorder>().Single();
    }

    public async System.Threading.Tasks.Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<(HttpResponseMessage Response, Bundle? Result)> PostBundleAsync(Bundle bundle)
    {
        var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(bundle));
        var result = response.IsSuccessStatusCode ? await FhirTestHost.ReadAsync<Bundle>(response) : null;
        return (response, result);
    }

    // ---- batch ----------------------------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task Batch_IndependentEntries_EachGetsItsOwnStatusInRequestOrder()
    {
        await _host.UpsertAsync(new Patient { Id = "to-delete", Active = true });
        var stale = await _host.UpsertAsync(new Patient { Id = "stale", Active = true });
        await _host.UpsertAsync(stale);

        var bundle = NewBundle(
            Bundle.BundleType.Batch,
            Entry(Bundle.HTTPVerb.POST, "Patient", new Patient { Active = true }),
            Entry(Bundle.HTTPVerb.PUT, "Patient/batch-put", new Patient { Id = "batch-put", Active = true }),
            Entry(Bundle.HTTPVerb.DELETE, "Patient/to-delete"),
            Entry(Bundle.HTTPVerb.GET, "Patient/does-not-exist"),
            Entry(Bundle.HTTPVerb.PUT, "Patient/mismatch", new Patient { Id = "other", Active = true }),
            Entry(Bundle.HTTPVerb.GET, "Patient/stale"));
        var ifMatch = Entry(Bundle.HTTPVerb.PUT, "Patient/stale", new Patient { Id = "stale", Active = false });
        ifMatch.Request.IfMatch = "W/\"1\"";
        bundle.Entry.Add(ifMatch);

        var (response, result) = await PostBundleAsync(bundle);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Bundle.BundleType.BatchResponse, result!.Type);
        Assert.Equal([201, 201, 204, 404, 400, 200, 412], result.Entry.Select(StatusOf));

        var created = result.Entry[0];
        Assert.Matches("^Patient/[^/]+/_history/1$", created.Response.Location);
        Assert.Equal("W/\"1\"", created.Response.Etag);
        Assert.IsType<Patient>(created.Resource);
        Assert.Equal(OperationOutcome.IssueType.NotFound, result.Entry[3].Response.Outcome is OperationOutcome oo ? oo.Issue[0].Code : null);
        Assert.IsType<OperationOutcome>(result.Entry[4].Response.Outcome);
        Assert.Equal("2", result.Entry[5].Resource.Meta.VersionId);

        // The failures did not stop the others, and stored nothing themselves.
        Assert.Equal(HttpStatusCode.OK, (await _host.Client.GetAsync($"Patient/{created.Resource.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _host.Client.GetAsync("Patient/batch-put")).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await _host.Client.GetAsync("Patient/to-delete")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _host.Client.GetAsync("Patient/mismatch")).StatusCode);
        Assert.Equal("2", (await _host.GetAsync<Patient>("Patient/stale")).Meta.VersionId);
    }

    [Fact]
    public async System.Threading.Tasks.Task Batch_EntryWithUnknownTypeOrBadUrl_FailsOnlyThatEntry()
    {
        var bundle = NewBundle(
            Bundle.BundleType.Batch,
            Entry(Bundle.HTTPVerb.PUT, "Patient/ok-1", new Patient { Id = "ok-1", Active = true }),
            Entry(Bundle.HTTPVerb.GET, "Foo/1"),
            Entry(Bundle.HTTPVerb.GET, "Patient/1' OR '1'='1"),
            Entry(Bundle.HTTPVerb.DELETE, "metadata"),
            Entry(Bundle.HTTPVerb.PUT, "Patient/ok-2", new Patient { Id = "ok-2", Active = true }));
        var (response, result) = await PostBundleAsync(bundle);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([201, 404, 400, 405, 201], result!.Entry.Select(StatusOf));
        Assert.All(result.Entry.Where(e => StatusOf(e) >= 400), e => Assert.NotEmpty(((OperationOutcome)e.Response.Outcome).Issue[0].Diagnostics));
        Assert.Equal(2, await _host.CountVersionsAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task Batch_EntryWithoutRequestOrResource_FailsOnlyThatEntry()
    {
        var bundle = NewBundle(
            Bundle.BundleType.Batch,
            new Bundle.EntryComponent { Resource = new Patient { Active = true } },
            Entry(Bundle.HTTPVerb.POST, "Patient"),
            Entry(Bundle.HTTPVerb.PUT, "Patient/ok", new Patient { Id = "ok", Active = true }));
        var (response, result) = await PostBundleAsync(bundle);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([400, 400, 201], result!.Entry.Select(StatusOf));
        Assert.Equal(1, await _host.CountVersionsAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task Batch_PreferReturnMinimal_EntriesCarryStatusAndLocationOnly()
    {
        var bundle = NewBundle(Bundle.BundleType.Batch, Entry(Bundle.HTTPVerb.POST, "Patient", new Patient { Active = true }));
        using var response = await _host.SendAsync(HttpMethod.Post, "", FhirTestHost.JsonContent(bundle), ("Prefer", "return=minimal"));
        var result = await FhirTestHost.ReadAsync<Bundle>(response);
        Assert.Equal(201, StatusOf(result.Entry[0]));
        Assert.NotNull(result.Entry[0].Response.Location);
        Assert.Null(result.Entry[0].Resource);
    }

    // ---- transaction: all or nothing ------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task Transaction_AllEntriesSucceed_CommitsAllAndAnswersInRequestOrder()
    {
        await _host.UpsertAsync(new Patient { Id = "t-old", Active = true });
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            Entry(Bundle.HTTPVerb.GET, "Patient/t-put"),
            Entry(Bundle.HTTPVerb.PUT, "Patient/t-put", new Patient { Id = "t-put", Active = true }),
            Entry(Bundle.HTTPVerb.POST, "Patient", new Patient { Active = true }),
            Entry(Bundle.HTTPVerb.DELETE, "Patient/t-old"));
        var (response, result) = await PostBundleAsync(bundle);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Bundle.BundleType.TransactionResponse, result!.Type);
        Assert.Equal([200, 201, 201, 204], result.Entry.Select(StatusOf));
        Assert.Equal("Patient/t-put/_history/1", result.Entry[1].Response.Location);
        Assert.Matches("^Patient/[^/]+/_history/1$", result.Entry[2].Response.Location);
        Assert.Equal("W/\"2\"", result.Entry[3].Response.Etag);
        Assert.Equal(HttpStatusCode.Gone, (await _host.Client.GetAsync("Patient/t-old")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _host.Client.GetAsync($"Patient/{result.Entry[2].Resource.Id}")).StatusCode);
        Assert.Equal(4, await _host.CountVersionsAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_ProcessesDeleteThenPostThenPutThenGet()
    {
        await _host.UpsertAsync(new Patient { Id = "order-del", Active = true });
        await _host.UpsertAsync(new Patient { Id = "order-put", Active = true });
        _recorder.Clear();
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            Entry(Bundle.HTTPVerb.GET, "Patient/order-put"),
            Entry(Bundle.HTTPVerb.PUT, "Patient/order-put", new Patient { Id = "order-put", Active = false }),
            Entry(Bundle.HTTPVerb.GET, "Patient/order-del/_history"),
            Entry(Bundle.HTTPVerb.POST, "Patient", new Patient { Active = true }),
            Entry(Bundle.HTTPVerb.DELETE, "Patient/order-del"));
        var (response, result) = await PostBundleAsync(bundle);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The filter sees the entries in processing order.
        Assert.Equal(["DELETE", "POST", "PUT", "GET", "GET"], _recorder.Entries.Select(e => e.Method));
        Assert.Equal(["Patient/order-del", "Patient", "Patient/order-put", "Patient/order-put", "Patient/order-del/_history"], _recorder.Entries.Select(e => e.Url));

        // And the results show it: the GETs ran after the PUT and the DELETE.
        Assert.Equal([200, 200, 200, 201, 204], result!.Entry.Select(StatusOf));
        var read = (Patient)result.Entry[0].Resource;
        Assert.Equal("2", read.Meta.VersionId);
        Assert.False(read.Active);
        var history = (Bundle)result.Entry[2].Resource;
        Assert.Equal(Bundle.HTTPVerb.DELETE, history.Entry[0].Request.Method);
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_OneEntryFailsIfMatch_StoresNothing()
    {
        await _host.UpsertAsync(new Patient { Id = "tx-a", Active = true });
        var before = await _host.CountVersionsAsync();
        var bad = Entry(Bundle.HTTPVerb.PUT, "Patient/tx-a", new Patient { Id = "tx-a", Active = false });
        bad.Request.IfMatch = "W/\"7\"";
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            Entry(Bundle.HTTPVerb.POST, "Patient", new Patient { Active = true }),
            Entry(Bundle.HTTPVerb.PUT, "Patient/tx-b", new Patient { Id = "tx-b", Active = true }),
            Entry(Bundle.HTTPVerb.DELETE, "Patient/tx-a"),
            bad);
        var (response, _) = await PostBundleAsync(bundle);
        await AssertOutcomeAsync(response, HttpStatusCode.PreconditionFailed, "entry 3");
        Assert.Equal(before, await _host.CountVersionsAsync());
        Assert.True((await _host.GetAsync<Patient>("Patient/tx-a")).Active);
        Assert.Equal(HttpStatusCode.NotFound, (await _host.Client.GetAsync("Patient/tx-b")).StatusCode);
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_OneEntryWithBadUrl_StoresNothing()
    {
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            Entry(Bundle.HTTPVerb.PUT, "Patient/tx-ok", new Patient { Id = "tx-ok", Active = true }),
            Entry(Bundle.HTTPVerb.GET, "Foo/1"));
        var (response, _) = await PostBundleAsync(bundle);
        await AssertOutcomeAsync(response, HttpStatusCode.NotFound, "entry 1", "Foo");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_OneEntryMissingResource_StoresNothing()
    {
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            Entry(Bundle.HTTPVerb.POST, "Patient", new Patient { Active = true }),
            Entry(Bundle.HTTPVerb.PUT, "Patient/x"));
        var (response, _) = await PostBundleAsync(bundle);
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "entry 1");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_OneEntryWithInvalidResourceInBody_StoresNothing()
    {
        const string body = """
            {"resourceType":"Bundle","type":"transaction","entry":[
              {"resource":{"resourceType":"Patient","id":"good","active":true},"request":{"method":"PUT","url":"Patient/good"}},
              {"resource":{"resourceType":"Patient","id":"bad","birthDate":"not-a-date"},"request":{"method":"PUT","url":"Patient/bad"}}
            ]}
            """;
        using var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(body));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "not-a-date");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_NestedBundleEntry_Returns400AndStoresNothing()
    {
        var inner = NewBundle(Bundle.BundleType.Transaction, Entry(Bundle.HTTPVerb.POST, "Patient", new Patient { Active = true }));
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            Entry(Bundle.HTTPVerb.POST, "Patient", new Patient { Active = true }),
            Entry(Bundle.HTTPVerb.POST, "/", inner));
        var (response, _) = await PostBundleAsync(bundle);
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "nested");
        await _host.AssertNothingStoredAsync();
    }

    // ---- transaction: references ----------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task Transaction_UrnUuidFullUrls_AreReplacedEverywhereByAssignedIds()
    {
        const string patientUrn = "urn:uuid:0c3b0c6e-8f7e-4a55-9a0e-6c1f1b8f6f01";
        const string encounterUrn = "urn:uuid:0c3b0c6e-8f7e-4a55-9a0e-6c1f1b8f6f02";
        const string practitionerUrl = "http://example.org/fhir/Practitioner/abc";
        var observation = new Observation
        {
            Status = ObservationStatus.Final,
            Code = new CodeableConcept("http://loinc.org", "8867-4"),
            Subject = new ResourceReference(patientUrn),
            Encounter = new ResourceReference(encounterUrn),
            Performer = [new ResourceReference(practitionerUrl), new ResourceReference("#contained-org")],
            Contained = [new Organization { Id = "contained-org", Name = "Lab", PartOf = new ResourceReference(patientUrn.Replace("01", "03", StringComparison.Ordinal)) }],
            Extension = [new Extension("http://example.org/ext/ref", new ResourceReference(encounterUrn))],
        };
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            Entry(Bundle.HTTPVerb.POST, "Observation", observation),
            Entry(Bundle.HTTPVerb.POST, "Encounter", new Encounter { Status = Encounter.EncounterStatus.Finished, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"), Subject = new ResourceReference(patientUrn) }, encounterUrn),
            Entry(Bundle.HTTPVerb.POST, "Patient", PatientWithIdentifier("urn-1"), patientUrn),
            Entry(Bundle.HTTPVerb.PUT, "Practitioner/abc", new Practitioner { Id = "abc", Active = true }, practitionerUrl),
            Entry(Bundle.HTTPVerb.POST, "Organization", new Organization { Name = "Parent", Active = true }, patientUrn.Replace("01", "03", StringComparison.Ordinal)));
        var (response, result) = await PostBundleAsync(bundle);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var obsId = result!.Entry[0].Resource.Id;
        var encounterId = result.Entry[1].Resource.Id;
        var patientId = result.Entry[2].Resource.Id;
        var orgId = result.Entry[4].Resource.Id;
        Assert.Equal(result.Entry[2].FullUrl, $"{_host.BaseUrl}/Patient/{patientId}");

        var stored = await _host.GetAsync<Observation>($"Observation/{obsId}");
        Assert.Equal($"Patient/{patientId}", stored.Subject.Reference);
        Assert.Equal($"Encounter/{encounterId}", stored.Encounter.Reference);
        Assert.Equal("Practitioner/abc", stored.Performer[0].Reference);
        Assert.Equal("#contained-org", stored.Performer[1].Reference);
        Assert.Equal($"Organization/{orgId}", ((Organization)stored.Contained[0]).PartOf.Reference);
        Assert.Equal($"Encounter/{encounterId}", ((ResourceReference)stored.Extension[0].Value).Reference);
        Assert.Equal($"Patient/{patientId}", (await _host.GetAsync<Encounter>($"Encounter/{encounterId}")).Subject.Reference);
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_UrnReferenceWithoutMatchingEntry_Returns400AndStoresNothing()
    {
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            Entry(Bundle.HTTPVerb.POST, "Observation", new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4"), Subject = new ResourceReference("urn:uuid:11111111-2222-3333-4444-555555555555") }));
        var (response, _) = await PostBundleAsync(bundle);
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "urn:uuid:11111111-2222-3333-4444-555555555555");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_DuplicateFullUrl_Returns400AndStoresNothing()
    {
        const string urn = "urn:uuid:0c3b0c6e-8f7e-4a55-9a0e-6c1f1b8f6faa";
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            Entry(Bundle.HTTPVerb.POST, "Patient", new Patient { Active = true }, urn),
            Entry(Bundle.HTTPVerb.POST, "Patient", new Patient { Active = false }, urn));
        var (response, _) = await PostBundleAsync(bundle);
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "more than once");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_ConditionalReference_IsResolvedToTheOneMatch()
    {
        // Waits on search: two patients exist and only one has the identifier.
        var other = await _host.CreateAsync(PatientWithIdentifier("cr-other"));
        var target = await _host.CreateAsync(PatientWithIdentifier("cr-1"));
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            Entry(Bundle.HTTPVerb.POST, "Observation", new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4"), Subject = new ResourceReference("Patient?identifier=http://example.org/mrn|cr-1") }));
        var (response, result) = await PostBundleAsync(bundle);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stored = await _host.GetAsync<Observation>($"Observation/{result!.Entry[0].Resource.Id}");
        Assert.Equal($"Patient/{target.Id}", stored.Subject.Reference);
        Assert.NotEqual($"Patient/{other.Id}", stored.Subject.Reference);
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_ConditionalReferenceMatchingNothing_Returns412AndStoresNothing()
    {
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            Entry(Bundle.HTTPVerb.POST, "Observation", new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4"), Subject = new ResourceReference("Patient?identifier=http://example.org/mrn|none") }));
        var (response, _) = await PostBundleAsync(bundle);
        await AssertOutcomeAsync(response, HttpStatusCode.PreconditionFailed, "matched no resource");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_ConditionalReferenceMatchingMany_Returns412AndStoresNothing()
    {
        await _host.CreateAsync(PatientWithIdentifier("many"));
        await _host.CreateAsync(PatientWithIdentifier("many"));
        var before = await _host.CountVersionsAsync();
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            Entry(Bundle.HTTPVerb.POST, "Observation", new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4"), Subject = new ResourceReference("Patient?identifier=http://example.org/mrn|many") }));
        var (response, _) = await PostBundleAsync(bundle);
        await AssertOutcomeAsync(response, HttpStatusCode.PreconditionFailed, "more than one");
        Assert.Equal(before, await _host.CountVersionsAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_ConditionalCreateMatchingExisting_ReferencesTheExistingResource()
    {
        var existing = await _host.CreateAsync(PatientWithIdentifier("cc-1"));
        const string urn = "urn:uuid:3a0a7a3c-6b4e-4d7c-9a55-1a2b3c4d5e6f";
        var create = Entry(Bundle.HTTPVerb.POST, "Patient", PatientWithIdentifier("cc-1"), urn);
        create.Request.IfNoneExist = "identifier=http://example.org/mrn|cc-1";
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            create,
            Entry(Bundle.HTTPVerb.POST, "Observation", new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4"), Subject = new ResourceReference(urn) }));
        var (response, result) = await PostBundleAsync(bundle);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(200, StatusOf(result!.Entry[0]));
        Assert.Equal(existing.Id, result.Entry[0].Resource.Id);
        var stored = await _host.GetAsync<Observation>($"Observation/{result.Entry[1].Resource.Id}");
        Assert.Equal($"Patient/{existing.Id}", stored.Subject.Reference);
        Assert.Equal(1, (await _host.GetAsync<Bundle>("Patient/_history")).Total);
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_ConditionalUpdateAndDeleteEntries_UseTheirCriteria()
    {
        // Waits on search: each criteria must select only its own patient.
        var updateTarget = await _host.CreateAsync(PatientWithIdentifier("tu-1"));
        var deleteTarget = await _host.CreateAsync(PatientWithIdentifier("td-1"));
        var bystander = await _host.CreateAsync(PatientWithIdentifier("tb-1"));
        var body = PatientWithIdentifier("tu-1");
        body.Active = true;
        var bundle = NewBundle(
            Bundle.BundleType.Transaction,
            Entry(Bundle.HTTPVerb.PUT, "Patient?identifier=http://example.org/mrn|tu-1", body),
            Entry(Bundle.HTTPVerb.DELETE, "Patient?identifier=http://example.org/mrn|td-1"));
        var (response, result) = await PostBundleAsync(bundle);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([200, 204], result!.Entry.Select(StatusOf));
        Assert.True((await _host.GetAsync<Patient>($"Patient/{updateTarget.Id}")).Active);
        Assert.Equal(HttpStatusCode.Gone, (await _host.Client.GetAsync($"Patient/{deleteTarget.Id}")).StatusCode);
        Assert.Equal("1", (await _host.GetAsync<Patient>($"Patient/{bystander.Id}")).Meta.VersionId);
    }

    /// <summary>Records the Bundle entries (method and URL) in the order the pipeline sees them.</summary>
    public sealed class EntryRecorder : IFhirInteractionFilter
    {
        private readonly ConcurrentQueue<(string Method, string Url)> _entries = new();

        public IReadOnlyList<(string Method, string Url)> Entries => [.. _entries];

        public void Clear() => _entries.Clear();

        public ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next)
        {
            if (interaction.Parent is not null)
            {
                _entries.Enqueue((interaction.Method, interaction.RelativeUrl));
            }

            return next(interaction);
        }
    }
}
