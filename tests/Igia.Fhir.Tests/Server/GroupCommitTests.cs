using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Igia.Fhir.Tests.Server;

/// <summary>
/// Concurrent writes share SQLite transactions (group commit): each write is its own savepoint, so a failing one
/// (a transaction Bundle with a bad entry, an If-Match conflict) drops only its own changes, and every acknowledged
/// write is readable afterwards.
/// </summary>
public sealed class GroupCommitTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;

    public async Task InitializeAsync() => _host = await FhirTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static Bundle FailingTransaction(string family) => new()
    {
        Type = Bundle.BundleType.Transaction,
        Entry =
        [
            new Bundle.EntryComponent
            {
                FullUrl = $"urn:uuid:{Guid.NewGuid()}",
                Resource = new Patient { Name = [new HumanName { Family = family }] },
                Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Patient" },
            },
            new Bundle.EntryComponent
            {
                Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.DELETE, Url = "Patient/does-not-exist-and-if-match" },
                Resource = null,
            },
            new Bundle.EntryComponent
            {
                FullUrl = $"urn:uuid:{Guid.NewGuid()}",
                Resource = new Patient { Name = [new HumanName { Family = family }] },
                Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = "Patient/group-commit-fixed", IfMatch = "W/\"41\"" },
            },
        ],
    };

    [Fact]
    public async Task ParallelCreates_WithFailingTransactionsBetween_KeepEveryAcknowledgedWriteAndNothingOfTheFailed()
    {
        var creates = Enumerable.Range(0, 64).Select(async i =>
        {
            using var response = await _host.Client.PostAsync("Patient", FhirTestHost.JsonContent(new Patient { Name = [new HumanName { Family = "Grouped", Given = [$"n{i}"] }] }));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return (await FhirTestHost.ReadAsync<Patient>(response)).Id;
        }).ToList();
        var failing = Enumerable.Range(0, 8).Select(async _ =>
        {
            using var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(FailingTransaction("Rolledback")));
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"{(int)response.StatusCode}");
        }).ToList();

        var ids = await Task.WhenAll(creates);
        await Task.WhenAll(failing);

        Assert.Equal(64, ids.Distinct().Count());
        foreach (var id in ids)
        {
            using var read = await _host.Client.GetAsync($"Patient/{id}");
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }

        var grouped = await _host.GetAsync<Bundle>("Patient?family=grouped&_summary=count");
        Assert.Equal(64, grouped.Total);
        var rolledBack = await _host.GetAsync<Bundle>("Patient?family=rolledback&_summary=count");
        Assert.Equal(0, rolledBack.Total);
        using var fixedRead = await _host.Client.GetAsync("Patient/group-commit-fixed");
        Assert.Equal(HttpStatusCode.NotFound, fixedRead.StatusCode);
    }

    [Fact]
    public async Task ParallelIfMatchUpdates_InGroups_StillOneWinnerPerVersion()
    {
        var patient = await _host.CreateAsync(new Patient { Active = true });
        var results = await Task.WhenAll(Enumerable.Range(0, 32).Select(async i =>
        {
            var copy = new Patient { Id = patient.Id, Active = i % 2 == 0 };
            using var request = new HttpRequestMessage(HttpMethod.Put, $"Patient/{patient.Id}") { Content = FhirTestHost.JsonContent(copy) };
            request.Headers.TryAddWithoutValidation("If-Match", "W/\"1\"");
            using var response = await _host.Client.SendAsync(request);
            return response.StatusCode;
        }));

        Assert.Equal(1, results.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(31, results.Count(s => s == HttpStatusCode.PreconditionFailed));
        Assert.Equal("2", (await _host.GetAsync<Patient>($"Patient/{patient.Id}")).Meta.VersionId);
    }
}
