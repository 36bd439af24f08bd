using System.Net;
using Igia.Smart.AuthorizationServer.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Igia.Smart.AuthorizationServer.Tests;

/// <summary>SMART Backend Services: client_credentials + private_key_jwt (RS384/ES384), the spec's errors, jti replay, kid/jku rules.</summary>
public sealed class BackendServicesTests
{
    private const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    private static Dictionary<string, string> Form(string assertion, string scope = "system/Patient.rs system/Observation.rs", string grant = "client_credentials", string type = AssertionType) => new()
    {
        ["grant_type"] = grant, ["scope"] = scope, ["client_assertion_type"] = type, ["client_assertion"] = assertion,
    };

    [Theory]
    [InlineData("rsa")]
    [InlineData("ec")]
    public async Task ClientCredentials_SignedAssertion_GetsSystemToken(string kind)
    {
        await using var host = await AuthzHost.StartAsync();
        var key = kind == "rsa" ? AuthzHost.BackendRsa : AuthzHost.BackendEc;
        using var response = await TokenClient.PostAsync(host, Form(key.Assertion("backend", host.TokenUrl), "system/Patient.rs system/Observation.rs user/*.rs"));
        var json = await response.ReadObjectAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToJsonString());
        Assert.Equal("system/Patient.rs system/Observation.rs", json["scope"]!.GetValue<string>());
        Assert.True(json["expires_in"]!.GetValue<long>() > 0);
        Assert.Null(json["refresh_token"]);
        Assert.Contains("no-store", response.Headers.CacheControl!.ToString());
        var access = new JsonWebToken(json["access_token"]!.GetValue<string>());
        Assert.Contains(host.FhirBase, access.Audiences);
        Assert.Equal("backend", access.Subject);
    }

    [Fact]
    public async Task ClientCredentials_ReplayedJti_IsRefused()
    {
        await using var host = await AuthzHost.StartAsync();
        var assertion = AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl, jti: "same-jti-1");
        using var first = await TokenClient.PostAsync(host, Form(assertion));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using var replay = await TokenClient.PostAsync(host, Form(assertion));
        Assert.Equal("invalid_client", (await replay.ReadObjectAsync())["error"]!.GetValue<string>());
        Assert.True(replay.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized);

        // Same jti in a new assertion: still refused.
        using var sameJti = await TokenClient.PostAsync(host, Form(AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl, jti: "same-jti-1")));
        Assert.Equal("invalid_client", (await sameJti.ReadObjectAsync())["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task ClientCredentials_BadAssertions_AreRefused()
    {
        await using var host = await AuthzHost.StartAsync();
        var cases = new Dictionary<string, Dictionary<string, string>>
        {
            ["exp more than 5 minutes ahead"] = Form(AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl, lifetime: TimeSpan.FromMinutes(10))),
            ["expired"] = Form(AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl, lifetime: TimeSpan.FromMinutes(-2))),
            ["wrong audience"] = Form(AuthzHost.BackendRsa.Assertion("backend", "https://other.example/token")),
            ["signed by an unregistered key"] = Form(ClientKey.Rsa("backend-rs384").Assertion("backend", host.TokenUrl)),
            ["RS256 instead of RS384"] = Form(AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl, alg: "RS256")),
            ["jku not registered"] = Form(AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl, extraHeaders: new Dictionary<string, object> { ["jku"] = "https://evil.example/jwks" })),
            ["no kid"] = Form(AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl, includeKid: false)),
            ["not a JWT"] = Form("not-a-jwt"),
            ["tampered payload"] = Form(Tamper(AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl))),
            ["wrong assertion type"] = Form(AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl), type: "urn:example:not-jwt-bearer"),
            ["another client's key"] = Form(AuthzHost.JwtAppKey.Assertion("backend", host.TokenUrl)),
        };
        foreach (var (name, form) in cases)
        {
            using var response = await TokenClient.PostAsync(host, form);
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized, $"{name}: {response.StatusCode}");
            var error = (await response.ReadObjectAsync())["error"]!.GetValue<string>();
            Assert.True(error is "invalid_client" or "invalid_request", $"{name}: {error}");
        }
    }

    [Fact]
    public async Task ClientCredentials_BadGrantType_Is400()
    {
        await using var host = await AuthzHost.StartAsync();
        using var response = await TokenClient.PostAsync(host, Form(AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl), grant: "client_credential"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("unsupported_grant_type", (await response.ReadObjectAsync())["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task ClientCredentials_NoAllowedScope_IsInvalidScope()
    {
        await using var host = await AuthzHost.StartAsync();
        using var response = await TokenClient.PostAsync(host, Form(AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl), scope: "system/Patient.cruds user/*.rs"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_scope", (await response.ReadObjectAsync())["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task ClientCredentials_PublicAppClient_IsRefused()
    {
        await using var host = await AuthzHost.StartAsync();
        using var response = await TokenClient.PostAsync(host, new() { ["grant_type"] = "client_credentials", ["client_id"] = "public-app", ["scope"] = "system/*.rs" });
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ClientCredentials_KeysByJwksUrl_FetchedAndJkuMustMatch()
    {
        await using var host = await AuthzHost.StartAsync();
        using var ok = await TokenClient.PostAsync(host, Form(AuthzHost.BackendByUrl.Assertion("backend-url", host.TokenUrl), "system/Patient.rs"));
        Assert.True(ok.StatusCode == HttpStatusCode.OK, await ok.Content.ReadAsStringAsync() + host.AllLogs);

        using var withJku = await TokenClient.PostAsync(host, Form(AuthzHost.BackendByUrl.Assertion("backend-url", host.TokenUrl,
            extraHeaders: new Dictionary<string, object> { ["jku"] = host.Url("test/jwks").ToString() }), "system/Patient.rs"));
        Assert.Equal(HttpStatusCode.OK, withJku.StatusCode);

        using var foreignJku = await TokenClient.PostAsync(host, Form(AuthzHost.BackendByUrl.Assertion("backend-url", host.TokenUrl,
            extraHeaders: new Dictionary<string, object> { ["jku"] = "https://evil.example/jwks" }), "system/Patient.rs"));
        Assert.Equal("invalid_client", (await foreignJku.ReadObjectAsync())["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task ConfidentialAsymmetricApp_PrivateKeyJwt_ExchangesCode()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        var (verifier, challenge) = Pkce.Create();
        var outcome = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "jwt-app", "openid fhirUser launch/patient patient/*.rs", challenge));
        using var response = await TokenClient.PostAsync(host, new()
        {
            ["grant_type"] = "authorization_code", ["code"] = outcome.Param("code")!, ["redirect_uri"] = AuthzHost.RedirectUri, ["code_verifier"] = verifier,
            ["client_assertion_type"] = AssertionType, ["client_assertion"] = AuthzHost.JwtAppKey.Assertion("jwt-app", host.TokenUrl),
        });
        var json = await response.ReadObjectAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToJsonString());
        Assert.Equal("p1", json["patient"]!.GetValue<string>());
    }

    private static string Tamper(string jwt)
    {
        var parts = jwt.Split('.');
        var payload = System.Text.Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"backend\"", "\"backend \"", StringComparison.Ordinal);
        return parts[0] + "." + Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(payload) + "." + parts[2];
    }
}
