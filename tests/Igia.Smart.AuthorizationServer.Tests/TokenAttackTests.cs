using System.Net;
using Igia.Smart.AuthorizationServer.Tests.Infrastructure;

namespace Igia.Smart.AuthorizationServer.Tests;

/// <summary>Attacks on the authorization and token endpoints are refused.</summary>
public sealed class TokenAttackTests
{
    [Fact]
    public async Task Authorize_PkcePlain_IsRefused()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        var (verifier, _) = Pkce.Create();
        var outcome = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "public-app", "openid patient/*.rs", verifier, method: "plain"));
        Assert.Null(outcome.Param("code"));
        Assert.Equal("invalid_request", outcome.Param("error") ?? ErrorFromBody(outcome.Body));
    }

    [Fact]
    public async Task Authorize_WithoutPkce_IsRefused()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        var outcome = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "public-app", "openid patient/*.rs", challenge: ""));
        Assert.Null(outcome.Param("code"));
        Assert.Equal("invalid_request", outcome.Param("error") ?? ErrorFromBody(outcome.Body));
    }

    [Theory]
    [InlineData("http://127.0.0.1:9/fhir")]
    [InlineData("https://evil.example/fhir")]
    [InlineData("")]
    public async Task Authorize_InvalidAud_IsRefusedBeforeLogin(string aud)
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        var (_, challenge) = Pkce.Create();
        var url = Pkce.AuthorizeUrl(host, "public-app", "openid patient/*.rs", challenge, aud: aud);
        if (aud.Length == 0)
        {
            url = new Uri(url.ToString().Replace("&aud=", "&x=", StringComparison.Ordinal));
        }

        var outcome = await browser.AuthorizeAsync(url);
        Assert.Null(outcome.Param("code"));
        // Refused on the server's own error page (400), not sent back to the client: nothing was issued.
        Assert.False(outcome.ReachedClient);
        Assert.Equal(HttpStatusCode.BadRequest, outcome.Status);
        Assert.Contains("error:invalid_request", outcome.Body);
        Assert.Contains("'aud'", outcome.Body);
        Assert.DoesNotContain(outcome.Visited, u => u.AbsolutePath == "/smart/login");
    }

    [Fact]
    public async Task Token_ReusedAuthorizationCode_IsRefused()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        var (verifier, challenge) = Pkce.Create();
        var outcome = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "public-app", "openid fhirUser launch/patient patient/*.rs offline_access", challenge));
        var code = outcome.Param("code")!;
        using var first = await TokenClient.ExchangeCodeAsync(host, "public-app", code, verifier);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var refresh = (await first.ReadObjectAsync())["refresh_token"]!.GetValue<string>();

        using var second = await TokenClient.ExchangeCodeAsync(host, "public-app", code, verifier);
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Equal("invalid_grant", (await second.ReadObjectAsync())["error"]!.GetValue<string>());

        // Reuse also revokes what the code gave (OpenIddict's token revocation on code replay).
        using var refreshed = await TokenClient.PostAsync(host, new() { ["grant_type"] = "refresh_token", ["refresh_token"] = refresh, ["client_id"] = "public-app" });
        Assert.Equal(HttpStatusCode.BadRequest, refreshed.StatusCode);
    }

    [Fact]
    public async Task Token_WrongCodeVerifier_IsRefused()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        var (_, challenge) = Pkce.Create();
        var outcome = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "public-app", "openid patient/*.rs", challenge));
        using var response = await TokenClient.ExchangeCodeAsync(host, "public-app", outcome.Param("code")!, Pkce.Create().Verifier);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_grant", (await response.ReadObjectAsync())["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Token_CodeOfAnotherClient_IsRefused()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        var (verifier, challenge) = Pkce.Create();
        var outcome = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "public-app", "openid patient/*.rs", challenge));
        using var response = await TokenClient.ExchangeSecretAppCodeAsync(host, outcome.Param("code")!, verifier);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("password")]
    [InlineData("implicit")]
    [InlineData("urn:ietf:params:oauth:grant-type:device_code")]
    [InlineData("")]
    public async Task Token_BadGrantType_Is400(string grantType)
    {
        await using var host = await AuthzHost.StartAsync();
        using var response = await TokenClient.PostAsync(host, new() { ["grant_type"] = grantType, ["client_id"] = "public-app", ["username"] = "dr", ["password"] = "dr-password" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.ReadObjectAsync())["error"]!.GetValue<string>();
        Assert.Contains(error, new[] { "unsupported_grant_type", "invalid_request" });
        Assert.Contains("no-store", response.Headers.CacheControl!.ToString());
    }

    [Fact]
    public async Task Token_WrongClientSecret_Is401()
    {
        await using var host = await AuthzHost.StartAsync();
        using var response = await TokenClient.PostAsync(host, new() { ["grant_type"] = "refresh_token", ["refresh_token"] = "x" }, ("secret-app", "wrong-secret"));
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized, response.StatusCode.ToString());
        Assert.Equal("invalid_client", (await response.ReadObjectAsync())["error"]!.GetValue<string>());
        Assert.DoesNotContain("wrong-secret", host.AllLogs);
    }

    private static string? ErrorFromBody(string body) =>
        body.Contains("invalid_request", StringComparison.Ordinal) ? "invalid_request" : null;
}
