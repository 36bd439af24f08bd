using System.Net;
using System.Security.Claims;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Audit.Tests.Infrastructure;
using Igia.Fhir.Operations;
using Igia.Fhir.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Claim = System.Security.Claims.Claim;

namespace Igia.Audit.Tests.Capture;

/// <summary>
/// The issue's "Must show": every kind of AuditEvent the package produces validates with zero errors against the
/// matching BALP profile in ../shared/balp. One server runs a workload that makes every kind (each interaction, its
/// Patient variant, batch/transaction entries, operations, history, failures 4xx/5xx, denials, unauthenticated and
/// malformed requests, opted-in endpoints, every security event, successful and failed) and then every record of its
/// log is validated against each profile it claims, or the core AuditEvent when it claims none.
/// </summary>
public sealed class BalpConformanceTests
{
    private const string Balp = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/";

    /// <summary>An instance-level operation for the workload (<c>Patient/[id]/$summary-test</c>).</summary>
    private sealed class SummaryOperation : IFhirOperation
    {
        public string Name => "summary-test";

        public FhirOperationLevel Levels => FhirOperationLevel.Instance | FhirOperationLevel.Type;

        public IReadOnlyCollection<string> ResourceTypes => ["Patient"];

        public ValueTask<FhirResponse> ExecuteAsync(FhirOperationContext context) =>
            ValueTask.FromResult(new FhirResponse { Resource = new Parameters { { "summary", new FhirString("ok") } } });
    }

    private static Observation Observation(string? id, string patient) => new()
    {
        Id = id,
        Status = ObservationStatus.Final,
        Code = new CodeableConcept("http://loinc.org", "8867-4", "Heart rate"),
        Subject = new ResourceReference("Patient/" + patient),
    };

    [Fact]
    public async Task EveryKindOfAuditEvent_ValidatesAgainstItsBalpProfileWithZeroErrors()
    {
        await using var host = await AuditTestHost.StartAsync(
            audit: o => o.AuditCapabilities = true,
            requireAuthorization: true,
            configureServices: s => s.AddSingleton<IFhirOperation, SummaryOperation>(),
            configureApp: app =>
            {
                app.MapGet("/reports/{patientId}", (string patientId) => Results.Text("report")).WithAudit(patientRouteParameter: "patientId");
                app.MapPost("/reports/{patientId}", (string patientId) => Results.StatusCode(500)).WithAudit(patientRouteParameter: "patientId");
            });
        var user = TestAuthenticationHandler.Principal();
        var userWithoutClient = TestAuthenticationHandler.Principal(sub: "user-2", clientId: null, jti: null);
        var backendClient = TestAuthenticationHandler.Principal(sub: "backend-1", fhirUser: null, clientId: "backend-1");

        async Task Send(HttpMethod method, string url, HttpContent? content = null, string? principal = null, HttpStatusCode? expect = null)
        {
            using var response = await host.SendAsync(method, url, content, principal, Guid.NewGuid().ToString());
            var body = await response.Content.ReadAsStringAsync();
            if (expect is { } status)
            {
                Assert.True(status == response.StatusCode, $"{method} {url}: expected {(int)status}, got {(int)response.StatusCode} {body}");
            }
            else
            {
                Assert.True(response.IsSuccessStatusCode, $"{method} {url}: {(int)response.StatusCode} {body}");
            }
        }

        StringContent Json(Resource r) => AuditTestHost.JsonContent(r);

        // Writes, with and without a patient, as each kind of caller.
        await Send(HttpMethod.Put, "Patient/p1", Json(new Patient { Id = "p1", Name = [new HumanName { Family = "Chalmers" }] }), user);
        await Send(HttpMethod.Put, "Patient/p2", Json(new Patient { Id = "p2" }), userWithoutClient);
        await Send(HttpMethod.Post, "Patient", Json(new Patient()), backendClient, HttpStatusCode.Created);
        await Send(HttpMethod.Put, "Organization/org1", Json(new Organization { Id = "org1", Name = "Acme" }), user);
        await Send(HttpMethod.Post, "Organization", Json(new Organization { Name = "Other" }), user, HttpStatusCode.Created);
        await Send(HttpMethod.Put, "Observation/o1", Json(Observation("o1", "p1")), user);
        await Send(HttpMethod.Put, "Observation/o2", Json(Observation("o2", "p2")), user);
        await Send(HttpMethod.Post, "Observation", Json(Observation(null, "p1")), user, HttpStatusCode.Created);
        await Send(HttpMethod.Put, "Observation/o1", Json(Observation("o1", "p1")), user);
        await Send(HttpMethod.Patch, "Observation/o1", new StringContent("""[{"op":"replace","path":"/status","value":"amended"}]""", Encoding.UTF8, "application/json-patch+json"), user);
        await Send(HttpMethod.Patch, "Organization/org1", new StringContent("""[{"op":"replace","path":"/name","value":"Acme 2"}]""", Encoding.UTF8, "application/json-patch+json"), user);

        // Reads.
        await Send(HttpMethod.Get, "Patient/p1", principal: user);
        await Send(HttpMethod.Get, "Patient/p1/_history/1", principal: userWithoutClient);
        await Send(HttpMethod.Get, "Observation/o1", principal: backendClient);
        await Send(HttpMethod.Get, "Organization/org1", principal: user);
        await Send(HttpMethod.Get, "Organization/org1", expect: HttpStatusCode.Unauthorized);

        // Searches: by patient, spanning patients (one PatientQuery each), none, POST, compartment, system; history; operation.
        await Send(HttpMethod.Get, "Observation?patient=p1", principal: user);
        await Send(HttpMethod.Get, "Observation?code=8867-4", principal: userWithoutClient);
        await Send(HttpMethod.Get, "Organization?name=Acme", principal: user);
        await Send(HttpMethod.Post, "Observation/_search", new FormUrlEncodedContent([new("subject", "Patient/p2")]), user);
        await Send(HttpMethod.Get, "Patient/p1/Observation", principal: user);
        await Send(HttpMethod.Get, "?_type=Organization", principal: backendClient);
        await Send(HttpMethod.Get, "Patient/p1/_history", principal: user);
        await Send(HttpMethod.Get, "Observation/_history", principal: user);
        await Send(HttpMethod.Get, "_history", principal: user);
        await Send(HttpMethod.Get, "Patient/p1/$summary-test", principal: user);
        await Send(HttpMethod.Get, "metadata", principal: user);

        // Batch and transaction (every entry audited), and a transaction rolled back by a denied entry.
        await Send(HttpMethod.Post, "", Json(new Bundle
        {
            Type = Bundle.BundleType.Batch,
            Entry =
            [
                new() { Request = new() { Method = Bundle.HTTPVerb.GET, Url = "Patient/p2" } },
                new() { Resource = Observation(null, "p2"), Request = new() { Method = Bundle.HTTPVerb.POST, Url = "Observation" } },
                new() { Request = new() { Method = Bundle.HTTPVerb.GET, Url = "Observation?patient=p2" } },
            ],
        }), user);
        await Send(HttpMethod.Post, "", Json(new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new() { FullUrl = "urn:uuid:0c3e9c55-7c8e-4a59-9d5e-5a2f0e3b1d01", Resource = Observation(null, "p1"), Request = new() { Method = Bundle.HTTPVerb.POST, Url = "Observation" } },
                new() { Resource = Observation("o2", "p2"), Request = new() { Method = Bundle.HTTPVerb.PUT, Url = "Observation/o2" } },
            ],
        }), user);
        await Send(HttpMethod.Post, "", Json(new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new() { FullUrl = "urn:uuid:0c3e9c55-7c8e-4a59-9d5e-5a2f0e3b1d02", Resource = Observation(null, "p1"), Request = new() { Method = Bundle.HTTPVerb.POST, Url = "Observation" } },
                new() { Resource = new Patient { Id = "forbidden-1" }, Request = new() { Method = Bundle.HTTPVerb.PUT, Url = "Patient/forbidden-1" } },
            ],
        }), user, HttpStatusCode.Forbidden);

        // Deletes, with and without a patient.
        await Send(HttpMethod.Delete, "Observation/o2", principal: user);
        await Send(HttpMethod.Delete, "Organization/org1", principal: backendClient);

        // Failures: 404, 400 (parsed and refused before the pipeline), 401, 403, 5xx of an opted-in endpoint.
        await Send(HttpMethod.Get, "Patient/nobody", principal: user, expect: HttpStatusCode.NotFound);
        await Send(HttpMethod.Get, "Observation?date=notadate", principal: user, expect: HttpStatusCode.BadRequest);
        await Send(HttpMethod.Post, "Observation", new StringContent("{\"resourceType\":\"Observation\",", Encoding.UTF8, "application/fhir+json"), user, HttpStatusCode.BadRequest);
        await Send(HttpMethod.Get, "Patient/p1", principal: "invalid", expect: HttpStatusCode.Unauthorized);
        await Send(HttpMethod.Get, "Patient/forbidden-2", principal: user, expect: HttpStatusCode.Forbidden);
        await Send(HttpMethod.Get, "/reports/p1", principal: user);
        await Send(HttpMethod.Post, "/reports/p1", principal: user, expect: HttpStatusCode.InternalServerError);

        // Security events through the public API, as the SMART authorization server records them.
        var trail = host.Services.GetRequiredService<IAuditTrail>();
        var principal = new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim("sub", "user-7", null, "https://idp.example.org"), new Claim("fhirUser", "Practitioner/dr-7"), new Claim("client_id", "app-7"), new Claim("jti", "t-7")], "Bearer"));
        foreach (var kind in Enum.GetValues<SecurityEventKind>())
        {
            await trail.RecordAsync(new SecurityEvent { Kind = kind, User = principal, PatientId = "p1", TokenRequest = kind == SecurityEventKind.TokenIssued ? "grant_type=authorization_code" : null });
            await trail.RecordAsync(new SecurityEvent { Kind = kind, Success = false, UserId = "jdoe", ClientId = "app-7", Description = "refused" });
        }

        var events = host.ReadAuditLog().Select(e => e.Event).ToList();
        var problems = new List<string>();
        var profilesSeen = new HashSet<string>(StringComparer.Ordinal);
        var kindsSeen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ev in events)
        {
            var claimed = ev.Meta?.Profile.ToArray() ?? [];
            profilesSeen.UnionWith(claimed);
            kindsSeen.Add($"{ev.Type.Code}/{ev.Subtype.FirstOrDefault()?.Code}/{ev.Outcome}");
            foreach (var profile in claimed.Length > 0 ? claimed : [BalpValidator.CoreAuditEvent])
            {
                var errors = BalpValidator.Errors(ev, profile);
                if (errors.Count > 0)
                {
                    problems.Add($"{ev.Type.Code}/{ev.Subtype.FirstOrDefault()?.Code} ({ev.Outcome}) against {profile}:\n  {string.Join("\n  ", errors)}");
                }
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} AuditEvents of {events.Count} do not validate:\n{string.Join("\n", problems)}");

        // The workload did produce every kind (so the loop above validated each of them).
        string[] expectedProfiles =
        [
            "IHE.BasicAudit.Create", "IHE.BasicAudit.PatientCreate", "IHE.BasicAudit.Read", "IHE.BasicAudit.PatientRead",
            "IHE.BasicAudit.Update", "IHE.BasicAudit.PatientUpdate", "IHE.BasicAudit.Delete", "IHE.BasicAudit.PatientDelete",
            "IHE.BasicAudit.Query", "IHE.BasicAudit.PatientQuery", "IHE.BasicAudit.OAUTHaccessTokenUse.Comprehensive", "IHE.IUA.71",
        ];
        foreach (var profile in expectedProfiles)
        {
            Assert.Contains(Balp + profile, profilesSeen);
        }

        string[] expectedKinds =
        [
            "rest/vread/N0", "rest/patch/N0", "rest/search-system/N0", "rest/history-instance/N0", "rest/history-type/N0",
            "rest/history-system/N0", "rest/operation/N0", "rest/capabilities/N0", "rest/batch/N0", "rest/transaction/N0",
            "rest/transaction/N4", "rest/create/N4", "rest/read/N4", "rest/search-type/N4", "rest//N4", "110110//N0", "110110//N8",
            "110113/110126/N4", "110113/110132/N4", "110114/ITI-71/N0", "110114/ITI-71/N4", "110114/110122/N0", "110114/110122/N4",
            "110114/110123/N0", "110114/110123/N4",
        ];
        var missing = expectedKinds.Where(k => !kindsSeen.Contains(k)).ToList();
        Assert.True(missing.Count == 0, $"Kinds not produced: {string.Join(", ", missing)}; produced: {string.Join(", ", kindsSeen.Order())}");

        // The validator is not vacuous: a PatientRead without its server agent and patient entity is rejected.
        var broken = (AuditEvent)events.First(e => e.Meta?.Profile.Contains(Balp + "IHE.BasicAudit.PatientRead") == true).DeepCopy();
        broken.Agent.RemoveAll(a => a.Type.Coding[0].Code == "110153");
        broken.Entity.RemoveAll(e => e.Role?.Code == "1");
        var brokenErrors = BalpValidator.Errors(broken, Balp + "IHE.BasicAudit.PatientRead");
        Assert.Contains(brokenErrors, e => e.Contains("server", StringComparison.Ordinal));
        Assert.Contains(brokenErrors, e => e.Contains("patient", StringComparison.Ordinal));
    }
}
