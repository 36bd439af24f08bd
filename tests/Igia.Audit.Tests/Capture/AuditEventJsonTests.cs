using System.Security.Claims;
using Hl7.Fhir.Model;
using Igia.Audit.Capture;
using Igia.Audit.Internal;
using Igia.Fhir.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Claim = System.Security.Claims.Claim;

namespace Igia.Audit.Tests.Capture;

/// <summary>The capture path's JSON writer writes exactly the bytes the Firely serializer writes, and leaves what it does not cover to Firely.</summary>
public sealed class AuditEventJsonTests
{
    private static readonly AuditEventFactory Factory = new(Options.Create(new AuditOptions { SourceId = "json-test", Site = "site \"A\" é" }), TimeProvider.System);

    private static HttpContext Http()
    {
        var http = new DefaultHttpContext();
        http.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("::ffff:10.1.2.3");
        http.Request.Headers["X-Request-Id"] = "req-1";
        http.Request.Scheme = "https";
        http.Request.Host = new HostString("ehr.example.org");
        http.Request.Path = "/fhir/Patient";
        http.User = User();
        return http;
    }

    private static ClaimsPrincipal User() => new(new ClaimsIdentity(
        [new Claim("sub", "u\\1", null, "https://idp"), new Claim("fhirUser", "Practitioner/1"), new Claim("client_id", "app"), new Claim("jti", "t1")], "Bearer"));

    public static TheoryData<string> Shapes() => ["read", "search", "create-failed", "delete", "transaction", "security", "token", "http", "rolled-back"];

    private static IEnumerable<AuditEvent> Events(string shape)
    {
        var http = Http();
        FhirInteraction I(FhirInteractionKind kind, string? type = "Patient", string? id = "p1") => new()
        {
            Kind = kind, ResourceType = type, Id = id, HttpContext = http, User = http.User, BaseUrl = "https://ehr.example.org/fhir", RelativeUrl = type ?? "", Method = "GET",
            Parameters = [new("name", "Zoë \"Q\""), new("_count", "5")],
        };
        return shape switch
        {
            "read" => Factory.ForInteraction(I(FhirInteractionKind.Read), 200, new FhirResponse { Resource = new Patient { Id = "p1" } }, null),
            "search" => Factory.ForInteraction(I(FhirInteractionKind.Search, id: null), 200, new FhirResponse { Resource = new Bundle { Entry = [new() { Resource = new Patient { Id = "a" } }, new() { Resource = new Patient { Id = "b" } }] } }, null),
            "create-failed" => Factory.ForInteraction(I(FhirInteractionKind.Create, id: null), 422, FhirResponse.Error(System.Net.HttpStatusCode.UnprocessableEntity, OperationOutcome.IssueType.Invalid, "bad \u2028 line"), null),
            "delete" => Factory.ForInteraction(I(FhirInteractionKind.Delete, "Observation", "o1"), 204, new FhirResponse(), ["p9"]),
            "transaction" => Factory.ForInteraction(I(FhirInteractionKind.Transaction, null, null), 200, new FhirResponse(), null),
            "security" => [Factory.ForSecurityEvent(new SecurityEvent { Kind = SecurityEventKind.AuthorizationDenied, User = User(), HttpContext = http, PatientId = "p1", Description = "no scope" })],
            "token" => [Factory.ForSecurityEvent(new SecurityEvent { Kind = SecurityEventKind.TokenIssued, ClientId = "app", TokenRequest = "grant_type=client_credentials" })],
            "http" => Factory.ForHttpRequest(http, 500, fhir: false, "p1", null),
            _ => Factory.ForInteraction(I(FhirInteractionKind.Update), 200, new FhirResponse { Resource = new Patient { Id = "p1" } }, null).Select(e => { e.Outcome = AuditEvent.AuditEventOutcome.N4; e.OutcomeDesc = "Rolled back"; e.Meta = null; return e; }),
        };
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Serialize_CaptureEvent_WritesTheSameBytesAsFirely(string shape)
    {
        foreach (var ev in Events(shape))
        {
            Assert.True(AuditEventJson.Supported(ev));
            Assert.Equal(System.Text.Encoding.UTF8.GetString(FhirJson.Serialize(ev)), System.Text.Encoding.UTF8.GetString(AuditEventJson.Serialize(ev)));
        }
    }

    [Fact]
    public void Serialize_EventWithAnExtension_FallsBackToFirely()
    {
        var ev = Events("read").First();
        ev.Agent[0].Extension.Add(new Extension("http://example.org/x", new FhirString("y")));

        Assert.False(AuditEventJson.Supported(ev));
        Assert.Equal(FhirJson.Serialize(ev), AuditEventJson.Serialize(ev));
    }
}
