using System.Net;
using System.Text.Json.Nodes;
using Igia.Smart.AuthorizationServer.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Smart.AuthorizationServer.Tests;

/// <summary>Standalone launch over HTTP: login page, patient picker, code, token response (SMART App Launch STU2.2 server checks).</summary>
public sealed class StandaloneLaunchTests
{
    [Fact]
    public async Task Standalone_PractitionerPicksPatient_TokenResponseHasSmartFields()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        var (verifier, challenge) = Pkce.Create();
        var outcome = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "public-app", "openid fhirUser launch/patient patient/*.rs patient/Condition.cruds offline_access", challenge, nonce: "n-1"), "dr", pickPatient: "p3");
        Assert.True(outcome.ReachedClient, $"{outcome.Status} {outcome.Url}\n{outcome.Body}\n{host.AllLogs}");
        Assert.Contains(outcome.Visited, u => u.AbsolutePath == "/smart/login");
        Assert.Contains(outcome.Visited, u => u.AbsolutePath == "/smart/patient-picker");
        Assert.NotNull(outcome.Param("state"));

        using var response = await TokenClient.ExchangeCodeAsync(host, "public-app", outcome.Param("code")!, verifier);
        var json = await response.ReadObjectAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("no-store", response.Headers.CacheControl!.ToString());
        Assert.Equal("Bearer", json["token_type"]!.GetValue<string>(), ignoreCase: true);
        Assert.Equal("p3", json["patient"]!.GetValue<string>());
        Assert.True(json["need_patient_banner"]!.GetValue<bool>());
        Assert.Equal("http://127.0.0.1:9/smart-style.json", json["smart_style_url"]!.GetValue<string>());
        Assert.True(json["expires_in"]!.GetValue<long>() > 0);
        Assert.NotNull(json["access_token"]);
        Assert.NotNull(json["refresh_token"]);
        // Granted ⊆ requested ∩ allowed: patient/Condition.cruds is beyond the client's patient/*.rs.
        var granted = json["scope"]!.GetValue<string>().Split(' ');
        Assert.Equal(["openid", "fhirUser", "launch/patient", "patient/*.rs", "offline_access"], granted);

        // id_token: RS256, signed by a key of the JWKS, with fhirUser, aud = client, nonce echoed.
        var jwks = new JsonWebKeySet(await browser.Http.GetStringAsync(host.Url("connect/jwks")));
        var idToken = json["id_token"]!.GetValue<string>();
        var validation = await new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = host.BaseUrl.ToString(), ValidAudience = "public-app", IssuerSigningKeys = jwks.GetSigningKeys(),
        });
        Assert.True(validation.IsValid, validation.Exception?.ToString());
        var id = (JsonWebToken)validation.SecurityToken;
        Assert.Equal("RS256", id.Alg);
        Assert.Equal(host.FhirBase + "/Practitioner/dr-1", id.GetClaim("fhirUser").Value);
        Assert.Equal("n-1", id.GetClaim("nonce").Value);
        Assert.Equal("dr", id.Subject);

        // Access token: a JWT for the FHIR base with the patient in it.
        var access = new JsonWebToken(json["access_token"]!.GetValue<string>());
        Assert.Contains(host.FhirBase, access.Audiences);
        Assert.Equal("p3", access.GetClaim("patient").Value);
        Assert.Equal("RS256", access.Alg);
    }

    [Fact]
    public async Task Standalone_PatientUser_GetsOwnPatientWithoutPicker()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        var (verifier, challenge) = Pkce.Create();
        var outcome = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "public-app", "openid fhirUser launch/patient patient/*.rs", challenge), "pat", pickPatient: null);
        Assert.True(outcome.ReachedClient, outcome.Body);
        Assert.DoesNotContain(outcome.Visited, u => u.AbsolutePath == "/smart/patient-picker");
        using var response = await TokenClient.ExchangeCodeAsync(host, "public-app", outcome.Param("code")!, verifier);
        var json = await response.ReadObjectAsync();
        Assert.Equal("p2", json["patient"]!.GetValue<string>());
        Assert.Null(json["refresh_token"]);
    }

    [Fact]
    public async Task Picker_ListsStorePatients_AndRefusesForeignReturnUrl()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        await browser.LoginAsync(host.BaseUrl, "dr");
        var page = await browser.Http.GetStringAsync(host.Url("smart/patient-picker?returnUrl=" + Uri.EscapeDataString("/connect/authorize?x=1") + "&q=Chen"));
        Assert.Contains("Carl Chen", page);
        Assert.DoesNotContain("Ann Abbott", page);
        using var bad = await browser.Http.GetAsync(host.Url("smart/patient-picker?returnUrl=" + Uri.EscapeDataString("https://evil.example/connect/authorize?")));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Authorize_PromptNoneWithoutLogin_IsLoginRequired()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        var url = new Uri(Pkce.AuthorizeUrl(host, "public-app", "openid patient/*.rs", Pkce.Create().Challenge) + "&prompt=none");
        var outcome = await browser.AuthorizeAsync(url);
        Assert.True(outcome.ReachedClient, outcome.Body);
        Assert.Equal("login_required", outcome.Param("error"));
        Assert.DoesNotContain(outcome.Visited, u => u.AbsolutePath == "/smart/login");
    }

    [Fact]
    public async Task Login_WrongPassword_Is401AndLogsNoPassword()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        using var response = await browser.Http.PostAsync(host.Url("smart/login"), new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "dr", ["password"] = "not-the-password-xyz" }));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain("not-the-password-xyz", host.AllLogs);
    }
}
