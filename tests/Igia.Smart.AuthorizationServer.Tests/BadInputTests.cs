using System.Net;
using System.Text;
using Igia.Smart.AuthorizationServer.Tests.Infrastructure;

namespace Igia.Smart.AuthorizationServer.Tests;

/// <summary>Malformed requests to every endpoint get a 4xx, never a 500.</summary>
public sealed class BadInputTests
{
    [Fact]
    public async Task Endpoints_MalformedRequests_Get4xx()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        await browser.LoginAsync(host.BaseUrl, "dr");
        var cases = new (string Name, HttpRequestMessage Request)[]
        {
            ("login as JSON", Post(host, "smart/login", "{\"username\":\"dr\"}", "application/json")),
            ("login without body", Post(host, "smart/login", "", "application/x-www-form-urlencoded")),
            ("picker as JSON", Post(host, "smart/patient-picker", "{}", "application/json")),
            ("picker with unknown patient", Post(host, "smart/patient-picker", "patient=nobody&returnUrl=%2Fconnect%2Fauthorize%3Fx%3D1", "application/x-www-form-urlencoded")),
            ("picker with foreign return", Post(host, "smart/patient-picker", "patient=p1&returnUrl=https%3A%2F%2Fevil.example%2F", "application/x-www-form-urlencoded")),
            ("launch as JSON", Post(host, "smart/launch", "{\"patient\":\"p1\"}", "application/json")),
            ("launch with bad id", Post(host, "smart/launch", "patient=" + new string('x', 100), "application/x-www-form-urlencoded")),
            ("token as JSON", Post(host, "connect/token", "{\"grant_type\":\"client_credentials\"}", "application/json")),
            ("token without body", Post(host, "connect/token", "", "application/x-www-form-urlencoded")),
            ("token with garbage code", Post(host, "connect/token", "grant_type=authorization_code&client_id=public-app&code=%00%01&code_verifier=x&redirect_uri=" + Uri.EscapeDataString(AuthzHost.RedirectUri), "application/x-www-form-urlencoded")),
            ("introspect without client", Post(host, "connect/introspect", "token=abc", "application/x-www-form-urlencoded")),
            ("authorize without parameters", new HttpRequestMessage(HttpMethod.Get, host.Url("connect/authorize"))),
            ("authorize with unknown client", new HttpRequestMessage(HttpMethod.Get, host.Url("connect/authorize?response_type=code&client_id=nobody&redirect_uri=x&scope=openid"))),
            ("authorize with unregistered redirect", new HttpRequestMessage(HttpMethod.Get, host.Url($"connect/authorize?response_type=code&client_id=public-app&redirect_uri={Uri.EscapeDataString("https://evil.example/cb")}&scope=openid&aud={Uri.EscapeDataString(host.FhirBase)}&code_challenge=abcabcabcabcabcabcabcabcabcabcabcabcabcabca&code_challenge_method=S256"))),
        };
        foreach (var (name, request) in cases)
        {
            using (request)
            using (var response = await browser.Http.SendAsync(request))
            {
                Assert.True((int)response.StatusCode is >= 400 and < 500, $"{name}: {(int)response.StatusCode}\n{string.Join("\n", host.Logs.Where(l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal)))}");
            }
        }
    }

    private static HttpRequestMessage Post(AuthzHost host, string path, string body, string type) =>
        new(HttpMethod.Post, host.Url(path)) { Content = new StringContent(body, Encoding.UTF8, type) };
}
