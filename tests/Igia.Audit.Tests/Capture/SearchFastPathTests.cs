using System.Collections.Concurrent;
using Hl7.Fhir.Model;
using Igia.Audit.Tests.Infrastructure;
using Igia.Fhir.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Audit.Tests.Capture;

/// <summary>
/// Audit finds the patients of a search's results in the stored JSON of its entries (<see cref="FhirResponse.StoredEntries"/>)
/// without parsing them, so that a search with audit on keeps the server's fast path (the stored JSON spliced into the
/// answer), and it still records one PatientQuery per patient, includes and all.
/// </summary>
public sealed class SearchFastPathTests : IAsyncLifetime
{
    private AuditTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await AuditTestHost.StartAsync(configureServices: s => s.AddSingleton<IFhirInteractionFilter, OutsideAuditProbe>());
        await _host.PutAsync(new Patient { Id = "sp1" });
        await _host.PutAsync(new Patient { Id = "sp2" });
        await _host.PutAsync(new Organization { Id = "sorg" });
        await _host.PutAsync(Observation("so1", "sp1"));
        await _host.PutAsync(Observation("so2", "sp2"));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static Observation Observation(string id, string patient) => new()
    {
        Id = id,
        Status = ObservationStatus.Final,
        Code = new CodeableConcept("http://loinc.org", "29463-7", "Body weight"),
        Subject = new ResourceReference("Patient/" + patient),
        Performer = [new ResourceReference("Organization/sorg")],
    };

    [Fact]
    public async Task Search_WithAuditOn_LeavesTheResultsUnparsedAndRecordsEachPatient()
    {
        var (requestId, bundle) = await SearchAsync("Observation?code=29463-7");

        Assert.Equal(2, bundle.Entry.Count);
        Assert.True(OutsideAuditProbe.Seen.TryGetValue(requestId, out var unparsed), "The probe outside audit saw no search.");
        Assert.Equal(2, unparsed);
        Assert.Equal(["Patient/sp1", "Patient/sp2"], PatientsOf(requestId));
        foreach (var ev in _host.EventsFor(requestId))
        {
            BalpValidator.AssertValid(ev);
        }
    }

    [Fact]
    public async Task Search_WithRevIncludes_RecordsThePatientsOfTheIncludedEntries()
    {
        var (requestId, bundle) = await SearchAsync("Organization?_id=sorg&_revinclude=Observation:performer");

        Assert.Equal(2, bundle.Entry.Count(e => e.Search.Mode == Bundle.SearchEntryMode.Include));
        Assert.Equal(3, OutsideAuditProbe.Seen[requestId]);
        Assert.Equal(["Patient/sp1", "Patient/sp2"], PatientsOf(requestId));
    }

    [Fact]
    public async Task Search_WithoutPatients_RecordsOneQueryWithoutPatient()
    {
        var requestId = Guid.NewGuid().ToString();
        using var response = await _host.SendAsync(HttpMethod.Get, "Organization?_id=sorg", requestId: requestId);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        var ev = Assert.Single(_host.EventsFor(requestId));
        Assert.Null(PatientOf(ev));
        Assert.Equal(1, OutsideAuditProbe.Seen[requestId]);
    }

    /// <summary>Runs a search under a new request id; asserts it succeeded.</summary>
    private async Task<(string RequestId, Bundle Bundle)> SearchAsync(string query)
    {
        var requestId = Guid.NewGuid().ToString();
        using var response = await _host.SendAsync(HttpMethod.Get, query, requestId: requestId);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (requestId, await AuditTestHost.ReadAsync<Bundle>(response));
    }

    /// <summary>The patients of a request's events, in order.</summary>
    private List<string?> PatientsOf(string requestId) => _host.EventsFor(requestId).Select(PatientOf).Order(StringComparer.Ordinal).ToList();

    private static string? PatientOf(AuditEvent ev) => ev.Entity.FirstOrDefault(e => e.Role?.Code == "1")?.What?.Reference;

    /// <summary>Runs outside audit: records, per request id, how many unparsed entries a search's answer still had after audit.</summary>
    private sealed class OutsideAuditProbe : IFhirInteractionFilter
    {
        public static readonly ConcurrentDictionary<string, int> Seen = new();

        public int Order => FhirFilterOrder.Audit - 1;

        public async ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next)
        {
            var response = await next(interaction);
            if (interaction.Kind == FhirInteractionKind.Search && interaction.HttpContext?.Request.Headers["X-Request-Id"].ToString() is { Length: > 0 } id)
            {
                Seen[id] = response.StoredEntries?.Count ?? -1;
            }

            return response;
        }
    }
}
