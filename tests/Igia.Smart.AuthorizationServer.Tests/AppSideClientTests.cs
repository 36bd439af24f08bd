using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using Igia.Fhir.Client;
using Igia.Smart.AuthorizationServer.Tests.Infrastructure;
using Igia.Smart.Protocol;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Smart.AuthorizationServer.Tests;

/// <summary>Igia.Smart's app side (a real client, its own checks: state, PKCE, id_token, iss) against this authorization server.</summary>
public sealed class AppSideClientTests
{
    private static async Task<(AuthzHost Host, AppHost App)> StartAsync(string clientId, SmartClientAuthentication auth, SmartClientType type, SmartSigningKey? key = null)
    {
        var port = AppHost.FreePort();
        var redirectUri = $"http://127.0.0.1:{port}/callback";
        var host = await AuthzHost.StartAsync(o =>
        {
            foreach (var existing in o.Clients.Where(c => c.ClientId == clientId).ToList())
            {
                o.Clients.Remove(existing);
            }

            o.Clients.Add(new SmartClientRegistration
            {
                ClientId = clientId, Type = type, ClientSecret = type == SmartClientType.ConfidentialSymmetric ? AuthzHost.Secret : null,
                Jwks = key is null ? null : SmartSigningKey.CreateJwks(key),
                RedirectUris = { redirectUri }, Scopes = { AuthzHost.AppScopes },
            });
        });
        var app = await AppHost.StartAsync(port, new Uri(host.FhirBase), clientId, auth, AuthzHost.Secret, key);
        return (host, app);
    }

    [Theory]
    [InlineData("public")]
    [InlineData("symmetric")]
    [InlineData("asymmetric")]
    public async Task IgiaSmartApp_StandaloneLaunch_Completes(string kind)
    {
        using var key = kind == "asymmetric" ? SmartSigningKey.Generate(SmartSigningAlgorithm.ES384, "app-es384") : null;
        var (host, app) = kind switch
        {
            "public" => await StartAsync("igia-app", SmartClientAuthentication.Public, SmartClientType.Public),
            "symmetric" => await StartAsync("igia-app", SmartClientAuthentication.ClientSecretBasic, SmartClientType.ConfidentialSymmetric),
            _ => await StartAsync("igia-app", SmartClientAuthentication.PrivateKeyJwt, SmartClientType.ConfidentialAsymmetric, key),
        };
        await using var _ = host;
        await using var __ = app;
        using var browser = new Browser();
        var (url, body, visited) = await browser.RunAsync(new Uri(app.BaseUrl, "launch"), "dr", "p3");
        Assert.True(url.AbsolutePath == "/", $"{url}\n{body}\n{host.AllLogs}");
        Assert.Contains(visited, u => u.AbsolutePath == "/smart/patient-picker");

        var me = JsonNode.Parse(await browser.Http.GetStringAsync(new Uri(app.BaseUrl, "me")))!;
        Assert.Equal("Standalone", me["kind"]!.GetValue<string>());
        Assert.Equal("p3", me["patient"]!.GetValue<string>());
        Assert.Equal("Chen", me["family"]!.GetValue<string>());
        Assert.True(me["banner"]!.GetValue<bool>());
        Assert.Equal(host.FhirBase + "/Practitioner/dr-1", me["fhirUser"]!.GetValue<string>());
        Assert.True(me["canRefresh"]!.GetValue<bool>());
    }

    [Fact]
    public async Task IgiaSmartApp_EhrLaunch_Completes()
    {
        var (host, app) = await StartAsync("igia-app", SmartClientAuthentication.ClientSecretBasic, SmartClientType.ConfidentialSymmetric);
        await using var _ = host;
        await using var __ = app;
        using var browser = new Browser();
        await browser.LoginAsync(host.BaseUrl, "dr");
        using var minted = await browser.Http.PostAsync(host.Url("smart/launch"), new FormUrlEncodedContent(new Dictionary<string, string> { ["patient"] = "p1", ["encounter"] = "enc-1" }));
        var launch = (await minted.ReadObjectAsync())["launch"]!.GetValue<string>();

        var (url, body, visited) = await browser.RunAsync(new Uri(app.BaseUrl, $"launch?iss={Uri.EscapeDataString(host.FhirBase)}&launch={launch}"));
        Assert.True(url.AbsolutePath == "/", $"{url}\n{body}\n{host.AllLogs}");
        Assert.DoesNotContain(visited, u => u.AbsolutePath == "/smart/patient-picker");
        var me = JsonNode.Parse(await browser.Http.GetStringAsync(new Uri(app.BaseUrl, "me")))!;
        Assert.Equal("Ehr", me["kind"]!.GetValue<string>());
        Assert.Equal("p1", me["patient"]!.GetValue<string>());
        Assert.Equal("enc-1", me["encounter"]!.GetValue<string>());
        Assert.Equal("Abbott", me["family"]!.GetValue<string>());
        Assert.Contains("launch", me["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
    }

    [Fact]
    public async Task IgiaSmartBackendServices_TokenProvider_ReadsFhir()
    {
        await using var host = await AuthzHost.StartAsync();
        var services = new ServiceCollection();
        services.AddLogging();
        var jwk = AuthzHost.BackendRsa;
        // Not disposed: IdentityModel caches signature providers by key material, which the tests' own copy of this key shares.
        var key = SmartSigningKey.FromPem(PemOf(jwk), jwk.Kid);
        services.AddIgiaFhirClient("backend", o => o.BaseUrl = new Uri(host.FhirBase)).AddSmartBackendServices(o =>
        {
            o.FhirBaseUrl = new Uri(host.FhirBase);
            o.ClientId = "backend";
            o.SigningKey = key;
            o.Scopes = "system/Patient.rs";
        });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IIgiaFhirClientFactory>().CreateClient("backend");
        var patient = await client.ReadAsync<Patient>("Patient/p2");
        Assert.Equal("Two", patient!.Name[0].Family);

    }

    private static string PemOf(ClientKey key) =>
        ((Microsoft.IdentityModel.Tokens.RsaSecurityKey)key.PrivateKey).Rsa.ExportPkcs8PrivateKeyPem();
}
