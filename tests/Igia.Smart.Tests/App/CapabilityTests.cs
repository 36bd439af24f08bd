using System.Net;
using Igia.Smart.App;
using Igia.Smart.Protocol;
using Igia.Smart.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Smart.Tests.App;

/// <summary>The server's declared capabilities are checked against what the launch needs, before the user is sent anywhere.</summary>
public sealed class CapabilityTests
{
    private const string Minimal = """
        {"issuer":"https://auth.example.org","authorization_endpoint":"https://auth.example.org/authorize","token_endpoint":"https://auth.example.org/token",
         "code_challenge_methods_supported":["S256"],"capabilities":["launch-standalone","client-public","sso-openid-connect","permission-patient","permission-v2","context-standalone-patient","permission-offline"]}
        """;

    [Fact]
    public async Task Launch_ServerLacksLaunchEhr_RefusedNamingTheCapability()
    {
        await using var server = await ServerAsync(Minimal);
        await using var app = await SmartAppHost.StartAsync(new Uri(server.BaseUrl, "fhir").AbsoluteUri, new AppClient("c", SmartClientAuthentication.Public));
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(app.Url($"/launch?iss={Uri.EscapeDataString(new Uri(server.BaseUrl, "fhir").AbsoluteUri)}&launch=l1"));

        Assert.Equal(HttpStatusCode.BadRequest, result.Status);
        Assert.Equal("capability_missing", result.Check);
        Assert.Contains("launch-ehr", result.Json!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Launch_ServerLacksAsymmetricClients_RefusedForAPrivateKeyJwtClient()
    {
        await using var server = await ServerAsync(Minimal);
        using var key = SmartSigningKey.Generate(SmartSigningAlgorithm.ES384);
        await using var app = await SmartAppHost.StartAsync(new Uri(server.BaseUrl, "fhir").AbsoluteUri, new AppClient("c", SmartClientAuthentication.PrivateKeyJwt, Key: key));
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(app.Url("/launch?server=ehr"));

        Assert.Equal("capability_missing", result.Check);
        Assert.Contains("client-confidential-asymmetric", result.Json!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Launch_ServerOffersOnlyPlainPkce_RefusedWhateverTheCheckMode()
    {
        await using var server = await ServerAsync(Minimal.Replace("\"S256\"", "\"plain\"", StringComparison.Ordinal));
        await using var app = await SmartAppHost.StartAsync(new Uri(server.BaseUrl, "fhir").AbsoluteUri, new AppClient("c", SmartClientAuthentication.Public), b => b.Services.PostConfigureAll<SmartServerOptions>(o => o.CapabilityCheck = SmartCapabilityCheck.Off));
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(app.Url("/launch?server=ehr"));

        Assert.Equal("capability_missing", result.Check);
        Assert.Contains("S256", result.Json!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Launch_CapabilityMissingInWarnMode_RedirectsWithPkceS256()
    {
        await using var server = await ServerAsync(Minimal);
        await using var app = await SmartAppHost.StartAsync(new Uri(server.BaseUrl, "fhir").AbsoluteUri, new AppClient("c", SmartClientAuthentication.Public), b => b.Services.PostConfigureAll<SmartServerOptions>(o => o.CapabilityCheck = SmartCapabilityCheck.Warn));
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(app.Url($"/launch?iss={Uri.EscapeDataString(new Uri(server.BaseUrl, "fhir").AbsoluteUri)}&launch=l1"), stopBefore: u => u.Host == "auth.example.org");

        Assert.Equal(HttpStatusCode.Found, result.Status);
        var query = System.Web.HttpUtility.ParseQueryString(result.Url.Query);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal("l1", query["launch"]);
        Assert.Contains(app.Logs.Lines, l => l.Contains("does not declare", StringComparison.Ordinal) && l.Contains("launch-ehr", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Launch_CapabilityStatementFallback_NoCapabilitiesToCheckAndRedirects()
    {
        await using var server = await RecordingHost.StartAsync(new Dictionary<string, (string, string)>
        {
            ["/fhir/metadata"] = ("application/fhir+json", Protocol.DiscoveryTests.OAuthUrisCapabilityStatement),
        });
        await using var app = await SmartAppHost.StartAsync(new Uri(server.BaseUrl, "fhir").AbsoluteUri, new AppClient("c", SmartClientAuthentication.Public));
        using var browser = new HeadlessBrowser();

        var result = await browser.RunAsync(app.Url("/launch?server=ehr"), stopBefore: u => u.Host == "auth.example.org");

        Assert.Equal(HttpStatusCode.Found, result.Status);
        Assert.Equal("/authorize", result.Url.AbsolutePath);
    }

    private static Task<RecordingHost> ServerAsync(string smartConfiguration) => RecordingHost.StartAsync(new Dictionary<string, (string, string)>
    {
        ["/fhir/.well-known/smart-configuration"] = ("application/json", smartConfiguration),
    });
}
