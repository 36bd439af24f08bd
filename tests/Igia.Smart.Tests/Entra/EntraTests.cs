using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using Igia.Fhir.Client;
using Igia.Smart.Entra;
using Igia.Smart.Protocol;
using Igia.Smart.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Smart.Tests.Entra;

/// <summary>
/// The MSAL confidential-client token provider, against an HTTPS OpenID provider standing in for Microsoft Entra ID (MSAL's
/// generic OIDC authority), with a client secret and with a certificate; the FHIR server accepts the tokens it issues.
/// </summary>
[Collection(SmartCollection.Name)]
public sealed class EntraTests(SmartEnvironment env)
{
    [Fact]
    public async Task FhirClient_ClientSecret_ReadsWithMsalTokenCached()
    {
        await using var services = Services(o =>
        {
            o.ClientId = "entra-secret";
            o.ClientSecret = SmartEnvironment.EntraSecret;
        });
        var client = services.GetRequiredService<IIgiaFhirClientFactory>().CreateClient("ahds");
        var since = OidcProviderProcess.Now;

        var first = await client.ReadAsync<Patient>("Patient/" + SmartEnvironment.PatientId);
        var second = await client.ReadAsync<Patient>("Patient/" + SmartEnvironment.PatientId);

        Assert.Equal(SmartEnvironment.PatientFamily, first!.Name[0].Family);
        Assert.NotNull(second);
        var requests = (await env.Provider.GetRequestsAsync()).Where(r => r.Route == "entra-token" && r.At >= since).ToList();
        var request = Assert.Single(requests);
        Assert.Equal("client_credentials", request.Param("grant_type"));
        Assert.Equal(env.FhirBase + "/.default", request.Param("scope"));
        var provider = services.GetRequiredKeyedService<EntraAccessTokenProvider>("ahds");
        Assert.Equal([env.FhirBase + "/.default"], provider.Scopes);
        var token = await provider.GetTokenAsync(CancellationToken.None);
        Assert.Contains(env.Fhir.Tokens, t => t.Token == token && t.Active);
        var logs = services.GetRequiredService<CapturingLoggerProvider>().AllText;
        Assert.DoesNotContain(token!, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(SmartEnvironment.EntraSecret, logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FhirClient_Certificate_ReadsWithSignedAssertion()
    {
        await using var services = Services(o =>
        {
            o.ClientId = "entra-cert";
            o.Certificate = env.EntraClientCertificate;
        });
        var since = OidcProviderProcess.Now;

        var patient = await services.GetRequiredService<IIgiaFhirClientFactory>().CreateClient("ahds").ReadAsync<Patient>("Patient/" + SmartEnvironment.PatientId);

        Assert.NotNull(patient);
        var request = Assert.Single(await env.Provider.GetRequestsAsync(), r => r.Route == "entra-token" && r.At >= since);
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", request.Param("client_assertion_type"));
        Assert.False(request.Has("client_secret"));
        var assertion = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(request.Param("client_assertion"));
        Assert.Contains(assertion.Alg, new[] { "RS256", "PS256" });
        Assert.True(assertion.TryGetHeaderValue<string>("x5t", out _) || assertion.TryGetHeaderValue<string>("x5t#S256", out _));
        Assert.Equal("entra-cert", assertion.Issuer);
    }

    [Fact]
    public async Task GetToken_WrongSecret_SmartExceptionNamingTheError()
    {
        await using var services = Services(o =>
        {
            o.ClientId = "entra-secret";
            o.ClientSecret = "wrong-secret-0123456789";
        });

        var e = await Assert.ThrowsAsync<SmartException>(async () => await services.GetRequiredKeyedService<EntraAccessTokenProvider>("ahds").GetTokenAsync(CancellationToken.None));

        Assert.Equal(SmartErrorCode.TokenRequestFailed, e.Code);
        Assert.Equal("invalid_client", e.OAuthError);
        Assert.DoesNotContain("wrong-secret", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_SecretAndCertificateBoth_RefusedAtStart()
    {
        await using var services = Services(o =>
        {
            o.ClientId = "entra-secret";
            o.ClientSecret = SmartEnvironment.EntraSecret;
            o.Certificate = env.EntraClientCertificate;
        });

        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("exactly one of ClientSecret and Certificate", e.Message, StringComparison.Ordinal);
    }

    private ServiceProvider Services(Action<EntraTokenOptions> configure)
    {
        var services = new ServiceCollection();
        var logs = new CapturingLoggerProvider();
        services.AddSingleton(logs);
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        services.AddIgiaFhirClient("ahds", o => o.BaseUrl = new Uri(env.FhirBase))
            .ConfigureRetry(r => r.Enabled = false)
            .AddEntraAccessTokens(o =>
            {
                o.OidcAuthority = env.Provider.EntraIssuer;
                configure(o);
            });
        services.AddHttpClient("Igia.Smart.Entra").ConfigurePrimaryHttpMessageHandler(() => SmartEnvironment.TrustingHandler(env.TlsCertificate));
        return services.BuildServiceProvider();
    }
}
