using System.Net;
using Igia.Smart.Tests.Infrastructure;

namespace Igia.Smart.Tests.App;

/// <summary>Standalone and EHR launch, end to end against oidc-provider, for public, symmetric and asymmetric (RS384, ES384) clients.</summary>
[Collection(SmartCollection.Name)]
public sealed class LaunchTests(SmartEnvironment env)
{
    public static TheoryData<string> Apps => ["public", "symmetric", "rs384", "es384"];

    [Theory]
    [MemberData(nameof(Apps))]
    public async Task StandaloneLaunch_ClientType_SessionWithPatientContextReadsFhir(string kind)
    {
        var app = App(kind);
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(app.Url("/launch?server=ehr"), new LoginForm("alice", Patient: SmartEnvironment.PatientId));

        Assert.Equal(HttpStatusCode.OK, result.Status);
        Assert.Equal("home", result.Body);
        Assert.NotNull(result.SessionId);
        var me = (await browser.GetAsync(app.Url("/me"))).Json!;
        Assert.Equal("Standalone", me["kind"]!.GetValue<string>());
        Assert.Equal(SmartEnvironment.PatientId, me["patient"]!.GetValue<string>());
        Assert.True(me["needPatientBanner"]!.GetValue<bool>());
        Assert.Equal(env.FhirBase + "/Practitioner/alice", me["fhirUser"]!.GetValue<string>());
        Assert.Equal("alice", me["subject"]!.GetValue<string>());
        Assert.True(me["canRefresh"]!.GetValue<bool>());
        var scopes = me["scopes"]!.AsArray().Select(s => s!.GetValue<string>()).ToList();
        Assert.Contains("launch/patient", scopes);
        Assert.Contains(app.Client.StandaloneScopes!.Split(' ')[3], scopes); // the clinical scope: patient/*.rs, user/*.rs or patient/Patient.rs
        Assert.Contains(kind == "symmetric" ? "online_access" : "offline_access", scopes);
        if (kind == "es384")
        {
            Assert.Contains(SmartEnvironment.NarrowedScope, scopes);
        }

        var patient = await browser.GetAsync(app.Url("/patient"));
        Assert.Equal(HttpStatusCode.OK, patient.Status);
        Assert.Equal(SmartEnvironment.PatientFamily, patient.Json!["family"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public async Task EhrLaunch_ClientType_SessionCarriesLaunchContext(string kind)
    {
        var app = App(kind);
        var launch = await env.RegisterLaunchAsync();
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(app.Url($"/launch?iss={Uri.EscapeDataString(env.FhirBase)}&launch={launch}"));

        Assert.Equal(HttpStatusCode.OK, result.Status);
        var me = (await browser.GetAsync(app.Url("/me"))).Json!;
        Assert.Equal("Ehr", me["kind"]!.GetValue<string>());
        Assert.Equal(SmartEnvironment.PatientId, me["patient"]!.GetValue<string>());
        Assert.Equal("enc-1", me["encounter"]!.GetValue<string>());
        Assert.False(me["needPatientBanner"]!.GetValue<bool>());
        Assert.Equal("https://ehr.example.org/styles/smart_v1.json", me["smartStyleUrl"]!.GetValue<string>());
        Assert.Equal("reconcile-medications", me["intent"]!.GetValue<string>());
        Assert.Equal("tenant-a", me["tenant"]!.GetValue<string>());
        var context = me["fhirContext"]!.AsArray();
        Assert.Equal(3, context.Count);
        Assert.Equal("Encounter/enc-1", context[0]!["reference"]!.GetValue<string>());
        Assert.Equal("Questionnaire", context[1]!["type"]!.GetValue<string>());
        Assert.Equal("order-77", context[2]!["identifier"]!.GetValue<string>());
        Assert.Equal("https://example.org/role/order", context[2]!["role"]!.GetValue<string>());
        Assert.Contains("launch", me["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));

        var patient = await browser.GetAsync(app.Url("/patient"));
        Assert.Equal(HttpStatusCode.OK, patient.Status);
        Assert.Equal(SmartEnvironment.PatientFamily, patient.Json!["family"]!.GetValue<string>());
    }

    [Fact]
    public async Task StandaloneLaunch_IssWithoutLaunch_StandaloneSessionForThatServer()
    {
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(env.PublicApp.Url($"/launch?iss={Uri.EscapeDataString(env.FhirBase)}&returnUrl=%2Fme"));

        Assert.Equal(HttpStatusCode.OK, result.Status);
        Assert.Equal("/me", result.Url.AbsolutePath);
        Assert.Equal("Standalone", result.Json!["kind"]!.GetValue<string>());
    }

    [Fact]
    public async Task Session_TwoLaunchesInOneBrowser_EachTabKeepsItsOwnPatient()
    {
        using var browser = new HeadlessBrowser();
        var first = await browser.RunAsync(env.PublicApp.Url($"/launch?iss={Uri.EscapeDataString(env.FhirBase)}&launch={await env.RegisterLaunchAsync(SmartEnvironment.PatientId)}"));
        var second = await browser.RunAsync(env.PublicApp.Url($"/launch?iss={Uri.EscapeDataString(env.FhirBase)}&launch={await env.RegisterLaunchAsync("smart-2")}"));

        var firstTab = await browser.GetAsync(env.PublicApp.Url("/patient?smart_session=" + first.SessionId));
        var secondTab = await browser.GetAsync(env.PublicApp.Url("/patient?smart_session=" + second.SessionId));
        var latest = await browser.GetAsync(env.PublicApp.Url("/me"));
        using var stranger = new HeadlessBrowser();
        var stolen = await stranger.GetAsync(env.PublicApp.Url("/me?smart_session=" + first.SessionId));

        Assert.Equal(SmartEnvironment.PatientFamily, firstTab.Json!["family"]!.GetValue<string>());
        Assert.Equal("Otherly", secondTab.Json!["family"]!.GetValue<string>());
        Assert.Equal("smart-2", latest.Json!["patient"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Unauthorized, stolen.Status);
    }

    private SmartAppHost App(string kind) => kind switch
    {
        "public" => env.PublicApp,
        "symmetric" => env.SymmetricApp,
        "rs384" => env.Rs384App,
        _ => env.Es384App,
    };
}
