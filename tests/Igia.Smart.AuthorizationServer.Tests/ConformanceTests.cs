using System.Net;
using System.Text.Json.Nodes;
using Igia.Smart.AuthorizationServer.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Igia.Smart.AuthorizationServer.Tests;

/// <summary>
/// The server-side checks of the SMART App Launch STU2.2 conformance test kit: discovery, OpenID configuration, token
/// responses, refresh with and without scope, introspection, EHR launch context.
/// </summary>
public sealed class ConformanceTests
{
    [Fact]
    public async Task Discovery_SmartConfiguration_HasRequiredFieldsOfTheRightTypes()
    {
        await using var host = await AuthzHost.StartAsync();
        using var http = new HttpClient();
        using var response = await http.GetAsync(host.Url("fhir/.well-known/smart-configuration"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        var doc = await response.ReadObjectAsync();
        foreach (var field in new[] { "issuer", "jwks_uri", "authorization_endpoint", "token_endpoint", "introspection_endpoint" })
        {
            Assert.True(Uri.TryCreate(doc[field]!.GetValue<string>(), UriKind.Absolute, out _), field);
        }

        foreach (var field in new[] { "grant_types_supported", "token_endpoint_auth_methods_supported", "scopes_supported", "response_types_supported", "capabilities", "code_challenge_methods_supported", "token_endpoint_auth_signing_alg_values_supported" })
        {
            Assert.IsType<JsonArray>(doc[field]);
            Assert.All(doc[field]!.AsArray(), v => Assert.False(string.IsNullOrEmpty(v!.GetValue<string>())));
        }

        var methods = doc["code_challenge_methods_supported"]!.AsArray().Select(v => v!.GetValue<string>()).ToList();
        Assert.Contains("S256", methods);
        Assert.DoesNotContain("plain", methods);
        var capabilities = doc["capabilities"]!.AsArray().Select(v => v!.GetValue<string>()).ToList();
        Assert.Contains("launch-ehr", capabilities);
        Assert.Contains("launch-standalone", capabilities);
        Assert.Contains("context-standalone-patient", capabilities);
        Assert.Contains("sso-openid-connect", capabilities);
        Assert.Contains("client_credentials", doc["grant_types_supported"]!.AsArray().Select(v => v!.GetValue<string>()));

        // The documented endpoints really answer.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(doc["jwks_uri"]!.GetValue<string>())).StatusCode);
    }

    [Fact]
    public async Task Discovery_OpenIdConfiguration_S256OnlyAndRs256()
    {
        await using var host = await AuthzHost.StartAsync();
        using var http = new HttpClient();
        var doc = JsonNode.Parse(await http.GetStringAsync(host.Url(".well-known/openid-configuration")))!.AsObject();
        Assert.Equal(host.BaseUrl.ToString(), doc["issuer"]!.GetValue<string>());
        Assert.Equal(["S256"], doc["code_challenge_methods_supported"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Contains("RS256", doc["id_token_signing_alg_values_supported"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Contains("fhirUser", doc["claims_supported"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Contains("code", doc["response_types_supported"]!.AsArray().Select(v => v!.GetValue<string>()));
        var jwks = JsonNode.Parse(await http.GetStringAsync(doc["jwks_uri"]!.GetValue<string>()))!["keys"]!.AsArray();
        Assert.Contains(jwks, k => k!["kty"]!.GetValue<string>() == "RSA" && k["d"] is null);
    }

    [Fact]
    public async Task Refresh_WithoutScope_KeepsGrantAndContext_WithNarrowerScope_Narrows()
    {
        await using var host = await AuthzHost.StartAsync();
        var first = await TokenClient.StandaloneAsync(host, "openid fhirUser launch/patient patient/Patient.rs patient/Observation.rs offline_access");
        var refreshToken = first["refresh_token"]!.GetValue<string>();

        using var plain = await TokenClient.PostAsync(host, new() { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken, ["client_id"] = "public-app" });
        var refreshed = await plain.ReadObjectAsync();
        Assert.True(plain.StatusCode == HttpStatusCode.OK, refreshed.ToJsonString());
        Assert.Contains("no-store", plain.Headers.CacheControl!.ToString());
        Assert.Equal(first["scope"]!.GetValue<string>(), refreshed["scope"]!.GetValue<string>());
        Assert.Equal("p1", refreshed["patient"]!.GetValue<string>());
        Assert.True(refreshed["expires_in"]!.GetValue<long>() > 0);
        Assert.NotNull(refreshed["access_token"]);
        var rotated = refreshed["refresh_token"]?.GetValue<string>() ?? refreshToken;

        using var narrow = await TokenClient.PostAsync(host, new() { ["grant_type"] = "refresh_token", ["refresh_token"] = rotated, ["client_id"] = "public-app", ["scope"] = "patient/Observation.rs offline_access" });
        var narrowed = await narrow.ReadObjectAsync();
        Assert.True(narrow.StatusCode == HttpStatusCode.OK, narrowed.ToJsonString());
        Assert.Equal("patient/Observation.rs offline_access", narrowed["scope"]!.GetValue<string>());
        var access = new JsonWebToken(narrowed["access_token"]!.GetValue<string>());
        Assert.Equal("p1", access.GetClaim("patient").Value);

        // Widening at refresh is refused.
        var latest = narrowed["refresh_token"]?.GetValue<string>() ?? rotated;
        using var wider = await TokenClient.PostAsync(host, new() { ["grant_type"] = "refresh_token", ["refresh_token"] = latest, ["client_id"] = "public-app", ["scope"] = "patient/Observation.rs user/*.rs" });
        Assert.Equal(HttpStatusCode.BadRequest, wider.StatusCode);
    }

    [Fact]
    public async Task Refresh_OnlineAccess_GetsRefreshToken()
    {
        await using var host = await AuthzHost.StartAsync();
        var first = await TokenClient.StandaloneAsync(host, "openid fhirUser launch/patient patient/*.rs online_access");
        Assert.Contains("online_access", first["scope"]!.GetValue<string>().Split(' '));
        var refreshToken = first["refresh_token"]!.GetValue<string>();
        using var response = await TokenClient.PostAsync(host, new() { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken, ["client_id"] = "public-app" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Introspection_ActiveTokenWithLaunchContext_InvalidTokenInactive()
    {
        await using var host = await AuthzHost.StartAsync();
        var token = (await TokenClient.StandaloneAsync(host))["access_token"]!.GetValue<string>();
        using var http = new HttpClient();

        async Task<JsonObject> IntrospectAsync(string value)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, host.Url("connect/introspect")) { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = value }) };
            request.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("resource-server:" + AuthzHost.Secret)));
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.ReadObjectAsync();
        }

        var active = await IntrospectAsync(token);
        Assert.True(active["active"]!.GetValue<bool>(), active.ToJsonString());
        Assert.Equal("p1", active["patient"]!.GetValue<string>());
        Assert.Equal(host.FhirBase + "/Practitioner/dr-1", active["fhirUser"]!.GetValue<string>());
        Assert.True(active["scope"]?.GetValue<string>().Contains("patient/*.rs") == true, active.ToJsonString());
        Assert.True(active["client_id"]?.GetValue<string>() == "public-app", active.ToJsonString());
        Assert.Equal("dr", active["sub"]!.GetValue<string>());
        Assert.True(active["exp"]!.GetValue<long>() > DateTimeOffset.UtcNow.ToUnixTimeSeconds());

        var inactive = await IntrospectAsync("not-a-token");
        Assert.False(inactive["active"]!.GetValue<bool>());
        Assert.Single(inactive);

        var tampered = await IntrospectAsync(token[..^4] + (token.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA"));
        Assert.False(tampered["active"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Introspection_ByAnotherAppClient_IsInactive()
    {
        await using var host = await AuthzHost.StartAsync();
        var token = (await TokenClient.StandaloneAsync(host))["access_token"]!.GetValue<string>();
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, host.Url("connect/introspect")) { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }) };
        request.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("secret-app:" + AuthzHost.Secret)));
        using var response = await http.SendAsync(request);
        var json = await response.ReadObjectAsync();
        Assert.False(json["active"]?.GetValue<bool>() ?? false, json.ToJsonString());
    }

    [Fact]
    public async Task EhrLaunch_LaunchBoundToPatientEncounterUser_ResolvedOnceAtAuthorize()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        await browser.LoginAsync(host.BaseUrl, "dr");
        using var minted = await browser.Http.PostAsync(host.Url("smart/launch"), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["patient"] = "p3", ["encounter"] = "e-9", ["fhirContext"] = "ImagingStudy/7",
        }));
        Assert.Equal(HttpStatusCode.OK, minted.StatusCode);
        var launch = (await minted.ReadObjectAsync())["launch"]!.GetValue<string>();
        Assert.True(launch.Length >= 40);

        var (verifier, challenge) = Pkce.Create();
        var outcome = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "secret-app", "openid fhirUser launch patient/*.rs", challenge, launch: launch));
        Assert.True(outcome.ReachedClient, outcome.Body);
        Assert.DoesNotContain(outcome.Visited, u => u.AbsolutePath == "/smart/patient-picker");
        using var response = await TokenClient.ExchangeSecretAppCodeAsync(host, outcome.Param("code")!, verifier);
        var json = await response.ReadObjectAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToJsonString());
        Assert.Equal("p3", json["patient"]!.GetValue<string>());
        Assert.Equal("e-9", json["encounter"]!.GetValue<string>());
        Assert.Equal("ImagingStudy/7", json["fhirContext"]![0]!["reference"]!.GetValue<string>());
        Assert.Contains("launch", json["scope"]!.GetValue<string>().Split(' '));

        // Single use: the same launch again is refused.
        var again = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "secret-app", "openid fhirUser launch patient/*.rs", Pkce.Create().Challenge, launch: launch));
        Assert.Null(again.Param("code"));
        Assert.Equal("invalid_request", again.Param("error"));
    }

    [Fact]
    public async Task EhrLaunch_OtherUserOrUnknownLaunch_IsRefused()
    {
        await using var host = await AuthzHost.StartAsync();
        using var ehr = new Browser();
        await ehr.LoginAsync(host.BaseUrl, "dr");
        using var minted = await ehr.Http.PostAsync(host.Url("smart/launch"), new FormUrlEncodedContent(new Dictionary<string, string> { ["patient"] = "p1" }));
        var launch = (await minted.ReadObjectAsync())["launch"]!.GetValue<string>();

        using var other = new Browser();
        var outcome = await other.AuthorizeAsync(Pkce.AuthorizeUrl(host, "public-app", "openid launch patient/*.rs", Pkce.Create().Challenge, launch: launch), "pat");
        Assert.Equal("invalid_request", outcome.Param("error"));

        var unknown = await ehr.AuthorizeAsync(Pkce.AuthorizeUrl(host, "public-app", "openid launch patient/*.rs", Pkce.Create().Challenge, launch: "made-up"));
        Assert.Equal("invalid_request", unknown.Param("error"));

        using var anonymous = new HttpClient();
        using var refused = await anonymous.PostAsync(host.Url("smart/launch"), new FormUrlEncodedContent(new Dictionary<string, string> { ["patient"] = "p1" }));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using var badId = await ehr.Http.PostAsync(host.Url("smart/launch"), new FormUrlEncodedContent(new Dictionary<string, string> { ["patient"] = "p1/../x" }));
        Assert.Equal(HttpStatusCode.BadRequest, badId.StatusCode);
    }
}
