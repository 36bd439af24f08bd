using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Audit.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Igia.Audit.Tests.Capture;

/// <summary>
/// Failed, refused, malformed and unauthenticated requests are audited too: outcome 4 (client errors) or 8 (server
/// errors), no BALP success profile claimed (they validate against the core AuditEvent), and a DICOM 110113 Security
/// Alert for every authentication failure and authorization denial.
/// </summary>
public sealed class FailureCaptureTests : IAsyncLifetime
{
    private AuditTestHost _host = null!;
    private AuditTestHost _secured = null!;
    private readonly string _principal = TestAuthenticationHandler.Principal();

    public async Task InitializeAsync()
    {
        _host = await AuditTestHost.StartAsync(configureApp: app =>
        {
            app.MapGet("/reports/{patientId}", (string patientId) => Results.Text("report of " + patientId)).WithAudit(patientRouteParameter: "patientId");
            app.MapGet("/reports-failing/{patientId}", (string patientId) => Results.StatusCode(500)).WithAudit(patientRouteParameter: "patientId");
            app.MapGet("/public", () => "no PHI here");
        });
        _secured = await AuditTestHost.StartAsync(requireAuthorization: true);
        await _host.PutAsync(new Patient { Id = "p1" });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _secured.DisposeAsync();
    }

    private static bool IsSecurityAlert(AuditEvent e) => e.Type.Code == "110113";

    [Fact]
    public async Task Read_Missing_RecordsMinorFailureWithoutBalpProfile()
    {
        var requestId = Guid.NewGuid().ToString();
        using var response = await _host.SendAsync(HttpMethod.Get, "Patient/nobody", principal: _principal, requestId: requestId);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);

        var ev = Assert.Single(_host.EventsFor(requestId));
        Assert.Equal(AuditEvent.AuditEventOutcome.N4, ev.Outcome);
        Assert.StartsWith("HTTP 404", ev.OutcomeDesc);
        Assert.Null(ev.Meta);
        Assert.Contains(ev.Entity, e => e.Role?.Code == "1" && e.What.Reference == "Patient/nobody");
        BalpValidator.AssertValid(ev, BalpValidator.CoreAuditEvent);
    }

    [Fact]
    public async Task Read_DeniedByAuthorizationFilter_RecordsFailureAndSecurityAlert()
    {
        var requestId = Guid.NewGuid().ToString();
        using var response = await _host.SendAsync(HttpMethod.Get, "Patient/forbidden-1", principal: _principal, requestId: requestId);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);

        var events = _host.EventsFor(requestId);
        var read = Assert.Single(events, e => e.Type.Code == "rest");
        Assert.Equal(AuditEvent.AuditEventOutcome.N4, read.Outcome);
        Assert.Equal("read", read.Subtype[0].Code);
        var alert = Assert.Single(events, IsSecurityAlert);
        Assert.Equal("110132", alert.Subtype.Single().Code);
        Assert.Equal(AuditEvent.AuditEventOutcome.N4, alert.Outcome);
        Assert.Contains(alert.Agent, a => a.Requestor == true && a.Who.Identifier.Value == "user-1");
        Assert.Contains(alert.Entity, e => e.Role?.Code == "1" && e.What.Reference == "Patient/forbidden-1");
        BalpValidator.AssertValid(read, BalpValidator.CoreAuditEvent);
        BalpValidator.AssertValid(alert, BalpValidator.CoreAuditEvent);
    }

    [Fact]
    public async Task Transaction_EntryDenied_RecordsEveryEntryAsNotCommitted()
    {
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new Bundle.EntryComponent { Resource = new Patient { Id = "tx-ok" }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = "Patient/tx-ok" } },
                new Bundle.EntryComponent { Resource = new Patient { Id = "forbidden-tx" }, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = "Patient/forbidden-tx" } },
            ],
        };
        var requestId = Guid.NewGuid().ToString();
        using var response = await _host.SendAsync(HttpMethod.Post, "", AuditTestHost.JsonContent(bundle), _principal, requestId);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);

        var events = _host.EventsFor(requestId);
        var ok = Assert.Single(events, e => e.Subtype[0].Code == "update" && e.Entity.Any(x => x.What?.Reference == "Patient/tx-ok" && x.Role?.Code == "4"));
        Assert.Equal(AuditEvent.AuditEventOutcome.N4, ok.Outcome);
        Assert.Contains("Rolled back", ok.OutcomeDesc);
        Assert.Null(ok.Meta);
        Assert.Single(events, e => e.Subtype[0].Code == "update" && e.Entity.Any(x => x.What?.Reference == "Patient/forbidden-tx" && x.Role?.Code == "4"));
        Assert.Single(events, IsSecurityAlert);
        var top = Assert.Single(events, e => e.Subtype[0].Code == "transaction");
        Assert.Equal(AuditEvent.AuditEventOutcome.N4, top.Outcome);
        foreach (var ev in events)
        {
            BalpValidator.AssertValid(ev, BalpValidator.CoreAuditEvent);
        }
    }

    [Fact]
    public async Task Create_MalformedBody_IsRecordedAlthoughItNeverReachedThePipeline()
    {
        var requestId = Guid.NewGuid().ToString();
        using var response = await _host.SendAsync(HttpMethod.Post, "Patient", new StringContent("{ not json", Encoding.UTF8, "application/fhir+json"), _principal, requestId);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);

        var ev = Assert.Single(_host.EventsFor(requestId));
        Assert.Equal("rest", ev.Type.Code);
        Assert.Equal(AuditEvent.AuditEventAction.C, ev.Action);
        Assert.Equal(AuditEvent.AuditEventOutcome.N4, ev.Outcome);
        Assert.EndsWith("/fhir/Patient", ev.Entity.Single(e => e.Role?.Code == "4").What.Identifier.Value);
        Assert.Contains(ev.Agent, a => a.Who.Identifier?.Value == "user-1");
        BalpValidator.AssertValid(ev, BalpValidator.CoreAuditEvent);
    }

    [Fact]
    public async Task Read_Unauthenticated_RecordsAuthenticationFailureSecurityAlert()
    {
        var requestId = Guid.NewGuid().ToString();
        using var response = await _secured.SendAsync(HttpMethod.Get, "Patient/p1", principal: "invalid", requestId: requestId);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        var events = _secured.EventsFor(requestId);
        var alert = Assert.Single(events, IsSecurityAlert);
        Assert.Equal("110126", alert.Subtype.Single().Code);
        Assert.Equal(AuditEvent.AuditEventOutcome.N4, alert.Outcome);
        Assert.Equal("127.0.0.1", alert.Agent.Single(a => a.Type.Coding[0].Code == "110150").Network.Address);
        var rest = Assert.Single(events, e => e.Type.Code == "rest");
        Assert.Equal(AuditEvent.AuditEventOutcome.N4, rest.Outcome);
        BalpValidator.AssertValid(alert, BalpValidator.CoreAuditEvent);
        BalpValidator.AssertValid(rest, BalpValidator.CoreAuditEvent);
    }

    [Fact]
    public async Task Endpoint_OptedIn_IsRecordedAsPatientRecordAccess()
    {
        var requestId = Guid.NewGuid().ToString();
        using var response = await _host.Client.SendAsync(Request(HttpMethod.Get, _host.RootUrl + "/reports/p1", requestId));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var ev = Assert.Single(_host.EventsFor(requestId));
        Assert.Equal("110110", ev.Type.Code);
        Assert.Equal(AuditEvent.AuditEventAction.R, ev.Action);
        Assert.Equal(AuditEvent.AuditEventOutcome.N0, ev.Outcome);
        Assert.Contains(ev.Entity, e => e.Role?.Code == "1" && e.What.Reference == "Patient/p1");
        Assert.Contains(ev.Agent, a => a.Type.Coding[0].Code == "IRCP" && a.Who.Identifier.Value == "user-1");
        BalpValidator.AssertValid(ev, BalpValidator.CoreAuditEvent);
    }

    [Fact]
    public async Task Endpoint_OptedInAndFailing_RecordsSeriousFailure()
    {
        var requestId = Guid.NewGuid().ToString();
        using var response = await _host.Client.SendAsync(Request(HttpMethod.Get, _host.RootUrl + "/reports-failing/p1", requestId));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);

        var ev = Assert.Single(_host.EventsFor(requestId));
        Assert.Equal(AuditEvent.AuditEventOutcome.N8, ev.Outcome);
    }

    [Fact]
    public async Task Endpoint_NotOptedIn_IsNotRecorded()
    {
        var requestId = Guid.NewGuid().ToString();
        using var response = await _host.Client.SendAsync(Request(HttpMethod.Get, _host.RootUrl + "/public", requestId));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.Empty(_host.EventsFor(requestId));
    }

    private HttpRequestMessage Request(HttpMethod method, string url, string requestId)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add(TestAuthenticationHandler.Header, _principal);
        request.Headers.Add("X-Request-Id", requestId);
        return request;
    }
}
