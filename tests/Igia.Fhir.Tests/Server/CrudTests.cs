using System.Net;
using System.Net.Http.Headers;
using Hl7.Fhir.Model;
using Igia.Fhir.Tests.Infrastructure;

namespace Igia.Fhir.Tests.Server;

public sealed class CrudTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;

    public async System.Threading.Tasks.Task InitializeAsync() => _host = await FhirTestHost.StartAsync();

    public async System.Threading.Tasks.Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async System.Threading.Tasks.Task Create_ThenRead_ReturnsResourceWithMetaAndHeaders()
    {
        using var created = await _host.Client.PostAsync("Patient", FhirTestHost.JsonContent(new Patient { Name = [new HumanName { Family = "Chalmers" }] }));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.NotNull(created.Headers.Location);
        Assert.Matches("/fhir/Patient/[^/]+/_history/1$", created.Headers.Location!.ToString());
        Assert.Equal("W/\"1\"", created.Headers.ETag?.ToString());
        var patient = await FhirTestHost.ReadAsync<Patient>(created);
        Assert.Equal("1", patient.Meta.VersionId);
        Assert.NotNull(patient.Meta.LastUpdated);

        using var read = await _host.Client.GetAsync($"Patient/{patient.Id}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("application/fhir+json", read.Content.Headers.ContentType?.MediaType);
        var back = await FhirTestHost.ReadAsync<Patient>(read);
        Assert.Equal("Chalmers", back.Name[0].Family);
        Assert.NotNull(read.Content.Headers.LastModified);
    }

    [Fact]
    public async System.Threading.Tasks.Task Update_WithStaleIfMatch_Returns412AndKeepsVersion()
    {
        var patient = await _host.CreateAsync(new Patient { Active = true });
        patient.Active = false;
        using var ok = new HttpRequestMessage(HttpMethod.Put, $"Patient/{patient.Id}") { Content = FhirTestHost.JsonContent(patient) };
        ok.Headers.IfMatch.Add(new EntityTagHeaderValue("\"1\"", true));
        using var first = await _host.Client.SendAsync(ok);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("W/\"2\"", first.Headers.ETag?.ToString());

        using var stale = new HttpRequestMessage(HttpMethod.Put, $"Patient/{patient.Id}") { Content = FhirTestHost.JsonContent(patient) };
        stale.Headers.IfMatch.Add(new EntityTagHeaderValue("\"1\"", true));
        using var second = await _host.Client.SendAsync(stale);
        Assert.Equal(HttpStatusCode.PreconditionFailed, second.StatusCode);
        var outcome = await FhirTestHost.ReadAsync<OperationOutcome>(second);
        Assert.Contains("If-Match", outcome.Issue[0].Diagnostics);
        Assert.Equal("2", (await _host.GetAsync<Patient>($"Patient/{patient.Id}")).Meta.VersionId);
    }

    [Fact]
    public async System.Threading.Tasks.Task Delete_ThenRead_Returns410_AndVReadOfOldVersionWorks()
    {
        var patient = await _host.CreateAsync(new Patient { Active = true });
        using var deleted = await _host.Client.DeleteAsync($"Patient/{patient.Id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var read = await _host.Client.GetAsync($"Patient/{patient.Id}");
        Assert.Equal(HttpStatusCode.Gone, read.StatusCode);
        var v1 = await _host.GetAsync<Patient>($"Patient/{patient.Id}/_history/1");
        Assert.True(v1.Active);
        using var v2 = await _host.Client.GetAsync($"Patient/{patient.Id}/_history/2");
        Assert.Equal(HttpStatusCode.Gone, v2.StatusCode);
    }

    [Fact]
    public async System.Threading.Tasks.Task History_Instance_ListsEveryVersionNewestFirst()
    {
        var patient = await _host.CreateAsync(new Patient { Active = true });
        patient.Active = false;
        using (await _host.Client.PutAsync($"Patient/{patient.Id}", FhirTestHost.JsonContent(patient)))
        {
        }

        using (await _host.Client.DeleteAsync($"Patient/{patient.Id}"))
        {
        }

        var history = await _host.GetAsync<Bundle>($"Patient/{patient.Id}/_history");
        Assert.Equal(Bundle.BundleType.History, history.Type);
        Assert.Equal(3, history.Total);
        Assert.Equal([Bundle.HTTPVerb.DELETE, Bundle.HTTPVerb.PUT, Bundle.HTTPVerb.POST], history.Entry.Select(e => e.Request.Method!.Value));
        Assert.Null(history.Entry[0].Resource);
    }

    [Fact]
    public async System.Threading.Tasks.Task Read_UnknownId_Returns404WithOutcome()
    {
        using var response = await _host.Client.GetAsync("Patient/does-not-exist");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var outcome = await FhirTestHost.ReadAsync<OperationOutcome>(response);
        Assert.Equal(OperationOutcome.IssueType.NotFound, outcome.Issue[0].Code);
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_WithUrnReferences_ResolvesThemAndCommitsAll()
    {
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new Bundle.EntryComponent
                {
                    FullUrl = "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
                    Resource = new Patient { Active = true },
                    Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Patient" },
                },
                new Bundle.EntryComponent
                {
                    FullUrl = "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059",
                    Resource = new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4"), Subject = new ResourceReference("urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a") },
                    Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Observation" },
                },
            ],
        };
        using var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(bundle));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await FhirTestHost.ReadAsync<Bundle>(response);
        Assert.Equal(Bundle.BundleType.TransactionResponse, result.Type);
        Assert.All(result.Entry, e => Assert.StartsWith("201", e.Response.Status));
        var observation = (Observation)result.Entry[1].Resource;
        var patientId = result.Entry[0].Resource.Id;
        Assert.Equal($"Patient/{patientId}", observation.Subject.Reference);
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_WithOneBadEntry_StoresNothing()
    {
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new Bundle.EntryComponent { Resource = new Patient { Id = "tx-good", Active = true }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = "Patient/tx-good" } },
                new Bundle.EntryComponent { Resource = new Patient { Id = "other" }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = "Patient/tx-bad" } },
            ],
        };
        using var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(bundle));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var outcome = await FhirTestHost.ReadAsync<OperationOutcome>(response);
        Assert.Contains("entry 1", outcome.Issue[0].Diagnostics);
        using var read = await _host.Client.GetAsync("Patient/tx-good");
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async System.Threading.Tasks.Task Metadata_ReturnsCapabilityStatement()
    {
        var cs = await _host.GetAsync<CapabilityStatement>("metadata");
        Assert.Equal(FHIRVersion.N4_0_1, cs.FhirVersion);
        var patient = cs.Rest[0].Resource.Single(r => r.Type == "Patient");
        Assert.Contains(patient.Interaction, i => i.Code == CapabilityStatement.TypeRestfulInteraction.Read);
        Assert.Contains(patient.SearchParam, p => p.Name == "birthdate");
    }
}
