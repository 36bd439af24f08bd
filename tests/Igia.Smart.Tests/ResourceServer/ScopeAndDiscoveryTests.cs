using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using Igia.Fhir.Pipeline;
using Igia.Smart.ResourceServer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Igia.Smart.Tests.ResourceServer;

/// <summary>SMART v1/v2 scope semantics (narrowing, user/ and system/ scopes, the user policy hook), discovery documents and CORS.</summary>
public sealed class ScopeAndDiscoveryTests(ResourceServerFixture fx) : IClassFixture<ResourceServerFixture>
{
    [Fact]
    public async Task Smart_configuration_issuer_with_trailing_slash_is_published_verbatim()
    {
        await using var host = await ProtectedFhirHost.StartAsync(fx.Issuer, o => o.Authority = new Uri(fx.Issuer.Issuer + "/"));
        var json = JsonNode.Parse(await host.Http.GetStringAsync(host.BaseUrl + "/.well-known/smart-configuration"))!.AsObject();
        Assert.Equal(fx.Issuer.Issuer + "/", json["issuer"]!.GetValue<string>());
        Assert.Equal(fx.Issuer.Issuer + "/token", json["token_endpoint"]!.GetValue<string>());
    }

    [Fact]
    public async Task Smart_configuration_lists_what_is_supported_and_never_plain()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, fx.Host.BaseUrl + "/.well-known/smart-configuration");
        request.Headers.Add("Origin", "https://app.example.org");
        using var response = await fx.Host.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal(fx.Issuer.Issuer, json["issuer"]!.GetValue<string>());
        Assert.Equal(fx.Issuer.Issuer + "/jwks", json["jwks_uri"]!.GetValue<string>());
        Assert.Equal(fx.Issuer.Issuer + "/authorize", json["authorization_endpoint"]!.GetValue<string>());
        Assert.Equal(fx.Issuer.Issuer + "/token", json["token_endpoint"]!.GetValue<string>());
        Assert.Equal(fx.Issuer.Issuer + "/introspect", json["introspection_endpoint"]!.GetValue<string>());
        Assert.Contains("authorization_code", json["grant_types_supported"]!.AsArray().Select(v => v!.GetValue<string>()));
        var capabilities = json["capabilities"]!.AsArray().Select(v => v!.GetValue<string>()).ToList();
        Assert.Contains("permission-v2", capabilities);
        Assert.Contains("permission-patient", capabilities);
        Assert.Contains("launch-standalone", capabilities);
        Assert.Equal(["S256"], json["code_challenge_methods_supported"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Null(json["registration_endpoint"]);
    }

    [Fact]
    public async Task CapabilityStatement_is_public_and_carries_the_SMART_security_section()
    {
        var reply = await fx.Host.GetAsync("metadata", null);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var security = reply.Json!["rest"]![0]!["security"]!;
        Assert.True(security["cors"]!.GetValue<bool>());
        Assert.Equal("SMART-on-FHIR", security["service"]![0]!["coding"]![0]!["code"]!.GetValue<string>());
        var uris = security["extension"]!.AsArray().Single(e => e!["url"]!.GetValue<string>() == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris")!;
        var values = uris["extension"]!.AsArray().ToDictionary(e => e!["url"]!.GetValue<string>(), e => e!["valueUri"]!.GetValue<string>());
        Assert.Equal(fx.Issuer.Issuer + "/authorize", values["authorize"]);
        Assert.Equal(fx.Issuer.Issuer + "/token", values["token"]);
    }

    [Fact]
    public async Task Cors_preflight_and_responses_allow_browser_apps()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, fx.Host.BaseUrl + "/Observation?patient=pa");
        preflight.Headers.Add("Origin", "https://app.example.org");
        preflight.Headers.Add("Access-Control-Request-Method", "GET");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,accept");
        using var answer = await fx.Host.Http.SendAsync(preflight);
        Assert.True(answer.IsSuccessStatusCode, answer.StatusCode.ToString());
        Assert.Equal("*", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("authorization", string.Join(",", answer.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);

        using var unauthorized = new HttpRequestMessage(HttpMethod.Get, fx.Host.BaseUrl + "/Patient/pa");
        unauthorized.Headers.Add("Origin", "https://app.example.org");
        using var denied = await fx.Host.Http.SendAsync(unauthorized);
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.Equal("*", denied.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("WWW-Authenticate", string.Join(",", denied.Headers.GetValues("Access-Control-Expose-Headers")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task V2_narrowed_scope_confines_search_and_read()
    {
        var lab = fx.Token("launch/patient patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory", "pa");
        var search = await fx.Host.GetAsync("Observation?_count=100", lab);
        Assert.Equal(HttpStatusCode.OK, search.Status);
        Assert.Contains("Observation/oa1", search.EntryKeys());
        Assert.DoesNotContain("Observation/oa2", search.EntryKeys());
        Assert.DoesNotContain("Observation/ob1", search.EntryKeys());
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Observation/oa1", lab)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await fx.Host.GetAsync("Observation/oa2", lab)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Host.SendAsync(HttpMethod.Post, "Observation", fx.Token("launch/patient patient/Observation.crs?category=laboratory", "pa"), ResourceServerFixture.Obs("", "pa", "laboratory", "1"))).Status);

        // The included member of another category is removed too.
        var include = await fx.Host.GetAsync("Observation?_id=oa3&_include=Observation:has-member", lab);
        Assert.Equal(["Observation/oa3"], include.EntryKeys());

        var both = fx.Token("launch/patient patient/Observation.rs?category=laboratory patient/Observation.rs?category=vital-signs", "pa");
        var union = await fx.Host.GetAsync("Observation?_count=100", both);
        Assert.Contains("Observation/oa1", union.EntryKeys());
        Assert.Contains("Observation/oa2", union.EntryKeys());
        Assert.DoesNotContain("Observation/ob2", union.EntryKeys());

        var userVitals = fx.Token("user/Observation.rs?category=vital-signs", fhirUser: "Practitioner/dr1");
        var vitals = await fx.Host.GetAsync("Observation?_count=100", userVitals);
        Assert.Contains("Observation/oa2", vitals.EntryKeys());
        Assert.Contains("Observation/ob2", vitals.EntryKeys());
        Assert.DoesNotContain("Observation/oa1", vitals.EntryKeys());
    }

    [Fact]
    public async Task V1_and_v2_permissions_map_to_interactions()
    {
        var writeOnly = fx.Token("user/Observation.write");
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Host.GetAsync("Observation/oa1", writeOnly)).Status);
        var readOnlyV2 = fx.Token("user/Observation.r");
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Observation/oa1", readOnlyV2)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Host.GetAsync("Observation?_id=oa1", readOnlyV2)).Status);
        var searchOnly = fx.Token("user/Observation.s");
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Observation?_id=oa1", searchOnly)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Host.GetAsync("Observation/oa1", searchOnly)).Status);
        var deleteOnly = fx.Token("user/Observation.d");
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Host.SendAsync(HttpMethod.Put, "Observation/oa2", deleteOnly, ResourceServerFixture.Obs("oa2", "pa", "vital-signs", "8867-4"))).Status);
        var updateOnly = fx.Token("user/Observation.u");
        var updated = await fx.Host.SendAsync(HttpMethod.Put, "Observation/oa2", updateOnly, ResourceServerFixture.Obs("oa2", "pa", "vital-signs", "8867-4"));
        Assert.Equal(HttpStatusCode.OK, updated.Status);
        Assert.Null(updated.Json); // written, but a token without read does not get the resource back
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Host.SendAsync(HttpMethod.Put, "Observation/made-by-put", updateOnly, ResourceServerFixture.Obs("made-by-put", "pa", "vital-signs", "8867-4"))).Status);
        Assert.Equal(HttpStatusCode.Created, (await fx.Host.SendAsync(HttpMethod.Put, "Observation/made-by-put", fx.Token("user/Observation.cu"), ResourceServerFixture.Obs("made-by-put", "pa", "vital-signs", "8867-4"))).Status);
        var all = fx.Token("user/*.*");
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Observation/ob1", all)).Status);
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Patient?_count=10", all)).Status);
    }

    [Fact]
    public async Task System_scopes_reach_every_patient_but_only_their_types()
    {
        var backend = fx.Token("system/Observation.rs");
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Observation/ob1", backend)).Status);
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Observation/oa1", backend)).Status);
        var search = await fx.Host.GetAsync("Observation?_count=100&_include=Observation:subject", backend);
        Assert.Contains("Observation/ob1", search.EntryKeys());
        Assert.DoesNotContain(search.EntryKeys(), k => k.StartsWith("Patient/", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Host.GetAsync("Patient/pa", backend)).Status);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer a.b.c")]
    [InlineData("Bearer eyJhbGciOiJSUzI1NiJ9.e30.AAAA")]
    [InlineData("Bearer ....")]
    public async Task Malformed_authorization_headers_get_401_not_500(string header)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, fx.Host.BaseUrl + "/Patient/pa");
        request.Headers.TryAddWithoutValidation("Authorization", header);
        using var response = await fx.Host.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("OperationOutcome", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_user_policy_hook_applies_the_fhirUsers_own_rights()
    {
        await using var host = await ProtectedFhirHost.StartAsync(fx.Issuer, services: s =>
        {
            s.RemoveAll<ISmartUserAccessPolicy>();
            s.AddSingleton<ISmartUserAccessPolicy, OnlyOwnPerformerPolicy>();
        });
        var system = fx.Issuer.Token(host.BaseUrl, "system/*.cruds");
        foreach (var (path, body) in new[] { ("Observation/x1", ResourceServerFixture.Obs("x1", "pa", "laboratory", "1", performer: "Practitioner/dr1")), ("Observation/x2", ResourceServerFixture.Obs("x2", "pb", "laboratory", "1", performer: "Practitioner/dr2")) })
        {
            Assert.True((await host.SendAsync(HttpMethod.Put, path, system, body)).Status is HttpStatusCode.Created);
        }

        var dr1 = fx.Issuer.Token(host.BaseUrl, "openid fhirUser user/Observation.rs", fhirUser: "Practitioner/dr1");
        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("Observation/x1", dr1)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await host.GetAsync("Observation/x2", dr1)).Status);
        var search = await host.GetAsync("Observation", dr1);
        Assert.Equal(["Observation/x1"], search.EntryKeys());
        var blocked = fx.Issuer.Token(host.BaseUrl, "openid fhirUser user/Observation.rs", fhirUser: "Practitioner/blocked");
        Assert.Equal(HttpStatusCode.Forbidden, (await host.GetAsync("Observation/x1", blocked)).Status);

        // The policy is for user/ scopes only: a system/ token is not subject to it.
        Assert.Equal(HttpStatusCode.OK, (await host.GetAsync("Observation/x2", system)).Status);
    }

    private sealed class OnlyOwnPerformerPolicy : ISmartUserAccessPolicy
    {
        public ValueTask<bool> AllowsAsync(SmartAccess access, FhirInteraction interaction, string resourceType, char permission) =>
            ValueTask.FromResult(access.FhirUser is not null && !access.FhirUser.EndsWith("/blocked", StringComparison.Ordinal));

        public bool CanSee(SmartAccess access, Resource resource) =>
            resource is not Observation o || o.Performer.Any(p => p.Reference == access.FhirUser);
    }
}
