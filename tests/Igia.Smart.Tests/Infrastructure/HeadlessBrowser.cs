using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Igia.Smart.Tests.Infrastructure;

/// <summary>What the user types on the test EHR's login page.</summary>
/// <param name="Login">The user (the id_token's sub; fhirUser is Practitioner/{login}).</param>
/// <param name="Patient">The patient picked in a standalone launch (default smart-1).</param>
/// <param name="Encounter">The encounter picked in a standalone launch, if any.</param>
/// <param name="Quirk">Makes this one flow misbehave (see oidc/server.mjs), e.g. "id-token-expired".</param>
/// <param name="Deny">Denies the authorization instead of allowing it.</param>
public sealed record LoginForm(string Login = "alice", string? Patient = null, string? Encounter = null, string? Quirk = null, bool Deny = false);

/// <summary>The end of a browser flow.</summary>
public sealed record BrowserResult(HttpStatusCode Status, Uri Url, string Body, IReadOnlyList<Uri> Visited)
{
    /// <summary>The app callback URL the authorization server redirected to, if the flow got that far.</summary>
    public Uri? Callback => Visited.LastOrDefault(u => u.AbsolutePath.EndsWith("/callback", StringComparison.Ordinal));

    public JsonNode? Json => Body.Length > 0 && (Body[0] == '{' || Body[0] == '[') ? JsonNode.Parse(Body) : null;

    public string? Check => Json?["check"]?.GetValue<string>();

    /// <summary>The session id the app appended to its return URL.</summary>
    public string? SessionId => System.Web.HttpUtility.ParseQueryString(Url.Query)["smart_session"];
}

/// <summary>
/// Drives the browser part of a SMART launch with plain HTTP: follows redirects, keeps cookies, submits the auto-posting
/// authorize form and fills in the test EHR's login form. No JavaScript, no real browser.
/// </summary>
public sealed partial class HeadlessBrowser : IDisposable
{
    private readonly HttpClient _http;

    public HeadlessBrowser()
    {
        Cookies = new CookieContainer();
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = Cookies, UseCookies = true })
        {
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    public CookieContainer Cookies { get; }

    /// <summary>Starts at <paramref name="start"/> and goes on until a page that is neither a redirect nor a form to submit.</summary>
    /// <param name="start">The first URL (usually the app's /launch).</param>
    /// <param name="login">What to fill into the login form.</param>
    /// <param name="stopBefore">Stops (without requesting it) before a URL for which this returns true.</param>
    public async Task<BrowserResult> RunAsync(Uri start, LoginForm? login = null, Func<Uri, bool>? stopBefore = null)
    {
        login ??= new LoginForm();
        var visited = new List<Uri>();
        var request = new HttpRequestMessage(HttpMethod.Get, start);
        for (var step = 0; step < 30; step++)
        {
            var url = request.RequestUri!;
            visited.Add(url);
            using var response = await _http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            request.Dispose();
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                var next = new Uri(url, location);
                if (stopBefore?.Invoke(next) == true)
                {
                    return new BrowserResult(response.StatusCode, next, body, visited);
                }

                request = new HttpRequestMessage(HttpMethod.Get, next);
                continue;
            }

            if (status == 200 && FormTag().Match(body) is { Success: true } form)
            {
                var action = new Uri(url, WebUtility.HtmlDecode(form.Groups["action"].Value));
                var fields = Inputs().Matches(form.Groups["body"].Value)
                    .Select(m => new KeyValuePair<string, string>(WebUtility.HtmlDecode(m.Groups["name"].Value), WebUtility.HtmlDecode(m.Groups["value"].Value)))
                    .ToList();
                if (action.AbsolutePath.Contains("/interaction/", StringComparison.Ordinal))
                {
                    fields = Fill(fields, login);
                }

                if (stopBefore?.Invoke(action) == true)
                {
                    return new BrowserResult(response.StatusCode, action, body, visited);
                }

                request = new HttpRequestMessage(HttpMethod.Post, action) { Content = new FormUrlEncodedContent(fields) };
                continue;
            }

            return new BrowserResult(response.StatusCode, url, body, visited);
        }

        throw new InvalidOperationException("The flow did not end within 30 steps: " + string.Join(" -> ", visited));
    }

    /// <summary>A plain GET with this browser's cookies.</summary>
    public async Task<BrowserResult> GetAsync(Uri url)
    {
        using var response = await _http.GetAsync(url);
        return new BrowserResult(response.StatusCode, url, await response.Content.ReadAsStringAsync(), [url]);
    }

    private static List<KeyValuePair<string, string>> Fill(List<KeyValuePair<string, string>> fields, LoginForm login) =>
        fields.Select(f => f.Key switch
        {
            "login" => new KeyValuePair<string, string>("login", login.Login),
            "patient" => new KeyValuePair<string, string>("patient", login.Patient ?? ""),
            "encounter" => new KeyValuePair<string, string>("encounter", login.Encounter ?? ""),
            "quirk" => new KeyValuePair<string, string>("quirk", login.Quirk ?? ""),
            "decision" => new KeyValuePair<string, string>("decision", login.Deny ? "deny" : "approve"),
            _ => f,
        }).ToList();

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("<form[^>]*action=\"(?<action>[^\"]*)\"[^>]*>(?<body>.*?)</form>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex FormTag();

    [GeneratedRegex("<input[^>]*name=\"(?<name>[^\"]*)\"[^>]*value=\"(?<value>[^\"]*)\"[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex Inputs();
}
