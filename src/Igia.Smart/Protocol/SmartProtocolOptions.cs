using System.ComponentModel.DataAnnotations;

namespace Igia.Smart.Protocol;

/// <summary>Settings shared by the SMART app, Backend Services and discovery: transport rules, caching and clock tolerance.</summary>
public sealed class SmartProtocolOptions
{
    /// <summary>
    /// When true (the default), FHIR bases, authorization, token and JWKS endpoints must use HTTPS; plain HTTP is accepted only
    /// on the loopback interface (127.0.0.1, ::1, localhost), for development and tests.
    /// </summary>
    public bool RequireHttps { get; set; } = true;

    /// <summary>How long a server's SMART configuration and its issuer's JWKS are cached. Default one hour.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan DiscoveryCacheDuration { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long one request to a discovery, JWKS or token endpoint may take. Default 30 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan HttpTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Clock skew tolerated when checking an id_token's <c>exp</c>, <c>nbf</c> and <c>iat</c>. Default two minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The JWS algorithms accepted on id_tokens. Default RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512.
    /// <c>none</c> and symmetric (HS*) algorithms are never accepted, whatever is listed here.
    /// </summary>
    public ISet<string> IdTokenAlgorithms { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512",
    };
}
