using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using Igia.Fhir.Client;
using Igia.Smart.BackendServices;
using Igia.Smart.Protocol;
using Igia.Smart.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Smart.Tests.BackendServices;

/// <summary>SMART Backend Services against the real OpenID provider, plugged into the Igia FHIR client.</summary>
[Collection(SmartCollection.Name)]
public sealed class BackendServicesTests(SmartEnvironment env)
{
    public static TheoryData<string> Clients => ["backend-rs384", "backend-es384"];

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task FhirClient_BackendServicesToken_ReadsWithAConformantClientCredentialsRequest(string clientId)
    {
        var key = Key(clientId);
        await using var services = Services(clientId, key);
        var since = OidcProviderProcess.Now;

        var patient = await services.GetRequiredService<IIgiaFhirClientFactory>().CreateClient("backend").ReadAsync<Patient>("Patient/" + SmartEnvironment.PatientId);

        Assert.Equal(SmartEnvironment.PatientFamily, patient!.Name[0].Family);
        var request = Assert.Single(await env.Provider.GetTokenRequestsAsync(clientId, "client_credentials", since));
        Assert.Equal("system/Patient.rs system/Observation.rs", request.Param("scope"));
        Assert.Null(request.Authorization);
        Assert.False(request.Has("client_id"));
        ConformanceAssert.ClientAssertion(request, clientId, new Uri(env.Provider.Issuer, "/token"), key);
        var jwt = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(request.Param("client_assertion"));
        Assert.True(jwt.ValidTo - jwt.IssuedAt <= TimeSpan.FromMinutes(5));
        var token = await services.GetRequiredKeyedService<SmartBackendServicesTokenProvider>("backend").GetTokenAsync(CancellationToken.None);
        var logs = services.GetRequiredService<CapturingLoggerProvider>().AllText;
        Assert.Contains("obtained an access token", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(token!, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(request.Param("client_assertion")!, logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetToken_CachedPath_OneTokenRequestForManyFhirCalls()
    {
        await using var services = Services("backend-rs384", env.BackendRs384Key);
        var client = services.GetRequiredService<IIgiaFhirClientFactory>().CreateClient("backend");

        for (var i = 0; i < 5; i++)
        {
            Assert.NotNull(await client.ReadAsync<Patient>("Patient/" + SmartEnvironment.PatientId));
        }

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.ReadAsync<Patient>("Patient/" + SmartEnvironment.PatientId)));
        Assert.Equal(1, services.GetRequiredKeyedService<SmartBackendServicesTokenProvider>("backend").TokensAcquired);
    }

    [Fact]
    public async Task FhirClient_TokenRevoked_NewTokenObtainedAndRequestRetried()
    {
        await using var services = Services("backend-es384", env.BackendEs384Key);
        var client = services.GetRequiredService<IIgiaFhirClientFactory>().CreateClient("backend");
        var provider = services.GetRequiredKeyedService<SmartBackendServicesTokenProvider>("backend");
        var first = await provider.GetTokenAsync(CancellationToken.None);
        await env.Provider.RevokeAccessTokenAsync(first!);

        var patient = await client.ReadAsync<Patient>("Patient/" + SmartEnvironment.PatientId);

        Assert.NotNull(patient);
        Assert.Equal(2, provider.TokensAcquired);
        Assert.Contains(env.Fhir.Tokens, t => t.Token == first && !t.Active);
    }

    [Fact]
    public async Task TokenEndpoint_ReplayedAssertion_RefusedAsJtiReplay()
    {
        var tokenEndpoint = new Uri(env.Provider.Issuer, "/token");
        var assertion = SmartClientAssertion.Create("backend-rs384", tokenEndpoint, env.BackendRs384Key);
        using var http = new HttpClient();

        async Task<HttpResponseMessage> PostAsync() => await http.PostAsync(tokenEndpoint, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["scope"] = "system/Patient.rs",
            ["client_assertion_type"] = SmartClientAssertion.AssertionType,
            ["client_assertion"] = assertion,
        }));

        using var first = await PostAsync();
        using var replay = await PostAsync();

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
        Assert.Equal("invalid_client", JsonNode.Parse(await replay.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task GetToken_KeyNotRegistered_SmartExceptionWithInvalidClient()
    {
        await using var services = Services("backend-rs384", env.UnregisteredKey);
        var provider = services.GetRequiredKeyedService<SmartBackendServicesTokenProvider>("backend");

        var e = await Assert.ThrowsAsync<SmartException>(async () => await provider.GetTokenAsync(CancellationToken.None));

        Assert.Equal(SmartErrorCode.TokenRequestFailed, e.Code);
        Assert.Equal("invalid_client", e.OAuthError);
    }

    [Fact]
    public async Task Options_AssertionLifetimeOverFiveMinutes_RefusedAtStart()
    {
        await using var services = Services("backend-rs384", env.BackendRs384Key, o => o.AssertionLifetime = TimeSpan.FromMinutes(6));

        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("AssertionLifetime", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_MalformedScope_RefusedAtStart()
    {
        await using var services = Services("backend-rs384", env.BackendRs384Key, o => o.Scopes = "system/Patient.xyz");

        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("Scopes", e.Message, StringComparison.Ordinal);
    }

    private SmartSigningKey Key(string clientId) => clientId == "backend-rs384" ? env.BackendRs384Key : env.BackendEs384Key;

    private ServiceProvider Services(string clientId, SmartSigningKey key, Action<SmartBackendServicesOptions>? change = null)
    {
        var services = new ServiceCollection();
        var logs = new CapturingLoggerProvider();
        services.AddSingleton(logs);
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        services.AddIgiaFhirClient("backend", o => o.BaseUrl = new Uri(env.FhirBase))
            .ConfigureRetry(r => r.Enabled = false)
            .AddSmartBackendServices(o =>
            {
                o.ClientId = clientId;
                o.SigningKey = key;
                o.Scopes = "system/Patient.rs system/Observation.rs";
                change?.Invoke(o);
            });
        return services.BuildServiceProvider();
    }
}
