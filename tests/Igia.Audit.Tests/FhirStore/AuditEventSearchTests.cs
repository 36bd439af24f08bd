using Hl7.Fhir.Model;
using Igia.Audit.Tests.Infrastructure;

namespace Igia.Audit.Tests.FhirStore;

/// <summary>
/// "Who looked at this patient's record" in one search: the AuditEvents the FHIR-store sink writes are found by patient,
/// agent, date, type, subtype and outcome. These depend on the FHIR store's search (being finished in Igia.Fhir).
/// </summary>
public sealed class AuditEventSearchTests : IAsyncLifetime
{
    private AuditTestHost _host = null!;
    private DateTimeOffset _start;
    private List<string> _setupIds = [];

    public async Task InitializeAsync()
    {
        _host = await AuditTestHost.StartAsync(configureAudit: a => a.WriteToFhirStore());
        _start = DateTimeOffset.UtcNow.AddSeconds(-1);
        await _host.PutAsync(new Patient { Id = "s1" });
        await _host.PutAsync(new Patient { Id = "s2" });
        var drA = TestAuthenticationHandler.Principal(sub: "a", fhirUser: "Practitioner/dr-a");
        var drB = TestAuthenticationHandler.Principal(sub: "b", fhirUser: "Practitioner/dr-b");
        using (await _host.SendAsync(HttpMethod.Get, "Patient/s1", principal: drA)) { }
        using (await _host.SendAsync(HttpMethod.Get, "Patient/s1", principal: drB)) { }
        using (await _host.SendAsync(HttpMethod.Get, "Patient/s2", principal: drB)) { }
        using (await _host.SendAsync(HttpMethod.Get, "Patient/forbidden-s", principal: drA)) { }
        await FhirStoreSinkTests.WaitForSinkAsync(_host);
        _setupIds = _host.ReadAuditLog().Select(e => e.Event.Id).ToList();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<List<AuditEvent>> SearchAsync(string query)
    {
        var bundle = await AuditTestHost.ReadAsync<Bundle>(await _host.Client.GetAsync("AuditEvent?" + query + "&_count=1000"));
        return bundle.Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Match).Select(e => (AuditEvent)e.Resource).ToList();
    }

    private IReadOnlyList<AuditEvent> Logged(Func<AuditEvent, bool> where) => _host.ReadAuditLog().Select(e => e.Event).Where(where).ToList();

    private static void AssertSameIds(IEnumerable<AuditEvent> expected, IEnumerable<AuditEvent> actual) =>
        Assert.Equal(expected.Select(e => e.Id).Order(), actual.Select(e => e.Id).Order());

    [Fact]
    public async Task Search_ByPatient_AnswersWhoLookedAtThePatientsRecord()
    {
        var found = await SearchAsync("patient=Patient/s1&action=R");

        var readers = found.SelectMany(e => e.Agent.Where(a => a.Requestor == true).Select(a => a.Who.Reference)).Distinct().Order().ToList();
        Assert.Equal(["Practitioner/dr-a", "Practitioner/dr-b"], readers);
        AssertSameIds(Logged(e => e.Action == AuditEvent.AuditEventAction.R && e.Entity.Any(x => x.What?.Reference == "Patient/s1" && x.Role?.Code == "1")), found);
    }

    [Fact]
    public async Task Search_ByAgent_FindsThatUsersEvents()
    {
        var found = await SearchAsync("agent=Practitioner/dr-b");

        AssertSameIds(Logged(e => e.Agent.Any(a => a.Who?.Reference == "Practitioner/dr-b")), found);
    }

    [Fact]
    public async Task Search_ByDate_FindsEventsSinceThen()
    {
        var found = await SearchAsync("date=ge" + _start.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));

        Assert.All(_setupIds, id => Assert.Contains(found, e => e.Id == id));
        Assert.All(found, e => Assert.True(e.Recorded >= _start));
    }

    [Fact]
    public async Task Search_ByTypeSubtypeAndOutcome_FindsTheDeniedRead()
    {
        var found = await SearchAsync("type=http://terminology.hl7.org/CodeSystem/audit-event-type|rest&subtype=http://hl7.org/fhir/restful-interaction|read&outcome=4");

        var ev = Assert.Single(found);
        Assert.Contains(ev.Entity, e => e.What?.Reference == "Patient/forbidden-s");
    }

    [Fact]
    public async Task Search_SecurityAlerts_ByDicomType()
    {
        var found = await SearchAsync("type=http://dicom.nema.org/resources/ontology/DCM|110113");

        AssertSameIds(Logged(e => e.Type.Code == "110113"), found);
        Assert.Single(found);
    }
}
