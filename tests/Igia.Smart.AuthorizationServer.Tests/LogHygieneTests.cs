using Igia.Smart.AuthorizationServer.Tests.Infrastructure;

namespace Igia.Smart.AuthorizationServer.Tests;

/// <summary>No token, code, secret or password reaches the logs, at every level down to Debug.</summary>
public sealed class LogHygieneTests
{
    [Fact]
    public async Task FullFlows_LogNoSecrets()
    {
        await using var host = await AuthzHost.StartAsync();
        using var browser = new Browser();
        var (verifier, challenge) = Pkce.Create();
        var outcome = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "secret-app", "openid fhirUser launch/patient patient/*.rs offline_access", challenge));
        var code = outcome.Param("code")!;
        using var response = await TokenClient.ExchangeSecretAppCodeAsync(host, code, verifier);
        var json = await response.ReadObjectAsync();
        using var refreshed = await TokenClient.PostAsync(host, new() { ["grant_type"] = "refresh_token", ["refresh_token"] = json["refresh_token"]!.GetValue<string>() }, ("secret-app", AuthzHost.Secret));
        using var backend = await TokenClient.PostAsync(host, new()
        {
            ["grant_type"] = "client_credentials", ["scope"] = "system/Patient.rs",
            ["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", ["client_assertion"] = AuthzHost.BackendRsa.Assertion("backend", host.TokenUrl),
        });
        var backendToken = (await backend.ReadObjectAsync())["access_token"]!.GetValue<string>();

        var logs = host.AllLogs;
        Assert.NotEmpty(logs);
        foreach (var secret in new[] { code, verifier, AuthzHost.Secret, "dr-password", json["access_token"]!.GetValue<string>(), json["refresh_token"]!.GetValue<string>(), json["id_token"]!.GetValue<string>(), backendToken })
        {
            Assert.DoesNotContain(secret, logs);
        }

        // Signatures are the secret part of a JWT: none appears either.
        Assert.DoesNotContain(json["access_token"]!.GetValue<string>().Split('.')[2], logs);
    }
}
