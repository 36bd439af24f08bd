using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Web;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Smart.AuthorizationServer.Tests.Infrastructure;

/// <summary>The outcome of an authorization request: where the browser ended (the client's redirect URI, or a page).</summary>
public sealed record AuthorizeOutcome(HttpStatusCode Status, Uri Url, string Body, IReadOnlyList<Uri> Visited)
{
    public bool ReachedClient => Url.ToString().StartsWith(AuthzHost.RedirectUri, StringComparison.Ordinal);

    public string? Param(string name) => HttpUtility.ParseQueryString(Url.Query)[name];
}

/// <summary>
/// A browser over HTTP: cookies kept, redirects followed by hand; logs in on the login page and picks a patient on the picker
/// page when it gets there; stops at the client's redirect URI.
/// </summary>
public sealed partial class Browser : IDisposable
{
    private readonly HttpClient _http;

    public Browser()
    {
        Cookies = new CookieContainer();
        _http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(60) };
    }

    public CookieContainer Cookies { get; }

    public HttpClient Http => _http;

    public async Task<AuthorizeOutcome> AuthorizeAsync(Uri start, string user = "dr", string password = "", string? pickPatient = "p1")
    {
        var visited = new List<Uri>();
        var url = start;
        HttpResponseMessage? response = null;
        string body = "";
        for (var i = 0; i < 20; i++)
        {
            visited.Add(url);
            if (url.ToString().StartsWith(AuthzHost.RedirectUri, StringComparison.Ordinal))
            {
                return new AuthorizeOutcome(HttpStatusCode.Found, url, "", visited);
            }

            response?.Dispose();
            response = await _http.GetAsync(url);
            body = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                url = new Uri(url, location);
                continue;
            }

            if (url.AbsolutePath.EndsWith("/smart/login", StringComparison.Ordinal) && response.StatusCode == HttpStatusCode.OK)
            {
                var returnUrl = HttpUtility.HtmlDecode(ReturnUrl().Match(body).Groups[1].Value);
                response.Dispose();
                response = await _http.PostAsync(url, new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["username"] = user, ["password"] = password.Length > 0 ? password : user + "-password", ["returnUrl"] = returnUrl,
                }));
                body = await response.Content.ReadAsStringAsync();
                if (response.Headers.Location is { } next)
                {
                    url = new Uri(url, next);
                    continue;
                }

                break;
            }

            if (url.AbsolutePath.EndsWith("/smart/patient-picker", StringComparison.Ordinal) && response.StatusCode == HttpStatusCode.OK && pickPatient is not null)
            {
                var returnUrl = HttpUtility.HtmlDecode(ReturnUrl().Match(body).Groups[1].Value);
                Assert.Contains($"data-patient=\"{pickPatient}\"", body);
                response.Dispose();
                response = await _http.PostAsync(url, new FormUrlEncodedContent(new Dictionary<string, string> { ["patient"] = pickPatient, ["returnUrl"] = returnUrl }));
                body = await response.Content.ReadAsStringAsync();
                if (response.Headers.Location is { } next)
                {
                    url = new Uri(url, next);
                    continue;
                }
            }

            break;
        }

        return new AuthorizeOutcome(response!.StatusCode, url, body, visited);
    }

    /// <summary>
    /// Follows everything a real browser would (redirects, auto-submitting forms), logs in and picks a patient on the way,
    /// and returns the final page's body.
    /// </summary>
    public async Task<(Uri Url, string Body, List<Uri> Visited)> RunAsync(Uri start, string user = "dr", string? pickPatient = "p1")
    {
        var visited = new List<Uri>();
        var url = start;
        var response = await _http.GetAsync(url);
        for (var i = 0; i < 25; i++)
        {
            visited.Add(url);
            var body = await response.Content.ReadAsStringAsync();
            HttpResponseMessage next;
            if (response.Headers.Location is { } location)
            {
                url = new Uri(url, location);
                next = await _http.GetAsync(url);
            }
            else if (url.AbsolutePath.EndsWith("/smart/login", StringComparison.Ordinal) && response.StatusCode == HttpStatusCode.OK)
            {
                next = await _http.PostAsync(url, new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["username"] = user, ["password"] = user + "-password", ["returnUrl"] = HttpUtility.HtmlDecode(ReturnUrl().Match(body).Groups[1].Value),
                }));
            }
            else if (url.AbsolutePath.EndsWith("/smart/patient-picker", StringComparison.Ordinal) && response.StatusCode == HttpStatusCode.OK && pickPatient is not null)
            {
                next = await _http.PostAsync(url, new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["patient"] = pickPatient, ["returnUrl"] = HttpUtility.HtmlDecode(ReturnUrl().Match(body).Groups[1].Value),
                }));
            }
            else if (AutoPost().Match(body) is { Success: true } form)
            {
                url = new Uri(HttpUtility.HtmlDecode(form.Groups[1].Value));
                next = await _http.PostAsync(url, new FormUrlEncodedContent(HiddenInput().Matches(body)
                    .Select(m => new KeyValuePair<string, string>(HttpUtility.HtmlDecode(m.Groups[1].Value), HttpUtility.HtmlDecode(m.Groups[2].Value)))));
            }
            else
            {
                response.Dispose();
                return (url, body, visited);
            }

            response.Dispose();
            response = next;
        }

        throw new InvalidOperationException("Too many steps: " + string.Join(" → ", visited));
    }

    public async Task LoginAsync(Uri baseUrl, string user)
    {
        using var response = await _http.PostAsync(new Uri(baseUrl, "smart/login"), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = user, ["password"] = user + "-password", ["returnUrl"] = "/",
        }));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenInput();

    [GeneratedRegex("<form method=\"post\" action=\"([^\"]+)\">(?:<input type=\"hidden\"[^>]*>)+<noscript>")]
    private static partial Regex AutoPost();

    [GeneratedRegex("name=\"returnUrl\" value=\"([^\"]*)\"")]
    private static partial Regex ReturnUrl();
}

/// <summary>PKCE and authorization URLs.</summary>
public static class Pkce
{
    public static (string Verifier, string Challenge) Create()
    {
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        return (verifier, Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }

    public static Uri AuthorizeUrl(AuthzHost host, string clientId, string scope, string challenge, string method = "S256", string? aud = null, string? launch = null, string? nonce = null)
    {
        var q = new Dictionary<string, string?>
        {
            ["response_type"] = "code", ["client_id"] = clientId, ["redirect_uri"] = AuthzHost.RedirectUri, ["scope"] = scope,
            ["state"] = Guid.NewGuid().ToString("N"), ["aud"] = aud ?? host.FhirBase, ["launch"] = launch, ["nonce"] = nonce,
        };
        if (challenge.Length > 0)
        {
            q["code_challenge"] = challenge;
            q["code_challenge_method"] = method;
        }

        return host.Url("connect/authorize" + Microsoft.AspNetCore.Http.QueryString.Create(q.Where(p => p.Value is not null)));
    }
}
