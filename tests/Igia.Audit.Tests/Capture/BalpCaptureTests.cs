using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Audit.Tests.Infrastructure;

namespace Igia.Audit.Tests.Capture;

/// <summary>
/// Every successful FHIR interaction is recorded as the IHE BALP AuditEvent for its kind — with the agent roles exactly as
/// BALP defines them — and validates with zero errors against that profile (and OAUTHaccessTokenUse.Comprehensive when claimed).
/// </summary>
public sealed class BalpCaptureTests : IAsyncLifetime
{
    private const string Dcm = "http://dicom.nema.org/resources/ontology/DCM";
    private AuditTestHost _host = null!;
    private readonly string _principal = TestAuthenticationHandler.Principal();

    public async Task InitializeAsync()
    {
        _host = await AuditTestHost.StartAsync();
        await _host.PutAsync(new Patient { Id = "p1", Name = [new HumanName { Family = "Chalmers", Given = ["Peter"] }], BirthDate = "1974-12-25" });
        await _host.PutAsync(new Patient { Id = "p2" });
        await _host.PutAsync(new Patient { Id = "p3" });
        await _host.PutAsync(new Organization { Id = "org1", Name = "Acme" });
        await _host.PutAsync(Observation("obs1", "p1"));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static Observation Observation(string id, string patient) => new()
    {
        Id = id,
        Status = ObservationStatus.Final,
        Code = new CodeableConcept("http://loinc.org", "8867-4", "Heart rate"),
        Subject = new ResourceReference("Patient/" + patient),
    };

    private async Task<IReadOnlyList<AuditEvent>> RunAsync(HttpMethod method, string url, HttpContent? content = null, string? principal = null)
    {
        var requestId = Guid.NewGuid().ToString();
        using var response = await _host.SendAsync(method, url, content, principal ?? _principal, requestId);
        Assert.True(response.IsSuccessStatusCode, $"{method} {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var events = _host.EventsFor(requestId);
        Assert.NotEmpty(events);
        return events;
    }

    private static string Role(AuditEvent.AgentComponent agent) => agent.Type.Coding[0].Code;

    private static AuditEvent.AgentComponent Agent(AuditEvent ev, string code) => Assert.Single(ev.Agent, a => Role(a) == code);

    private static void AssertUser(AuditEvent ev, string role)
    {
        var user = Agent(ev, role);
        Assert.True(user.Requestor);
        Assert.Equal("user-1", user.Who.Identifier.Value);
        Assert.Equal("https://idp.example.org", user.Who.Identifier.System);
        Assert.Equal("Practitioner/dr-1", user.Who.Reference);
        Assert.Equal(["token-1"], user.Policy);
        var app = Agent(ev, "110150");
        Assert.Equal("app-1", app.Who.Identifier.Value);
    }

    private static void AssertNetwork(AuditEvent.AgentComponent client, AuditEvent.AgentComponent server, string baseUrl)
    {
        Assert.Equal("127.0.0.1", client.Network.Address);
        Assert.Equal(AuditEvent.AuditEventAgentNetworkType.N2, client.Network.Type);
        Assert.Equal(baseUrl, server.Network.Address);
        Assert.Equal(AuditEvent.AuditEventAgentNetworkType.N5, server.Network.Type);
    }

    private static string? PatientOf(AuditEvent ev) => ev.Entity.SingleOrDefault(e => e.Role?.Code == "1")?.What.Reference;

    [Fact]
    public async Task Read_Patient_RecordsPatientReadWithClientAsDestinationAndServerAsSource()
    {
        var ev = Assert.Single(await RunAsync(HttpMethod.Get, "Patient/p1"));

        Assert.Equal(AuditEvent.AuditEventAction.R, ev.Action);
        Assert.Equal("read", ev.Subtype.Single().Code);
        Assert.Equal(AuditEvent.AuditEventOutcome.N0, ev.Outcome);
        AssertNetwork(Agent(ev, "110152"), Agent(ev, "110153"), _host.BaseUrl);
        Assert.False(Agent(ev, "110152").Requestor);
        AssertUser(ev, "IRCP");
        Assert.Contains(ev.Entity, e => e.Role?.Code == "4" && e.What.Reference == "Patient/p1");
        Assert.Equal("Patient/p1", PatientOf(ev));
        Assert.Equal(["https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead", "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.OAUTHaccessTokenUse.Comprehensive"], ev.Meta.Profile);
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task VRead_Observation_RecordsPatientReadForItsSubject()
    {
        var ev = Assert.Single(await RunAsync(HttpMethod.Get, "Observation/obs1/_history/1"));

        Assert.Equal("vread", ev.Subtype.Single().Code);
        Assert.Equal("Patient/p1", PatientOf(ev));
        Assert.Contains(ev.Entity, e => e.Role?.Code == "4" && e.What.Reference == "Observation/obs1/_history/1");
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task Read_ResourceWithoutPatient_RecordsBasicRead()
    {
        var ev = Assert.Single(await RunAsync(HttpMethod.Get, "Organization/org1"));

        Assert.Null(PatientOf(ev));
        Assert.Equal("https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Read", ev.Meta.Profile.First());
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task Create_Observation_RecordsPatientCreateWithClientAsSourceAndUserAsAuthor()
    {
        var ev = Assert.Single(await RunAsync(HttpMethod.Post, "Observation", AuditTestHost.JsonContent(Observation("x", "p2"))));

        Assert.Equal(AuditEvent.AuditEventAction.C, ev.Action);
        Assert.Equal("create", ev.Subtype.Single().Code);
        AssertNetwork(Agent(ev, "110153"), Agent(ev, "110152"), _host.BaseUrl);
        AssertUser(ev, "AUT");
        Assert.Equal("Patient/p2", PatientOf(ev));
        Assert.Matches("^Observation/[A-Za-z0-9.-]+$", ev.Entity.Single(e => e.Role?.Code == "4").What.Reference);
        Assert.Contains("https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientCreate", ev.Meta.Profile);
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task Create_WithoutPatient_RecordsBasicCreate()
    {
        var ev = Assert.Single(await RunAsync(HttpMethod.Post, "Organization", AuditTestHost.JsonContent(new Organization { Name = "New" })));

        Assert.Null(PatientOf(ev));
        Assert.Equal("https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Create", ev.Meta.Profile.First());
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task Create_Patient_RecordsPatientCreateForTheNewPatient()
    {
        var ev = Assert.Single(await RunAsync(HttpMethod.Post, "Patient", AuditTestHost.JsonContent(new Patient { Active = true })));

        var data = ev.Entity.Single(e => e.Role?.Code == "4").What.Reference;
        Assert.Equal(data, PatientOf(ev));
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task Update_Observation_RecordsPatientUpdate()
    {
        var ev = Assert.Single(await RunAsync(HttpMethod.Put, "Observation/obs-u", AuditTestHost.JsonContent(Observation("obs-u", "p3"))));

        Assert.Equal(AuditEvent.AuditEventAction.U, ev.Action);
        Assert.Equal("update", ev.Subtype.Single().Code);
        AssertNetwork(Agent(ev, "110153"), Agent(ev, "110152"), _host.BaseUrl);
        AssertUser(ev, "AUT");
        Assert.Equal("Patient/p3", PatientOf(ev));
        Assert.Contains("https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientUpdate", ev.Meta.Profile);
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task Patch_WithMinimalReturn_RecordsPatientUpdateWithPatchSubtype()
    {
        await _host.PutAsync(Observation("obs-p", "p2"));
        var patch = new StringContent("""[{"op":"replace","path":"/status","value":"amended"}]""", Encoding.UTF8, "application/json-patch+json");
        var request = new HttpRequestMessage(HttpMethod.Patch, "Observation/obs-p") { Content = patch };
        request.Headers.Add("Prefer", "return=minimal");
        request.Headers.Add(TestAuthenticationHandler.Header, _principal);
        var requestId = Guid.NewGuid().ToString();
        request.Headers.Add("X-Request-Id", requestId);
        using var response = await _host.Client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        var ev = Assert.Single(_host.EventsFor(requestId));
        Assert.Equal("patch", ev.Subtype.Single().Code);
        Assert.Equal("Patient/p2", PatientOf(ev));
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task Delete_Observation_RecordsPatientDeleteWithClientAsApplicationAndServerAsCustodian()
    {
        await _host.PutAsync(Observation("obs-d", "p1"));
        var ev = Assert.Single(await RunAsync(HttpMethod.Delete, "Observation/obs-d"));

        Assert.Equal(AuditEvent.AuditEventAction.D, ev.Action);
        Assert.Equal("delete", ev.Subtype.Single().Code);
        var client = Agent(ev, "110150");
        Assert.Equal("app-1", client.Who.Identifier.Value);
        Assert.Equal("127.0.0.1", client.Network.Address);
        var custodian = Agent(ev, "custodian");
        Assert.Equal("http://terminology.hl7.org/CodeSystem/provenance-participant-type", custodian.Type.Coding[0].System);
        Assert.Equal(_host.BaseUrl, custodian.Network.Address);
        Assert.Equal("AUT", Role(ev.Agent.Single(a => a.Requestor == true)));
        Assert.Equal("Patient/p1", PatientOf(ev));
        Assert.Contains("https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientDelete", ev.Meta.Profile);
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task Delete_WithoutPatient_RecordsBasicDelete()
    {
        await _host.PutAsync(new Organization { Id = "org-d", Name = "Gone" });
        var ev = Assert.Single(await RunAsync(HttpMethod.Delete, "Organization/org-d"));

        Assert.Null(PatientOf(ev));
        Assert.Equal("https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Delete", ev.Meta.Profile.First());
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task Search_ByPatient_RecordsPatientQueryWithTheRequestAsQuery()
    {
        var events = await RunAsync(HttpMethod.Get, "Observation?patient=p1&code=8867-4");

        var ev = Assert.Single(events, e => PatientOf(e) == "Patient/p1");
        Assert.Equal(AuditEvent.AuditEventAction.E, ev.Action);
        Assert.Equal("search-type", ev.Subtype.Single().Code);
        AssertNetwork(Agent(ev, "110153"), Agent(ev, "110152"), _host.BaseUrl);
        AssertUser(ev, "IRCP");
        var query = ev.Entity.Single(e => e.Role?.Code == "24");
        Assert.Equal($"GET {_host.BaseUrl}/Observation?patient=p1&code=8867-4", Encoding.UTF8.GetString(query.Query));
        Assert.Null(query.What);
        Assert.Contains("https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientQuery", ev.Meta.Profile);
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task Search_ResultsSpanningPatients_RecordsOnePatientQueryPerPatient()
    {
        await _host.PutAsync(Observation("obs-m2", "p2"));
        await _host.PutAsync(Observation("obs-m3", "p3"));

        var events = await RunAsync(HttpMethod.Get, "Observation?code=8867-4");

        var patients = events.Select(PatientOf).ToList();
        Assert.Contains("Patient/p1", patients);
        Assert.Contains("Patient/p2", patients);
        Assert.Contains("Patient/p3", patients);
        Assert.Equal(patients.Count, patients.Distinct().Count());
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        foreach (var ev in events)
        {
            Assert.Single(ev.Entity, e => e.Role?.Code == "1");
            BalpValidator.AssertValid(ev);
        }
    }

    [Fact]
    public async Task Search_PostForm_RecordsTheFormParametersInTheQuery()
    {
        var form = new FormUrlEncodedContent([new("patient", "p2")]);
        var events = await RunAsync(HttpMethod.Post, "Observation/_search", form);

        var ev = Assert.Single(events, e => PatientOf(e) == "Patient/p2");
        Assert.Contains("patient=p2", Encoding.UTF8.GetString(ev.Entity.Single(e => e.Role?.Code == "24").Query));
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task Search_WithoutPatients_RecordsBasicQuery()
    {
        var ev = Assert.Single(await RunAsync(HttpMethod.Get, "Organization?name=Acme"));

        Assert.Null(PatientOf(ev));
        Assert.Equal("https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Query", ev.Meta.Profile.First());
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task Search_AnonymousCaller_RecordsTheClientAsRequestor()
    {
        var requestId = Guid.NewGuid().ToString();
        using var response = await _host.SendAsync(HttpMethod.Get, "Organization?name=Acme", requestId: requestId);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var ev = Assert.Single(_host.EventsFor(requestId));
        Assert.True(Agent(ev, "110153").Requestor);
        Assert.DoesNotContain(ev.Agent, a => Role(a) is "IRCP" or "110150");
        Assert.DoesNotContain("https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.OAUTHaccessTokenUse.Comprehensive", ev.Meta.Profile);
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task History_Instance_RecordsQueryPatternWithoutBalpProfile()
    {
        var ev = Assert.Single(await RunAsync(HttpMethod.Get, "Patient/p1/_history"));

        Assert.Equal("history-instance", ev.Subtype.Single().Code);
        Assert.Equal("Patient/p1", PatientOf(ev));
        Assert.Null(ev.Meta);
        BalpValidator.AssertValid(ev, BalpValidator.CoreAuditEvent);
    }

    [Fact]
    public async Task Transaction_EveryEntry_IsRecordedLikeTheSameRequestAlone()
    {
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new Bundle.EntryComponent { FullUrl = "urn:uuid:3f1e1bd6-6d7f-4d6b-9b25-111111111111", Resource = Observation("ignored", "p2"), Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Observation" } },
                new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.GET, Url = "Patient/p3" } },
            ],
        };
        var events = await RunAsync(HttpMethod.Post, "", AuditTestHost.JsonContent(bundle));

        var create = Assert.Single(events, e => e.Subtype[0].Code == "create");
        Assert.Equal("Patient/p2", PatientOf(create));
        BalpValidator.AssertValid(create);
        var read = Assert.Single(events, e => e.Subtype[0].Code == "read");
        Assert.Equal("Patient/p3", PatientOf(read));
        BalpValidator.AssertValid(read);
        var top = Assert.Single(events, e => e.Subtype[0].Code == "transaction");
        Assert.Equal(AuditEvent.AuditEventOutcome.N0, top.Outcome);
        BalpValidator.AssertValid(top, BalpValidator.CoreAuditEvent);
    }

    [Fact]
    public async Task Request_WithoutRequestId_GetsOneInTheResponseAndTheRecord()
    {
        using var response = await _host.SendAsync(HttpMethod.Get, "Organization/org1", principal: _principal);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var requestId = Assert.Single(response.Headers.GetValues("X-Request-Id"));
        Assert.Single(_host.EventsFor(requestId));
    }

    [Fact]
    public async Task Capabilities_ByDefault_IsNotAudited()
    {
        var requestId = Guid.NewGuid().ToString();
        using var response = await _host.SendAsync(HttpMethod.Get, "metadata", requestId: requestId);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.Empty(_host.EventsFor(requestId));
    }
}
