using System.Net;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Igia.Fhir.Client;
using Igia.Fhir.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Task = System.Threading.Tasks.Task;

namespace Igia.Fhir.Tests.Client;

/// <summary>Every helper of the client against the Igia FHIR server on Kestrel, over real HTTP.</summary>
public sealed class ClientInteractionTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;
    private ServiceProvider _services = null!;
    private IgiaFhirClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await FhirTestHost.StartAsync(configureFhir: f => f.AddOperation<TestEverythingOperation>().AddOperation<TestValidateOperation>().AddOperation<TestWrapOperation>());
        _services = ClientTestServices.Build(_host.BaseUrl);
        _client = _services.Client();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _services.DisposeAsync();
        await _host.DisposeAsync();
    }

    private static Patient NewPatient(string family, string? identifier = null) => new()
    {
        Name = [new HumanName { Family = family }],
        Identifier = identifier is null ? [] : [new Identifier("urn:test:mrn", identifier)],
        Active = true,
    };

    [Fact]
    public async Task CreateAsync_ThenReadAsync_RoundTripsOverJson()
    {
        var created = await _client.CreateAsync(NewPatient("Chalmers"));
        var read = await _client.ReadAsync<Patient>($"Patient/{created!.Id}");

        Assert.Equal("Chalmers", read!.Name[0].Family);
        Assert.Equal("1", read.Meta.VersionId);
    }

    [Fact]
    public async Task ReadAsync_UnknownId_ThrowsFhirClientExceptionWith404AndOutcome()
    {
        var e = await Assert.ThrowsAsync<FhirClientException>(() => _client.ReadAsync<Patient>("Patient/does-not-exist"));

        Assert.Equal(FhirClientErrorKind.HttpError, e.Kind);
        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
        Assert.NotNull(e.Outcome);
        Assert.Equal("read", e.Interaction);
        Assert.Equal("Patient", e.ResourceType);
        Assert.Equal(1, e.Attempts);
        Assert.Contains("404", e.Message);
        Assert.IsAssignableFrom<FhirOperationException>(e);
    }

    [Fact]
    public async Task ReadAsync_DeletedResource_ThrowsWith410()
    {
        var created = await _client.CreateAsync(NewPatient("Gone"));
        await _client.DeleteAsync($"Patient/{created!.Id}");

        var e = await Assert.ThrowsAsync<FhirClientException>(() => _client.ReadAsync<Patient>($"Patient/{created.Id}"));

        Assert.Equal(HttpStatusCode.Gone, e.StatusCode);
    }

    [Fact]
    public async Task ReadAsync_IfNoneMatchCurrentVersion_ThrowsNotModified()
    {
        var created = await _client.CreateAsync(NewPatient("Cached"));

        var e = await Assert.ThrowsAsync<FhirClientException>(() => _client.ReadAsync<Patient>($"Patient/{created!.Id}", ifNoneMatch: "W/\"1\""));

        Assert.Equal(FhirClientErrorKind.HttpError, e.Kind);
        Assert.Equal(HttpStatusCode.NotModified, e.StatusCode);
    }

    [Fact]
    public async Task UpdateWithRetryAsync_PreferMinimal_ReturnsTheChangeWithTheNewVersion()
    {
        var created = await _client.CreateAsync(NewPatient("Minimal"));
        await using var services = ClientTestServices.Build(_host.BaseUrl, o => o.PreferReturn = ReturnPreference.Minimal, name: "minimal");
        using var client = services.Client("minimal");

        var updated = await client.UpdateWithRetryAsync<Patient>(created!.Id, p => p.Active = false);

        Assert.False(updated.Active);
        Assert.Equal("2", updated.Meta.VersionId);
    }

    [Fact]
    public async Task UpdateWithRetryAsync_NoConflict_AppliesTheChangeWithIfMatch()
    {
        var created = await _client.CreateAsync(NewPatient("Before"));

        var updated = await _client.UpdateWithRetryAsync<Patient>(created!.Id, p => p.Name[0].Family = "After");

        Assert.Equal("After", updated.Name[0].Family);
        Assert.Equal("2", updated.Meta.VersionId);
        Assert.Equal("After", (await _host.GetAsync<Patient>($"Patient/{created.Id}")).Name[0].Family);
    }

    [Fact]
    public async Task UpdateWithRetryAsync_ConcurrentWriters_EveryChangeSurvives()
    {
        var created = await _client.CreateAsync(NewPatient("Shared"));
        var services = ClientTestServices.Build(_host.BaseUrl, o => o.MaxUpdateAttempts = 100, name: "contended");
        await using var _ = services;

        await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            using var client = services.Client("contended");
            await client.UpdateWithRetryAsync<Patient>(created!.Id, p => p.Identifier.Add(new Identifier("urn:test:writer", i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }));

        var final = await _client.ReadAsync<Patient>($"Patient/{created!.Id}");
        Assert.Equal(16, final!.Identifier.Count);
        Assert.Equal(16, final.Identifier.Select(x => x.Value).Distinct().Count());
        Assert.Equal("17", final.Meta.VersionId);
    }

    [Fact]
    public async Task UpdateWithRetryAsync_UnknownId_ThrowsNotFound()
    {
        var e = await Assert.ThrowsAsync<FhirClientException>(() => _client.UpdateWithRetryAsync<Patient>("nope", p => p.Active = false));

        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
    }

    [Fact]
    public async Task CreateIfNoneExistAsync_NoMatchThenMatch_CreatesOnceAndThenReturnsTheExisting()
    {
        var condition = new SearchParams().Where("identifier=urn:test:mrn|A-1");

        var first = await _client.CreateIfNoneExistAsync(NewPatient("First", "A-1"), condition);
        var second = await _client.CreateIfNoneExistAsync(NewPatient("Second", "A-1"), condition);

        Assert.True(first.Created);
        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.False(second.Created);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(first.Resource!.Id, second.Resource!.Id);
        Assert.Equal("First", second.Resource.Name[0].Family);
        Assert.Equal("1", second.VersionId);
    }

    [Fact]
    public async Task UpdateWhereAsync_NoMatchThenOneMatch_CreatesThenUpdates()
    {
        var condition = new SearchParams().Where("identifier=urn:test:mrn|B-1");

        var created = await _client.UpdateWhereAsync(NewPatient("One", "B-1"), condition);
        var updated = await _client.UpdateWhereAsync(NewPatient("Two", "B-1"), condition);

        Assert.True(created.Created);
        Assert.False(updated.Created);
        Assert.Equal(created.Resource!.Id, updated.Resource!.Id);
        Assert.Equal("Two", updated.Resource.Name[0].Family);
        Assert.Equal("2", updated.VersionId);
    }

    [Fact]
    public async Task DeleteWhereAsync_OneMatch_DeletesIt()
    {
        var created = await _client.CreateAsync(NewPatient("Doomed", "C-1"));

        await _client.DeleteWhereAsync<Patient>(new SearchParams().Where("identifier=urn:test:mrn|C-1"));

        var e = await Assert.ThrowsAsync<FhirClientException>(() => _client.ReadAsync<Patient>($"Patient/{created!.Id}"));
        Assert.Equal(HttpStatusCode.Gone, e.StatusCode);
    }

    [Fact]
    public async Task TransactionAsync_BuiltWithTransactionBuilder_CreatesEveryEntry()
    {
        var response = await _client.TransactionAsync(b =>
        {
            b.Create(NewPatient("Tx1"));
            b.Create(NewPatient("Tx2"));
            b.Create(new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4") });
        });

        Assert.Equal(Bundle.BundleType.TransactionResponse, response.Type);
        Assert.Equal(3, response.Entry.Count);
        Assert.All(response.Entry, e => Assert.StartsWith("201", e.Response.Status));
    }

    [Fact]
    public async Task BatchAsync_MixedEntries_ReportsEachEntryOnItsOwn()
    {
        var created = await _client.CreateAsync(NewPatient("Batch"));

        var response = await _client.BatchAsync(b =>
        {
            b.Read("Patient", created!.Id);
            b.Read("Patient", "missing");
            b.Create(NewPatient("BatchNew"));
        });

        Assert.Equal(Bundle.BundleType.BatchResponse, response.Type);
        Assert.StartsWith("200", response.Entry[0].Response.Status);
        Assert.StartsWith("404", response.Entry[1].Response.Status);
        Assert.StartsWith("201", response.Entry[2].Response.Status);
    }

    [Fact]
    public async Task EverythingAsync_Patient_ReturnsTheBundle()
    {
        var created = await _client.CreateAsync(NewPatient("Everything"));

        var bundle = await _client.EverythingAsync(created!.Id);
        var since = new Parameters();
        since.Add("_since", new FhirDateTime(2020, 1, 1));
        var withSince = await _client.EverythingAsync(created.Id, since);

        Assert.Equal(Bundle.BundleType.Searchset, bundle.Type);
        Assert.Equal(created.Id, Assert.Single(bundle.Entry).Resource.Id);
        Assert.Contains(withSince.Meta.Tag, t => t.Code == "since-received");
    }

    [Fact]
    public async Task ValidateAsync_InvalidAndValidResource_ReturnsTheOutcomes()
    {
        var invalid = await _client.ValidateAsync(new Patient { Active = true });
        var valid = await _client.ValidateAsync(NewPatient("Valid"), profile: "http://hl7.org/fhir/StructureDefinition/Patient");

        Assert.Contains(invalid.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error && i.Diagnostics.Contains("Patient.name"));
        Assert.DoesNotContain(valid.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error);
    }

    [Fact]
    public async Task InvokeOperationAsync_CustomOperation_ReturnsParametersAndUnwrapsTypedResult()
    {
        var input = new Parameters();
        input.Parameter.Add(new Parameters.ParameterComponent { Name = "resource", Resource = NewPatient("Wrapped") });

        var raw = await _client.InvokeOperationAsync("$wrap", input);
        var typed = await _client.InvokeOperationAsync<Patient>("wrap", input);

        Assert.IsType<Parameters>(raw);
        Assert.Equal("Wrapped", typed!.Name[0].Family);
    }

    [Fact]
    public async Task InvokeOperationAsync_UnknownOperation_ThrowsWith404()
    {
        var e = await Assert.ThrowsAsync<FhirClientException>(() => _client.InvokeOperationAsync("no-such-op", new Parameters { Parameter = [new Parameters.ParameterComponent { Name = "x", Value = new FhirString("y") }] }, "Patient"));

        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
        Assert.Equal("operation", e.Interaction);
    }

    [Fact]
    public async Task HistoryAsync_AfterUpdates_FollowsPagesWithPagesAsync()
    {
        var created = await _client.CreateAsync(NewPatient("V1"));
        for (var i = 2; i <= 5; i++)
        {
            var n = i;
            await _client.UpdateWithRetryAsync<Patient>(created!.Id, p => p.Name[0].Family = $"V{n}");
        }

        var first = await _client.HistoryAsync($"Patient/{created!.Id}", pageSize: 2);
        var versions = new List<string>();
        await foreach (var page in _client.PagesAsync(first!))
        {
            versions.AddRange(page.Entry.Select(e => e.Resource?.Meta?.VersionId ?? e.Response?.Etag ?? "?"));
        }

        Assert.Equal(5, versions.Count);
    }
}
