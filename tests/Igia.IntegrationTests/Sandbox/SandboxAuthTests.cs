using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Web;
using Igia.IntegrationTests.Infrastructure;

namespace Igia.IntegrationTests.Sandbox;

/// <summary>
/// The sandbox as started by default: its FHIR API wants SMART tokens, its authorization server logs users in, and its
/// sample SMART app completes a standalone and an EHR launch and shows the patient banner — all over real HTTP.
/// </summary>
public sealed partial class SandboxAuthTests
{
    [Fact]
    public async Task Sandbox_Default_ProtectsFhirApi_PublishesSmartConfiguration()
    {
        using var data = new TempFolder("igia-sandbox-auth");
        await using var sandbox = await SandboxHost.StartAsync(data.Path, noAuth: false);

        using var anonymous = await sandbox.Http.GetAsync("Patient?_count=1");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("Bearer", anonymous.Headers.WwwAuthenticate.ToString());
        Assert.Equal(HttpStatusCode.OK, (await sandbox.Http.GetAsync("metadata")).StatusCode);

        var config = JsonNode.Parse(await sandbox.Http.GetStringAsync(".well-known/smart-configuration"))!;
        Assert.Equal(new Uri(sandbox.Server.BaseAddress, "connect/token").ToString(), config["token_endpoint"]!.GetValue<string>());
        Assert.Contains("S256", config["code_challenge_methods_supported"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.DoesNotContain("plain", config["code_challenge_methods_supported"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Contains("launch-standalone", config["capabilities"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.True(await sandbox.Server.WaitForOutputAsync("Seeded the sandbox", TimeSpan.FromSeconds(60)), sandbox.Server.Output);
    }

    [Fact]
    public async Task Sandbox_SampleApp_StandaloneLaunch_ShowsPatientBanner()
    {
        using var data = new TempFolder("igia-sandbox-auth");
        await using var sandbox = await SandboxHost.StartAsync(data.Path, noAuth: false);
        using var browser = new FormBrowser(sandbox.Server.BaseAddress);

        var page = await browser.RunAsync(new Uri(sandbox.Server.BaseAddress, "app/launch"), "practitioner", pickFirstPatient: true);
        Assert.True(page.Contains("id=\"patient-banner\"", StringComparison.Ordinal), page + "\n" + sandbox.Server.Output);
        Assert.Contains("<tr><td>", page); // observations read through the protected FHIR API with the app's token
        Assert.Contains("Standalone", page);
        Assert.DoesNotContain("code=", sandbox.Server.Output); // no authorization code in the logs

        // Igia.Audit: the login, the token issued and the app's FHIR reads are in the hash-chained local log (durable
        // before each response left), as DICOM 110114 User Authentication (110122 Login) and BALP REST events.
        var audit = string.Concat(Directory.GetFiles(data.Combine("audit"), "*.jsonl", SearchOption.AllDirectories).Select(File.ReadAllText));
        Assert.Contains("\"110122\"", audit);
        Assert.Contains("\"110114\"", audit);
        Assert.Contains("\"ITI-71\"", audit);
        Assert.Contains("\"rest\"", audit);
        Assert.Contains("practitioner", audit);
    }

    [Fact]
    public async Task Sandbox_PatientUser_StandaloneLaunch_GetsOwnRecordWithoutPicker()
    {
        using var data = new TempFolder("igia-sandbox-auth");
        await using var sandbox = await SandboxHost.StartAsync(data.Path, noAuth: false);
        using var browser = new FormBrowser(sandbox.Server.BaseAddress);
        var page = await browser.RunAsync(new Uri(sandbox.Server.BaseAddress, "app/launch"), "patient", pickFirstPatient: false);
        Assert.Contains("id=\"patient-banner\"", page);
        Assert.Contains("MRN100000", page);
        Assert.DoesNotContain(browser.Visited, u => u.AbsolutePath == "/smart/patient-picker");
    }

    [Fact]
    public async Task Sandbox_Launcher_EhrLaunch_OpensAppForChosenPatient()
    {
        using var data = new TempFolder("igia-sandbox-auth");
        await using var sandbox = await SandboxHost.StartAsync(data.Path, noAuth: false);
        using var browser = new FormBrowser(sandbox.Server.BaseAddress);
        await browser.LoginAsync("practitioner");
        var launcher = await browser.GetStringAsync(new Uri(sandbox.Server.BaseAddress, "/"));
        var patientId = PatientInput().Match(launcher).Groups[1].Value;
        Assert.NotEmpty(patientId);

        var page = await browser.PostFormAsync(new Uri(sandbox.Server.BaseAddress, "launcher/ehr"), new Dictionary<string, string> { ["patient"] = patientId });
        Assert.True(page.Contains("id=\"patient-banner\"", StringComparison.Ordinal), page + "\n" + sandbox.Server.Output);
        Assert.Contains("Ehr", page);
        Assert.Contains(browser.Visited, u => u.AbsolutePath == "/app/launch" && HttpUtility.ParseQueryString(u.Query)["launch"] is { Length: > 0 });
    }

    [Fact]
    public async Task Sandbox_RestartWithAuth_KeepsSigningKeyAndClients()
    {
        using var data = new TempFolder("igia-sandbox-auth");
        string keysBefore;
        await using (var first = await SandboxHost.StartAsync(data.Path, noAuth: false))
        {
            keysBefore = await first.Http.GetStringAsync(new Uri(first.Server.BaseAddress, "connect/jwks"));
        }

        Assert.True(File.Exists(data.Combine("signing-key.pem")) && File.Exists(data.Combine("authorization.db")));
        await using var second = await SandboxHost.StartAsync(data.Path, noAuth: false);
        Assert.Equal(keysBefore, await second.Http.GetStringAsync(new Uri(second.Server.BaseAddress, "connect/jwks")));
        using var browser = new FormBrowser(second.Server.BaseAddress);
        var page = await browser.RunAsync(new Uri(second.Server.BaseAddress, "app/launch"), "patient", pickFirstPatient: false);
        Assert.True(page.Contains("id=\"patient-banner\"", StringComparison.Ordinal), page + "\n" + second.Server.Output);
    }

    [GeneratedRegex("name=\"patient\" value=\"([^\"]+)\"")]
    private static partial Regex PatientInput();
}

/// <summary>
/// A browser over HTTP for the sandbox's pages: cookies, redirects, auto-submitting forms (authorize-post), the login page
/// and the patient picker (first patient).
/// </summary>
internal sealed partial class FormBrowser : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _base;

    public FormBrowser(Uri baseAddress)
    {
        _base = baseAddress;
        _http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { Timeout = TimeSpan.FromMinutes(3) };
    }

    public List<Uri> Visited { get; } = [];

    public async Task<string> GetStringAsync(Uri url) => await _http.GetStringAsync(url);

    public async Task LoginAsync(string user)
    {
        using var response = await _http.PostAsync(new Uri(_base, "smart/login"), new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = user, ["password"] = user, ["returnUrl"] = "/" }));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
    }

    public async Task<string> PostFormAsync(Uri url, Dictionary<string, string> form)
    {
        using var response = await _http.PostAsync(url, new FormUrlEncodedContent(form));
        return await FollowAsync(url, response, "practitioner", true);
    }

    public async Task<string> RunAsync(Uri start, string user, bool pickFirstPatient)
    {
        using var response = await _http.GetAsync(start);
        return await FollowAsync(start, response, user, pickFirstPatient);
    }

    private async Task<string> FollowAsync(Uri url, HttpResponseMessage first, string user, bool pick)
    {
        var response = first;
        for (var i = 0; i < 25; i++)
        {
            Visited.Add(url);
            var body = await response.Content.ReadAsStringAsync();
            HttpResponseMessage next;
            if (response.Headers.Location is { } location)
            {
                url = new Uri(url, location);
                next = await _http.GetAsync(url);
            }
            else if (url.AbsolutePath == "/smart/login" && response.StatusCode == HttpStatusCode.OK)
            {
                next = await _http.PostAsync(url, new FormUrlEncodedContent(Hidden(body).Append(new("username", user)).Append(new("password", user))));
            }
            else if (url.AbsolutePath == "/smart/patient-picker" && response.StatusCode == HttpStatusCode.OK && pick)
            {
                var patient = PickButton().Match(body).Groups[1].Value;
                var returnUrl = HttpUtility.HtmlDecode(ReturnUrl().Match(body).Groups[1].Value);
                next = await _http.PostAsync(url, new FormUrlEncodedContent(new Dictionary<string, string> { ["patient"] = patient, ["returnUrl"] = returnUrl }));
            }
            else if (AutoPost().Match(body) is { Success: true } form)
            {
                // The app's authorize-post page: the form submits itself in a browser.
                url = new Uri(HttpUtility.HtmlDecode(form.Groups[1].Value));
                next = await _http.PostAsync(url, new FormUrlEncodedContent(Hidden(body)));
            }
            else
            {
                return body;
            }

            if (!ReferenceEquals(response, first))
            {
                response.Dispose();
            }

            response = next;
        }

        throw new InvalidOperationException("Too many steps: " + string.Join(" → ", Visited));
    }

    private static IEnumerable<KeyValuePair<string, string>> Hidden(string body) =>
        HiddenInput().Matches(body).Select(m => new KeyValuePair<string, string>(HttpUtility.HtmlDecode(m.Groups[1].Value), HttpUtility.HtmlDecode(m.Groups[2].Value)));

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenInput();

    [GeneratedRegex("<form method=\"post\" action=\"([^\"]+)\">(?:<input type=\"hidden\"[^>]*>)+<noscript>")]
    private static partial Regex AutoPost();

    [GeneratedRegex("data-patient=\"([^\"]+)\"")]
    private static partial Regex PickButton();

    [GeneratedRegex("name=\"returnUrl\" value=\"([^\"]*)\"")]
    private static partial Regex ReturnUrl();
}
