using System.Text.Json.Nodes;
using Igia.Smart.AuthorizationServer;
using Igia.Smart.AuthorizationServer.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the SMART authorization server's endpoints.</summary>
public static class SmartAuthorizationServerEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the authorization (GET and POST) and token endpoints (OpenIddict validates the requests first), the login page,
    /// logout, the patient picker and the EHR launch endpoint, at the paths of the options. Introspection, revocation, JWKS
    /// and <c>/.well-known/openid-configuration</c> are served by OpenIddict itself.
    /// </summary>
    /// <param name="endpoints">The endpoint route builder.</param>
    /// <returns>A convention builder for all the mapped endpoints (rate limiting, CORS, …).</returns>
    public static IEndpointConventionBuilder MapIgiaSmartAuthorizationServer(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<SmartAuthorizationServerOptions>>().Value;
        var group = endpoints.MapGroup("");
        group.MapMethods(options.AuthorizationPath, ["GET", "POST"], (Func<HttpContext, Task<IResult>>)AuthorizationEndpoints.AuthorizeAsync);
        group.MapPost(options.TokenPath, (Func<HttpContext, Task<IResult>>)AuthorizationEndpoints.TokenAsync);
        group.MapGet(options.LoginPath, AuthorizationEndpoints.LoginPage);
        group.MapPost(options.LoginPath, (Func<HttpContext, Task<IResult>>)AuthorizationEndpoints.LoginAsync);
        group.MapPost(options.LogoutPath, (Func<HttpContext, Task<IResult>>)AuthorizationEndpoints.LogoutAsync);
        group.MapGet(options.PatientPickerPath, AuthorizationEndpoints.PickerPageAsync);
        group.MapPost(options.PatientPickerPath, (Func<HttpContext, Task<IResult>>)AuthorizationEndpoints.PickAsync);
        group.MapPost(options.LaunchPath, (Func<HttpContext, Task<IResult>>)AuthorizationEndpoints.LaunchAsync);
        return group;
    }

    /// <summary>
    /// Maps <c>{fhirBasePath}/.well-known/smart-configuration</c> describing this authorization server (for hosts where the
    /// FHIR resource server does not publish its own). Only what this server supports is listed.
    /// </summary>
    /// <param name="endpoints">The endpoint route builder.</param>
    /// <param name="fhirBasePath">The FHIR base path (default: the options' <see cref="SmartAuthorizationServerOptions.FhirBasePath"/>).</param>
    /// <returns>The endpoint's convention builder.</returns>
    public static IEndpointConventionBuilder MapIgiaSmartAuthorizationServerDiscovery(this IEndpointRouteBuilder endpoints, string? fhirBasePath = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<SmartAuthorizationServerOptions>>().Value;
        var path = (fhirBasePath ?? options.FhirBasePath).TrimEnd('/') + "/.well-known/smart-configuration";
        return endpoints.MapGet(path, (HttpContext http) =>
        {
            http.Response.Headers.AccessControlAllowOrigin = "*";
            return Results.Content(SmartConfigurationDocument(http, options).ToJsonString(), "application/json");
        });
    }

    /// <summary>The SMART configuration document of this authorization server, as served by <see cref="MapIgiaSmartAuthorizationServerDiscovery"/>.</summary>
    /// <param name="http">The request (its origin makes the URLs absolute when no issuer is configured).</param>
    /// <param name="options">The options.</param>
    /// <returns>The JSON document.</returns>
    public static JsonObject SmartConfigurationDocument(HttpContext http, SmartAuthorizationServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        var issuer = (options.Issuer?.ToString() ?? $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}/").TrimEnd('/');
        string Url(string path) => issuer + "/" + path.TrimStart('/');
        static JsonArray Array(params string[] values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());
        return new JsonObject
        {
            ["issuer"] = issuer + "/",
            ["jwks_uri"] = Url(options.JwksPath),
            ["authorization_endpoint"] = Url(options.AuthorizationPath),
            ["token_endpoint"] = Url(options.TokenPath),
            ["introspection_endpoint"] = Url(options.IntrospectionPath),
            ["revocation_endpoint"] = Url(options.RevocationPath),
            ["grant_types_supported"] = Array("authorization_code", "refresh_token", "client_credentials"),
            ["token_endpoint_auth_methods_supported"] = Array("client_secret_basic", "client_secret_post", "private_key_jwt"),
            ["token_endpoint_auth_signing_alg_values_supported"] = Array("RS384", "ES384"),
            ["scopes_supported"] = Array([.. SmartAuthorizationServerDefaults.Scopes]),
            ["response_types_supported"] = Array("code"),
            ["code_challenge_methods_supported"] = Array("S256"),
            ["capabilities"] = Array([.. SmartAuthorizationServerDefaults.Capabilities]),
        };
    }
}
