using Igia.Smart.Protocol;
using Igia.Smart.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Smart.Tests.Protocol;

/// <summary>Discovery: .well-known/smart-configuration, the CapabilityStatement fallback, and the HTTPS rule.</summary>
[Collection(SmartCollection.Name)]
public sealed class DiscoveryTests(SmartEnvironment env)
{
    public const string OAuthUrisCapabilityStatement = """
        {"resourceType":"CapabilityStatement","status":"active","kind":"instance","fhirVersion":"4.0.1","format":["json"],
         "rest":[{"mode":"server","security":{"service":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/restful-security-service","code":"SMART-on-FHIR"}]}],
           "extension":[{"url":"http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris","extension":[
             {"url":"authorize","valueUri":"https://auth.example.org/authorize"},
             {"url":"token","valueUri":"https://auth.example.org/token"},
             {"url":"manage","valueUri":"https://auth.example.org/manage"}]}]}}]}
        """;

    [Fact]
    public async Task GetConfiguration_RealServer_EndpointsAndCapabilitiesFromWellKnown()
    {
        var discovery = Discovery();

        var configuration = await discovery.GetConfigurationAsync(new Uri(env.FhirBase));

        Assert.Equal(SmartConfigurationSource.WellKnown, configuration.Source);
        Assert.Equal(new Uri(env.Provider.Issuer, "/auth"), configuration.AuthorizationEndpoint);
        Assert.Equal(new Uri(env.Provider.Issuer, "/token"), configuration.TokenEndpoint);
        Assert.Equal(env.Provider.Issuer.AbsoluteUri.TrimEnd('/'), configuration.Issuer);
        Assert.True(configuration.HasCapability(SmartCapabilities.LaunchEhr));
        Assert.True(configuration.HasCapability(SmartCapabilities.ClientConfidentialAsymmetric));
        Assert.Contains("S256", configuration.CodeChallengeMethodsSupported);
        Assert.Contains("ES384", configuration.TokenEndpointAuthSigningAlgValuesSupported);
        Assert.Same(configuration, await discovery.GetConfigurationAsync(new Uri(env.FhirBase + "/")));
    }

    [Fact]
    public async Task GetConfiguration_NoWellKnown_FallsBackToCapabilityStatementOAuthUris()
    {
        await using var server = await RecordingHost.StartAsync(new Dictionary<string, (string, string)>
        {
            ["/fhir/metadata"] = ("application/fhir+json", OAuthUrisCapabilityStatement),
        });

        var configuration = await Discovery().GetConfigurationAsync(new Uri(server.BaseUrl, "fhir"));

        Assert.Equal(SmartConfigurationSource.CapabilityStatement, configuration.Source);
        Assert.Equal(new Uri("https://auth.example.org/authorize"), configuration.AuthorizationEndpoint);
        Assert.Equal(new Uri("https://auth.example.org/token"), configuration.TokenEndpoint);
        Assert.Equal(new Uri("https://auth.example.org/manage"), configuration.ManagementEndpoint);
        Assert.False(configuration.DeclaresCapabilities);
        Assert.Equal(["GET /fhir/.well-known/smart-configuration", "GET /fhir/metadata"], server.Requests);
    }

    [Fact]
    public async Task GetConfiguration_NeitherDocument_DiscoveryFailedNamingBoth()
    {
        await using var server = await RecordingHost.StartAsync();

        var e = await Assert.ThrowsAsync<SmartException>(async () => await Discovery().GetConfigurationAsync(new Uri(server.BaseUrl, "fhir")));

        Assert.Equal(SmartErrorCode.DiscoveryFailed, e.Code);
        Assert.Contains("smart-configuration answered HTTP 404", e.Message, StringComparison.Ordinal);
        Assert.Contains("metadata answered HTTP 404", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetConfiguration_PlainHttpOffLoopback_RefusedWithoutARequest()
    {
        var e = await Assert.ThrowsAsync<SmartException>(async () => await Discovery().GetConfigurationAsync(new Uri("http://ehr.example.org/fhir")));

        Assert.Equal(SmartErrorCode.InsecureEndpoint, e.Code);
    }

    [Fact]
    public async Task GetConfiguration_EndpointOnPlainHttpOffLoopback_Refused()
    {
        await using var server = await RecordingHost.StartAsync(new Dictionary<string, (string, string)>
        {
            ["/fhir/.well-known/smart-configuration"] = ("application/json", """{"authorization_endpoint":"http://auth.example.org/authorize","token_endpoint":"https://auth.example.org/token"}"""),
        });

        var e = await Assert.ThrowsAsync<SmartException>(async () => await Discovery().GetConfigurationAsync(new Uri(server.BaseUrl, "fhir")));

        Assert.Equal(SmartErrorCode.InsecureEndpoint, e.Code);
    }

    private static ISmartDiscovery Discovery()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddIgiaSmartApp();
        return services.BuildServiceProvider().GetRequiredService<ISmartDiscovery>();
    }
}
