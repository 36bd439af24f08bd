using System.Collections.Concurrent;
using System.Net;
using Igia.Smart.AuthorizationServer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;

namespace Igia.Smart.AuthorizationServer.Tests;

/// <summary>
/// Security events fail closed: when an <see cref="ISmartAuthorizationEventSink"/> throws or times out, nothing is issued
/// (no code, no token, no login cookie), the client gets a clean 503 (never a 500), and the log names the failure without
/// secrets. Once the sink recovers, the same code or refresh token still works (it was never redeemed).
/// </summary>
public sealed class FailClosedEventTests
{
    private static async Task<(AuthzHost Host, SwitchableSink Sink)> StartAsync(TimeSpan? timeout = null)
    {
        var sink = new SwitchableSink();
        var host = await AuthzHost.StartAsync(
            o => o.EventSinkTimeout = timeout ?? TimeSpan.FromSeconds(5),
            s => s.AddSingleton<ISmartAuthorizationEventSink>(sink));
        return (host, sink);
    }

    [Fact]
    public async Task TokenEndpoint_SinkThrows_503TemporarilyUnavailable_NoToken_CodeStillUsableAfterRecovery()
    {
        var (host, sink) = await StartAsync();
        await using var _ = host;
        using var browser = new Browser();
        var (verifier, challenge) = Pkce.Create();
        var outcome = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "public-app", "openid fhirUser launch/patient patient/*.rs offline_access", challenge), "dr", pickPatient: "p1");
        Assert.True(outcome.ReachedClient, outcome.Body);
        var code = outcome.Param("code")!;

        sink.Fail("token");
        using (var refused = await TokenClient.ExchangeCodeAsync(host, "public-app", code, verifier))
        {
            var json = await refused.ReadObjectAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("temporarily_unavailable", json["error"]!.GetValue<string>());
            Assert.Null(json["access_token"]);
            Assert.Null(json["refresh_token"]);
            Assert.Null(json["id_token"]);
            Assert.Contains("no-store", refused.Headers.CacheControl!.ToString());
        }

        Assert.Equal(0, await CountTokensAsync(host, OpenIddictConstants.TokenTypeIdentifiers.AccessToken));
        Assert.Equal(0, await CountTokensAsync(host, OpenIddictConstants.TokenTypeIdentifiers.RefreshToken));
        Assert.Contains(host.Logs, l => l.Contains("fail-closed", StringComparison.Ordinal) && l.Contains(nameof(SwitchableSink), StringComparison.Ordinal));
        Assert.DoesNotContain(host.Logs, l => l.Contains(code, StringComparison.Ordinal) || l.Contains(verifier, StringComparison.Ordinal) || l.Contains(SwitchableSink.SecretMessage, StringComparison.Ordinal));

        sink.Heal();
        using var ok = await TokenClient.ExchangeCodeAsync(host, "public-app", code, verifier);
        var tokens = await ok.ReadObjectAsync();
        Assert.True(ok.StatusCode == HttpStatusCode.OK, tokens.ToJsonString());
        Assert.NotNull(tokens["access_token"]);
        Assert.Contains(sink.Recorded, e => e == "token");
    }

    [Fact]
    public async Task Refresh_SinkThrows_503_RefreshTokenNotBurned()
    {
        var (host, sink) = await StartAsync();
        await using var _ = host;
        var first = await TokenClient.StandaloneAsync(host);
        var refreshToken = first["refresh_token"]!.GetValue<string>();
        var accessBefore = await CountTokensAsync(host, OpenIddictConstants.TokenTypeIdentifiers.AccessToken);

        sink.Fail("token-refresh");
        var form = new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken, ["client_id"] = "public-app" };
        using (var refused = await TokenClient.PostAsync(host, form))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            var json = await refused.ReadObjectAsync();
            Assert.Equal("temporarily_unavailable", json["error"]!.GetValue<string>());
            Assert.Null(json["access_token"]);
        }

        Assert.Equal(accessBefore, await CountTokensAsync(host, OpenIddictConstants.TokenTypeIdentifiers.AccessToken));
        sink.Heal();
        using var ok = await TokenClient.PostAsync(host, form);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task ClientCredentials_SinkThrows_503()
    {
        var (host, sink) = await StartAsync();
        await using var _ = host;
        sink.Fail("token-client-credentials");
        using var refused = await TokenClient.PostAsync(host, new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["scope"] = "system/Patient.rs",
            ["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", ["client_assertion"] = AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl),
        });
        var json = await refused.ReadObjectAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("temporarily_unavailable", json["error"]!.GetValue<string>());
        Assert.Null(json["access_token"]);
        Assert.Equal(0, await CountTokensAsync(host, OpenIddictConstants.TokenTypeIdentifiers.AccessToken));
    }

    [Fact]
    public async Task ClientCredentials_SinkHangs_TimesOut_503()
    {
        var (host, sink) = await StartAsync(TimeSpan.FromMilliseconds(300));
        await using var _ = host;
        sink.Hang("token-client-credentials");
        using var refused = await TokenClient.PostAsync(host, new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["scope"] = "system/Patient.rs",
            ["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", ["client_assertion"] = AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl),
        });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("temporarily_unavailable", (await refused.ReadObjectAsync())["error"]!.GetValue<string>());
        // Answered while the sink still hangs (no timing assertion: the sink is held until released below).
        Assert.Equal(1, sink.Hanging);
        Assert.Contains(host.Logs, l => l.Contains("timeout", StringComparison.Ordinal) && l.Contains("fail-closed", StringComparison.Ordinal));
        sink.Release();
    }

    [Fact]
    public async Task Authorize_SinkThrows_RedirectsWithTemporarilyUnavailable_NoCode()
    {
        var (host, sink) = await StartAsync();
        await using var _ = host;
        sink.Fail("authorize");
        using var browser = new Browser();
        var (_, challenge) = Pkce.Create();
        var outcome = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "public-app", "openid launch/patient patient/*.rs", challenge), "dr", pickPatient: "p1");
        Assert.True(outcome.ReachedClient, $"{outcome.Status} {outcome.Body}");
        Assert.Equal("temporarily_unavailable", outcome.Param("error"));
        Assert.Null(outcome.Param("code"));
        Assert.Equal(0, await CountTokensAsync(host, OpenIddictConstants.TokenTypeIdentifiers.Private.AuthorizationCode));
    }

    [Fact]
    public async Task Login_SinkThrows_503Page_NoLoginCookie()
    {
        var (host, sink) = await StartAsync();
        await using var _ = host;
        sink.Fail("login", "login-failed");
        using var browser = new Browser();
        using (var login = await browser.Http.PostAsync(host.Url("smart/login"), new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "dr", ["password"] = "dr-password", ["returnUrl"] = "/" })))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, login.StatusCode);
            Assert.Contains("temporarily unavailable", await login.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.False(login.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith(".Igia.Smart.Login", StringComparison.Ordinal)));
        }

        Assert.DoesNotContain(browser.Cookies.GetCookies(host.BaseUrl), c => c.Name.StartsWith(".Igia.Smart.Login", StringComparison.Ordinal));
        using (var wrong = await browser.Http.PostAsync(host.Url("smart/login"), new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "dr", ["password"] = "nope", ["returnUrl"] = "/" })))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, wrong.StatusCode);
        }

        // Still not logged in: the authorization endpoint sends the browser to the login page.
        var (_, challenge) = Pkce.Create();
        using var authorize = await browser.Http.GetAsync(Pkce.AuthorizeUrl(host, "public-app", "openid patient/*.rs", challenge));
        Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);
        Assert.Contains("/smart/login", authorize.Headers.Location!.ToString(), StringComparison.Ordinal);

        sink.Heal();
        await browser.LoginAsync(host.BaseUrl, "dr");
    }

    [Fact]
    public async Task Logout_SinkThrows_SignsOutAnyway_503Page()
    {
        var (host, sink) = await StartAsync();
        await using var _ = host;
        using var browser = new Browser();
        await browser.LoginAsync(host.BaseUrl, "dr");
        sink.Fail("logout");
        using (var logout = await browser.Http.PostAsync(host.Url("smart/logout"), new FormUrlEncodedContent(new Dictionary<string, string> { ["returnUrl"] = "/" })))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, logout.StatusCode);
        }

        var (_, challenge) = Pkce.Create();
        using var authorize = await browser.Http.GetAsync(Pkce.AuthorizeUrl(host, "public-app", "openid patient/*.rs", challenge));
        Assert.Contains("/smart/login", authorize.Headers.Location!.ToString(), StringComparison.Ordinal);
    }

    private static async Task<long> CountTokensAsync(AuthzHost host, string type)
    {
        await using var scope = host.App.Services.CreateAsyncScope();
        var tokens = scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
        long count = 0;
        await foreach (var token in tokens.ListAsync(count: null, offset: null, CancellationToken.None))
        {
            if (await tokens.HasTypeAsync(token, type, CancellationToken.None))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>A sink that records events and, on demand, throws (with a message that must never reach the log) or hangs.</summary>
    private sealed class SwitchableSink : ISmartAuthorizationEventSink
    {
        public const string SecretMessage = "sink-internal-detail-4711";

        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile string[] _fail = [];
        private volatile bool _hang;
        private int _hanging;

        public ConcurrentQueue<string> Recorded { get; } = new();

        public void Fail(params string[] kinds) => (_fail, _hang) = (kinds, false);

        public void Hang(params string[] kinds) => (_fail, _hang) = (kinds, true);

        public void Heal() => _fail = [];

        /// <summary>Calls currently held by <see cref="Hang"/>.</summary>
        public int Hanging => Volatile.Read(ref _hanging);

        /// <summary>Lets held calls end (with the failure).</summary>
        public void Release() => _release.TrySetResult();

        public async ValueTask OnEventAsync(SmartAuthorizationEvent smartEvent, CancellationToken cancellationToken)
        {
            if (_fail.Contains(smartEvent.Kind))
            {
                if (_hang)
                {
                    // Ignores its cancellation token: the server must stop waiting on its own.
                    Interlocked.Increment(ref _hanging);
                    try
                    {
                        await _release.Task;
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _hanging);
                    }
                }

                throw new InvalidOperationException(SecretMessage);
            }

            Recorded.Enqueue(smartEvent.Kind);
        }
    }
}
