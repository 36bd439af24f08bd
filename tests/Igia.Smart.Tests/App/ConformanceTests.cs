using System.Net;
using Igia.Smart.Tests.Infrastructure;

namespace Igia.Smart.Tests.App;

/// <summary>The client-side checks of the SMART App Launch STU 2.2 test kit, on requests the real OpenID provider received.</summary>
[Collection(SmartCollection.Name)]
public sealed class ConformanceTests(SmartEnvironment env)
{
    public static TheoryData<string> Apps => ["public", "symmetric", "rs384", "es384"];

    [Theory]
    [MemberData(nameof(Apps))]
    public async Task AuthorizeRequest_EhrLaunch_CarriesEveryRequiredParameter(string kind)
    {
        var app = App(kind);
        var launch = await env.RegisterLaunchAsync();
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(app.Url($"/launch?iss={Uri.EscapeDataString(env.FhirBase)}&launch={launch}"));

        Assert.Equal(HttpStatusCode.OK, result.Status);
        var auth = await AuthRequestAsync(result);
        ConformanceAssert.AuthorizeRequest(auth, app, env.FhirBase, launch);
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public async Task AuthorizeRequest_StandaloneLaunch_CarriesEveryRequiredParameterAndNoLaunch(string kind)
    {
        var app = App(kind);
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(app.Url("/launch?server=ehr"));

        Assert.Equal(HttpStatusCode.OK, result.Status);
        var auth = await AuthRequestAsync(result);
        ConformanceAssert.AuthorizeRequest(auth, app, env.FhirBase, launch: null);
        Assert.Contains("launch/patient", auth.Param("scope")!.Split(' '));
    }

    [Theory]
    [InlineData("public", "GET")]
    [InlineData("rs384", "GET")]
    [InlineData("es384", "POST")]
    [InlineData("symmetric", "POST")] // Auto: the server declares authorize-post
    public async Task AuthorizeRequest_AuthorizeMethod_GetOrPostAsConfigured(string kind, string method)
    {
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(App(kind).Url("/launch?server=ehr"));

        Assert.Equal(HttpStatusCode.OK, result.Status);
        Assert.Equal(method, (await AuthRequestAsync(result)).Method);
    }

    [Fact]
    public async Task AuthorizeRequest_TwoLaunches_StatesAndChallengesDiffer()
    {
        using var first = new HeadlessBrowser();
        using var second = new HeadlessBrowser();

        var a = await AuthRequestAsync(await first.RunAsync(env.PublicApp.Url("/launch?server=ehr")));
        var b = await AuthRequestAsync(await second.RunAsync(env.PublicApp.Url("/launch?server=ehr")));

        Assert.NotEqual(a.Param("state"), b.Param("state"));
        Assert.NotEqual(a.Param("code_challenge"), b.Param("code_challenge"));
        Assert.NotEqual(a.Param("nonce"), b.Param("nonce"));
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public async Task TokenRequest_CodeExchange_SameRedirectUriVerifierMatchesChallengeAndClientAuthenticates(string kind)
    {
        var app = App(kind);
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(app.Url("/launch?server=ehr"));

        Assert.Equal(HttpStatusCode.OK, result.Status);
        var auth = await AuthRequestAsync(result);
        var code = System.Web.HttpUtility.ParseQueryString(result.Callback!.Query)["code"]!;
        var token = Assert.Single(await env.Provider.GetRequestsAsync(), r => r.Route == "token" && r.Param("code") == code);
        ConformanceAssert.CodeExchange(token, auth, code, app, env.Provider.Issuer);
    }

    [Theory]
    [InlineData("rs384")]
    [InlineData("es384")]
    public async Task ClientAssertion_TwoTokenRequests_UniqueJtiEach(string kind)
    {
        var app = App(kind);
        var jtis = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            using var browser = new HeadlessBrowser();
            var result = await browser.RunAsync(app.Url("/launch?server=ehr"));
            var code = System.Web.HttpUtility.ParseQueryString(result.Callback!.Query)["code"]!;
            var token = Assert.Single(await env.Provider.GetRequestsAsync(), r => r.Route == "token" && r.Param("code") == code);
            jtis.Add(ConformanceAssert.ClientAssertion(token, app.Client.ClientId, new Uri(env.Provider.Issuer, "/token"), app.Client.Key!).Id);
        }

        Assert.Equal(2, jtis.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public async Task FhirRequest_AfterLaunch_CarriesTheIssuedAccessTokenAsBearer(string kind)
    {
        var app = App(kind);
        using var browser = new HeadlessBrowser();
        await browser.RunAsync(app.Url("/launch?server=ehr"));
        var accessToken = (await browser.GetAsync(app.Url("/token"))).Body;

        var patient = await browser.GetAsync(app.Url("/patient"));

        Assert.Equal(HttpStatusCode.OK, patient.Status);
        Assert.Contains(env.Fhir.Tokens, t => t.Token == accessToken && t.Active && t.Path == "/fhir/Patient/" + SmartEnvironment.PatientId);
    }

    private async Task<RecordedRequest> AuthRequestAsync(BrowserResult result)
    {
        var state = System.Web.HttpUtility.ParseQueryString(result.Callback!.Query)["state"];
        return Assert.Single(await env.Provider.GetRequestsAsync(), r => r.Route == "auth" && r.Param("state") == state);
    }

    private SmartAppHost App(string kind) => kind switch
    {
        "public" => env.PublicApp,
        "symmetric" => env.SymmetricApp,
        "rs384" => env.Rs384App,
        _ => env.Es384App,
    };
}
