using System.Net;
using Igia.Smart.Tests.Infrastructure;

namespace Igia.Smart.Tests.App;

/// <summary>Refresh of SMART sessions against the real OpenID provider: proactive, on 401, single-flight, and servers that drop offline_access.</summary>
[Collection(SmartCollection.Name)]
public sealed class RefreshTests(SmartEnvironment env) : IDisposable
{
    private static readonly TimeSpan AlmostAnHour = TimeSpan.FromMinutes(59);

    public static TheoryData<string> Apps => ["public", "symmetric", "rs384", "es384"];

    public void Dispose() => env.RefreshApp.Clock!.Reset();

    [Fact]
    public async Task GetToken_AccessTokenAboutToExpire_RefreshedBeforeTheFhirRequest()
    {
        var app = env.RefreshApp;
        using var browser = await LaunchAsync(app);
        var first = await TokenAsync(browser, app);
        var since = OidcProviderProcess.Now;

        app.Clock!.Advance(AlmostAnHour);
        var patient = await browser.GetAsync(app.Url("/patient"));

        Assert.Equal(HttpStatusCode.OK, patient.Status);
        var second = await TokenAsync(browser, app);
        Assert.NotEqual(first, second);
        Assert.Single(await env.Provider.GetTokenRequestsAsync("app-refresh", "refresh_token", since));
        var used = env.Fhir.Tokens.Last(t => t.Path.EndsWith("/Patient/" + SmartEnvironment.PatientId, StringComparison.Ordinal));
        Assert.Equal(second, used.Token);
        Assert.True(used.Active);
    }

    [Fact]
    public async Task GetToken_ManyConcurrentRequestsNeedARefresh_OneRefreshInFlight()
    {
        var app = env.RefreshApp;
        using var browser = await LaunchAsync(app);
        var refreshesBefore = app.SessionManager.RefreshCount;
        var since = OidcProviderProcess.Now;

        app.Clock!.Advance(AlmostAnHour);
        var results = await Task.WhenAll(Enumerable.Range(0, 25).Select(_ => browser.GetAsync(app.Url("/patient"))));

        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Single(await env.Provider.GetTokenRequestsAsync("app-refresh", "refresh_token", since));
        Assert.Equal(1, app.SessionManager.RefreshCount - refreshesBefore);
    }

    [Fact]
    public async Task GetToken_ParallelFhirCallsInOneRequestNeedARefresh_OneRefreshInFlight()
    {
        var app = env.RefreshApp;
        using var browser = await LaunchAsync(app);
        var since = OidcProviderProcess.Now;

        app.Clock!.Advance(AlmostAnHour);
        var result = await browser.GetAsync(app.Url("/parallel?n=20"));

        Assert.Equal(HttpStatusCode.OK, result.Status);
        Assert.Equal(20, result.Json!["ok"]!.GetValue<int>());
        Assert.Single(await env.Provider.GetTokenRequestsAsync("app-refresh", "refresh_token", since));
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public async Task FhirRequest_TokenRejectedWith401_RefreshedOnceAndRetried(string kind)
    {
        var app = App(kind);
        using var browser = await LaunchAsync(app);
        var first = await TokenAsync(browser, app);
        await env.Provider.RevokeAccessTokenAsync(first);
        var since = OidcProviderProcess.Now;

        var patient = await browser.GetAsync(app.Url("/patient"));

        Assert.Equal(HttpStatusCode.OK, patient.Status);
        var second = await TokenAsync(browser, app);
        Assert.NotEqual(first, second);
        Assert.Contains(env.Fhir.Tokens, t => t.Token == first && !t.Active);
        Assert.Contains(env.Fhir.Tokens, t => t.Token == second && t.Active);
        var refresh = Assert.Single(await env.Provider.GetTokenRequestsAsync(app.Client.ClientId, "refresh_token", since));
        ConformanceAssert.WellFormedRefresh(refresh, app, env.Provider.Issuer);
    }

    [Fact]
    public async Task Refresh_ServerOmitsOfflineAccessFromRefreshedScope_SessionKeepsItAndRefreshesAgain()
    {
        var app = env.PublicApp;
        using var browser = await LaunchAsync(app, new LoginForm(Quirk: "refresh-drops-offline"));
        var first = await TokenAsync(browser, app);
        await env.Provider.RevokeAccessTokenAsync(first);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(app.Url("/patient"))).Status);
        var second = await TokenAsync(browser, app);

        var me = (await browser.GetAsync(app.Url("/me"))).Json!;
        Assert.Contains("offline_access", me["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.True(me["canRefresh"]!.GetValue<bool>());
        await env.Provider.RevokeAccessTokenAsync(second);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(app.Url("/patient"))).Status);
        var third = await TokenAsync(browser, app);
        Assert.NotEqual(second, third);
    }

    [Fact]
    public async Task Refresh_OnlineAccessSession_RefreshTokenHeldAndUsedWhenTokenRejected()
    {
        var app = env.SymmetricApp;
        using var browser = await LaunchAsync(app);
        var me = (await browser.GetAsync(app.Url("/me"))).Json!;
        var scopes = me["scopes"]!.AsArray().Select(s => s!.GetValue<string>()).ToList();
        Assert.Contains("online_access", scopes);
        Assert.DoesNotContain("offline_access", scopes);
        Assert.True(me["canRefresh"]!.GetValue<bool>());

        var first = await TokenAsync(browser, app);
        await env.Provider.RevokeAccessTokenAsync(first);
        var since = OidcProviderProcess.Now;
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(app.Url("/patient"))).Status);

        var second = await TokenAsync(browser, app);
        Assert.NotEqual(first, second);
        var refresh = Assert.Single(await env.Provider.GetTokenRequestsAsync(app.Client.ClientId, "refresh_token", since));
        ConformanceAssert.WellFormedRefresh(refresh, app, env.Provider.Issuer);
        var after = (await browser.GetAsync(app.Url("/me"))).Json!;
        Assert.Contains("online_access", after["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
    }

    [Fact]
    public async Task GetToken_ExpiredWithoutRefreshToken_SessionExpired()
    {
        var app = env.RefreshApp;
        using var browser = await LaunchAsync(app, new LoginForm(Quirk: "no-refresh-token"));
        Assert.False((await browser.GetAsync(app.Url("/me"))).Json!["canRefresh"]!.GetValue<bool>());

        app.Clock!.Advance(TimeSpan.FromMinutes(61));
        var token = await browser.GetAsync(app.Url("/token"));

        Assert.Equal(HttpStatusCode.Unauthorized, token.Status);
        Assert.Equal("session_expired", token.Check);
    }

    [Fact]
    public async Task EndSession_AfterLaunch_SessionGone()
    {
        var app = env.PublicApp;
        using var browser = await LaunchAsync(app);

        await browser.GetAsync(app.Url("/end"));

        Assert.Equal("no_session", (await browser.GetAsync(app.Url("/me"))).Check);
    }

    private async Task<HeadlessBrowser> LaunchAsync(SmartAppHost app, LoginForm? login = null)
    {
        var browser = new HeadlessBrowser();
        var result = await browser.RunAsync(app.Url("/launch?server=ehr"), login ?? new LoginForm());
        Assert.Equal(HttpStatusCode.OK, result.Status);
        return browser;
    }

    private static async Task<string> TokenAsync(HeadlessBrowser browser, SmartAppHost app)
    {
        var token = await browser.GetAsync(app.Url("/token"));
        Assert.Equal(HttpStatusCode.OK, token.Status);
        return token.Body;
    }

    private SmartAppHost App(string kind) => kind switch
    {
        "public" => env.PublicApp,
        "symmetric" => env.SymmetricApp,
        "rs384" => env.Rs384App,
        _ => env.Es384App,
    };
}
