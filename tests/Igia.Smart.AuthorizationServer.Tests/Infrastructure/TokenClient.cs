using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Igia.Smart.AuthorizationServer.Tests.Infrastructure;

/// <summary>Raw token endpoint calls.</summary>
public static class TokenClient
{
    public static async Task<HttpResponseMessage> PostAsync(AuthzHost host, Dictionary<string, string> form, (string Id, string Secret)? basic = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, host.TokenUrl) { Content = new FormUrlEncodedContent(form) };
        if (basic is { } b)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(b.Id)}:{Uri.EscapeDataString(b.Secret)}")));
        }

        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    public static Task<HttpResponseMessage> ExchangeCodeAsync(AuthzHost host, string clientId, string code, string verifier) =>
        PostAsync(host, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["code"] = code, ["redirect_uri"] = AuthzHost.RedirectUri, ["client_id"] = clientId, ["code_verifier"] = verifier,
        });

    /// <summary>Exchanges an authorization code for the confidential client <c>secret-app</c> (client_secret_basic).</summary>
    public static Task<HttpResponseMessage> ExchangeSecretAppCodeAsync(AuthzHost host, string code, string verifier) =>
        PostAsync(host, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code", ["code"] = code, ["redirect_uri"] = AuthzHost.RedirectUri, ["code_verifier"] = verifier,
        }, ("secret-app", AuthzHost.Secret));

    public static async Task<JsonObject> StandaloneAsync(AuthzHost host, string scope = "openid fhirUser launch/patient patient/*.rs offline_access", string user = "dr", string? patient = "p1")
    {
        using var browser = new Browser();
        var (verifier, challenge) = Pkce.Create();
        var outcome = await browser.AuthorizeAsync(Pkce.AuthorizeUrl(host, "public-app", scope, challenge, nonce: "n-1"), user, pickPatient: patient);
        Assert.True(outcome.ReachedClient, $"{outcome.Status} {outcome.Url}\n{outcome.Body}\n{host.AllLogs}");
        using var response = await ExchangeCodeAsync(host, "public-app", outcome.Param("code")!, verifier);
        var json = await response.ReadObjectAsync();
        Assert.True(response.IsSuccessStatusCode, json.ToJsonString());
        return json;
    }
}
