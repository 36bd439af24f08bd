using System.Security.Claims;
using Claim = System.Security.Claims.Claim;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Audit.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Audit.Tests.Security;

/// <summary>
/// The public API other packages (the SMART authorization server) call for security events: authentication failures and
/// authorization denials (DICOM 110113), token issuance (IHE ITI-71, profile IHE.IUA.71), login and logout (DICOM 110114
/// with 110122/110123). Recorded durably before the call returns.
/// </summary>
public sealed class SecurityEventTests : IAsyncLifetime
{
    private AuditTestHost _host = null!;
    private IAuditTrail _trail = null!;

    public async Task InitializeAsync()
    {
        _host = await AuditTestHost.StartAsync();
        _trail = _host.Services.GetRequiredService<IAuditTrail>();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static ClaimsPrincipal User() => new(new ClaimsIdentity(
        [new Claim("sub", "user-7", null, "https://idp.example.org"), new Claim("fhirUser", "Practitioner/dr-7"), new Claim("client_id", "app-7"), new Claim("jti", "t-7")], "Bearer"));

    private AuditEvent Last() => _host.ReadAuditLog()[^1].Event;

    [Fact]
    public async Task RecordAsync_TokenIssued_ValidatesAgainstIua71()
    {
        await _trail.RecordAsync(new SecurityEvent { Kind = SecurityEventKind.TokenIssued, User = User(), TokenRequest = "grant_type=authorization_code&scope=patient/*.read", PatientId = "p1" });

        var ev = Last();
        Assert.Equal("110114", ev.Type.Code);
        Assert.Equal("ITI-71", ev.Subtype.Single().Code);
        Assert.Equal(AuditEvent.AuditEventOutcome.N0, ev.Outcome);
        Assert.Equal("app-7", ev.Agent.Single(a => a.Type.Coding[0].Code == "110150").Who.Identifier.Value);
        Assert.Equal("grant_type=authorization_code&scope=patient/*.read", Encoding.UTF8.GetString(ev.Entity.Single().Query));
        Assert.Equal("https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.IUA.71", ev.Meta.Profile.Single());
        BalpValidator.AssertValid(ev);
    }

    [Fact]
    public async Task RecordAsync_TokenRefused_RecordsFailureWithoutProfile()
    {
        await _trail.RecordAsync(new SecurityEvent { Kind = SecurityEventKind.TokenIssued, Success = false, ClientId = "app-x", Description = "invalid_client" });

        var ev = Last();
        Assert.Equal(AuditEvent.AuditEventOutcome.N4, ev.Outcome);
        Assert.Equal("invalid_client", ev.OutcomeDesc);
        Assert.Null(ev.Meta);
        BalpValidator.AssertValid(ev, BalpValidator.CoreAuditEvent);
    }

    [Theory]
    [InlineData(SecurityEventKind.Login, "110114", "110122")]
    [InlineData(SecurityEventKind.Logout, "110114", "110123")]
    [InlineData(SecurityEventKind.AuthenticationFailure, "110113", "110126")]
    [InlineData(SecurityEventKind.AuthorizationDenied, "110113", "110132")]
    public async Task RecordAsync_SecurityEvent_UsesTheDicomCodes(SecurityEventKind kind, string type, string subtype)
    {
        await _trail.RecordAsync(new SecurityEvent { Kind = kind, User = User(), PatientId = "p9" });

        var ev = Last();
        Assert.Equal("http://dicom.nema.org/resources/ontology/DCM", ev.Type.System);
        Assert.Equal(type, ev.Type.Code);
        Assert.Equal(subtype, ev.Subtype.Single().Code);
        Assert.Equal(AuditEvent.AuditEventAction.E, ev.Action);
        var expected = kind is SecurityEventKind.AuthenticationFailure or SecurityEventKind.AuthorizationDenied ? AuditEvent.AuditEventOutcome.N4 : AuditEvent.AuditEventOutcome.N0;
        Assert.Equal(expected, ev.Outcome);
        var user = ev.Agent.Single(a => a.Requestor == true);
        Assert.Equal("humanuser", user.Type.Coding[0].Code);
        Assert.Equal("user-7", user.Who.Identifier.Value);
        Assert.Contains(ev.Entity, e => e.What?.Reference == "Patient/p9");
        BalpValidator.AssertValid(ev, BalpValidator.CoreAuditEvent);
    }

    [Fact]
    public async Task RecordAsync_LoginFailedByName_RecordsTheAttemptedUser()
    {
        await _trail.RecordAsync(new SecurityEvent { Kind = SecurityEventKind.Login, Success = false, UserId = "jdoe", Description = "bad password" });

        var ev = Last();
        Assert.Equal(AuditEvent.AuditEventOutcome.N4, ev.Outcome);
        Assert.Equal("jdoe", ev.Agent.Single(a => a.Requestor == true).Who.Identifier.Value);
    }

    [Fact]
    public async Task RecordAsync_ApplicationEvent_FillsIdRecordedAndSource()
    {
        var ev = new AuditEvent
        {
            Type = new Coding("http://dicom.nema.org/resources/ontology/DCM", "110106", "Export"),
            Action = AuditEvent.AuditEventAction.R,
            Outcome = AuditEvent.AuditEventOutcome.N0,
            Agent = [new AuditEvent.AgentComponent { Who = new ResourceReference("Practitioner/dr-7"), Requestor = true }],
        };
        await _trail.RecordAsync(ev);

        var logged = Last();
        Assert.Equal(ev.Id, logged.Id);
        Assert.NotNull(logged.Recorded);
        Assert.Equal("igia-audit-test", logged.Source.Observer.Identifier.Value);
    }
}
