namespace Igia.Smart.ResourceServer;

/// <summary>Names used by the SMART resource server.</summary>
public static class SmartResourceServerDefaults
{
    /// <summary>The authentication scheme that accepts SMART access tokens (JWT or, when configured, opaque via introspection).</summary>
    public const string AuthenticationScheme = "IgiaSmart";

    /// <summary>The JWT bearer scheme the main scheme forwards JWTs to.</summary>
    public const string JwtScheme = "IgiaSmart.Jwt";

    /// <summary>The introspection scheme the main scheme forwards opaque tokens to.</summary>
    public const string IntrospectionScheme = "IgiaSmart.Introspection";

    /// <summary>The CORS policy SMART apps in browsers need on the FHIR endpoints and <c>.well-known/smart-configuration</c>.</summary>
    public const string CorsPolicy = "IgiaSmart";

    /// <summary>The <c>IHttpClientFactory</c> name of the client used for discovery, keys and introspection.</summary>
    public const string HttpClientName = "Igia.Smart.ResourceServer";
}
