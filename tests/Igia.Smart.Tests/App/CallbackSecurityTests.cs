using System.Net;
using Igia.Smart.Tests.Infrastructure;

namespace Igia.Smart.Tests.App;

/// <summary>
/// The "Security and bad input" cases of SMART App Launch against the real OpenID provider: each is refused with an error
/// naming the failed check, and no session is created.
/// </summary>
[Collection(SmartCollection.Name)]
public sealed class CallbackSecurityTests(SmartEnvironment env)
{
    [Fact]
    public async Task Launch_IssNotOnAllowList_RefusedBeforeAnyRedirectAndNothingSentToIt()
    {
        await using var rogue = await RecordingHost.StartAsync();
        using var browser = new HeadlessBrowser();
        var rogueBase = new Uri(rogue.BaseUrl, "fhir").AbsoluteUri;

        var result = await browser.RunAsync(env.PublicApp.Url($"/launch?iss={Uri.EscapeDataString(rogueBase)}&launch=abc"));

        Assert.Equal(HttpStatusCode.BadRequest, result.Status);
        Assert.Equal("issuer_not_allowed", result.Check);
        Assert.Single(result.Visited);
        Assert.Empty(rogue.Requests);
        await AssertNoSessionAsync(browser, env.PublicApp);
    }

    [Theory]
    [InlineData("http://127.0.0.1:1/fhir")]
    [InlineData("not a url")]
    [InlineData("javascript:alert(1)")]
    public async Task Launch_IssMalformedOrUnknown_RefusedWithIssuerNotAllowed(string iss)
    {
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(env.PublicApp.Url($"/launch?iss={Uri.EscapeDataString(iss)}&launch=abc"));

        Assert.Equal(HttpStatusCode.BadRequest, result.Status);
        Assert.Equal("issuer_not_allowed", result.Check);
    }

    [Fact]
    public async Task Launch_IssWithTrailingSlashOfRegisteredBase_Accepted()
    {
        var launch = await env.RegisterLaunchAsync();
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(env.PublicApp.Url($"/launch?iss={Uri.EscapeDataString(env.FhirBase + "/")}&launch={launch}"), stopBefore: u => u.Port != env.PublicApp.BaseUrl.Port);

        Assert.Equal(HttpStatusCode.Redirect, result.Status);
        Assert.Equal(env.Provider.Issuer.Port, result.Url.Port);
    }

    [Fact]
    public async Task Launch_LaunchWithoutIss_RefusedAsInvalidLaunchRequest()
    {
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(env.PublicApp.Url("/launch?launch=abc"));

        Assert.Equal(HttpStatusCode.BadRequest, result.Status);
        Assert.Equal("invalid_launch_request", result.Check);
    }

    [Theory]
    [InlineData("https://evil.example.org/")]
    [InlineData("//evil.example.org/")]
    [InlineData("/\\evil.example.org")]
    public async Task Launch_ReturnUrlNotLocal_RefusedAsInvalidLaunchRequest(string returnUrl)
    {
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(env.PublicApp.Url("/launch?server=ehr&returnUrl=" + Uri.EscapeDataString(returnUrl)));

        Assert.Equal(HttpStatusCode.BadRequest, result.Status);
        Assert.Equal("invalid_launch_request", result.Check);
    }

    [Fact]
    public async Task Launch_UnknownServerName_RefusedAsServerNotSpecified()
    {
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(env.PublicApp.Url("/launch?server=nope"));

        Assert.Equal(HttpStatusCode.BadRequest, result.Status);
        Assert.Equal("server_not_specified", result.Check);
    }

    [Fact]
    public async Task Callback_StateMissing_Refused()
    {
        using var browser = new HeadlessBrowser();

        var result = await browser.GetAsync(env.PublicApp.Url("/callback?code=abc"));

        Assert.Equal(HttpStatusCode.BadRequest, result.Status);
        Assert.Equal("state_missing", result.Check);
    }

    [Fact]
    public async Task Callback_StateNeverIssued_RefusedAsUnknown()
    {
        using var browser = new HeadlessBrowser();
        await browser.RunAsync(env.PublicApp.Url("/launch?server=ehr"), stopBefore: u => u.Port != env.PublicApp.BaseUrl.Port);

        var result = await browser.GetAsync(env.PublicApp.Url("/callback?code=abc&state=" + new string('A', 43)));

        Assert.Equal(HttpStatusCode.BadRequest, result.Status);
        Assert.Equal("state_unknown", result.Check);
    }

    [Fact]
    public async Task Callback_StateReused_RefusedAndFirstSessionKept()
    {
        using var browser = new HeadlessBrowser();
        var first = await browser.RunAsync(env.PublicApp.Url("/launch?server=ehr"));
        Assert.Equal(HttpStatusCode.OK, first.Status);

        var replay = await browser.GetAsync(first.Callback!);

        Assert.Equal(HttpStatusCode.BadRequest, replay.Status);
        Assert.Equal("state_reused", replay.Check);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(env.PublicApp.Url("/me"))).Status);
    }

    [Fact]
    public async Task Callback_StateOfAnotherBrowser_RefusedAsForeignAndOwnerCanStillComplete()
    {
        using var victim = new HeadlessBrowser();
        using var attacker = new HeadlessBrowser();
        var pending = await victim.RunAsync(env.PublicApp.Url("/launch?server=ehr"), stopBefore: u => u.AbsolutePath == "/callback");
        var callback = pending.Url;

        var foreign = await attacker.GetAsync(callback);

        Assert.Equal(HttpStatusCode.BadRequest, foreign.Status);
        Assert.Equal("state_foreign", foreign.Check);
        await AssertNoSessionAsync(attacker, env.PublicApp);
        var owner = await victim.RunAsync(callback);
        Assert.Equal(HttpStatusCode.OK, owner.Status);
    }

    [Fact]
    public async Task Callback_AuthorizationErrorResponse_RefusedWithTheServersErrorCode()
    {
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(env.PublicApp.Url("/launch?server=ehr"), new LoginForm(Deny: true));

        Assert.Equal(HttpStatusCode.BadRequest, result.Status);
        Assert.Equal("authorization_error", result.Check);
        Assert.Equal("access_denied", result.Json!["error"]!.GetValue<string>());
        await AssertNoSessionAsync(browser, env.PublicApp);
    }

    [Theory]
    [InlineData("no-access-token", "access_token_missing")]
    [InlineData("token-type-mac", "token_type_not_bearer")]
    [InlineData("no-id-token", "id_token_missing")]
    [InlineData("id-token-expired", "id_token_expired")]
    [InlineData("id-token-wrong-aud", "id_token_audience_mismatch")]
    [InlineData("id-token-wrong-iss", "id_token_issuer_mismatch")]
    [InlineData("id-token-alg-none", "id_token_unsigned")]
    [InlineData("id-token-unknown-key", "id_token_unknown_key")]
    [InlineData("id-token-bad-signature", "id_token_signature_invalid")]
    [InlineData("id-token-wrong-nonce", "id_token_nonce_mismatch")]
    public async Task Callback_BadTokenResponse_RefusedNamingTheCheck(string quirk, string check)
    {
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(env.PublicApp.Url("/launch?server=ehr"), new LoginForm(Quirk: quirk));

        Assert.Equal(HttpStatusCode.BadRequest, result.Status);
        Assert.Equal(check, result.Check);
        Assert.Contains("SMART launch failed", result.Body, StringComparison.Ordinal);
        await AssertNoSessionAsync(browser, env.PublicApp);
    }

    [Fact]
    public async Task Callback_StateIssuedByAnotherApp_RefusedAsUnknown()
    {
        // A callback meant for the public app, replayed at the symmetric app: that app never issued the state.
        using var browser = new HeadlessBrowser();
        var pending = await browser.RunAsync(env.PublicApp.Url("/launch?server=ehr"), stopBefore: u => u.AbsolutePath == "/callback");

        var result = await browser.GetAsync(env.SymmetricApp.Url("/callback" + pending.Url.Query));

        Assert.Equal(HttpStatusCode.BadRequest, result.Status);
        Assert.Equal("state_unknown", result.Check);
    }

    private static async Task AssertNoSessionAsync(HeadlessBrowser browser, SmartAppHost app)
    {
        var me = await browser.GetAsync(app.Url("/me"));
        Assert.Equal(HttpStatusCode.Unauthorized, me.Status);
        Assert.Equal("no_session", me.Check);
    }
}
