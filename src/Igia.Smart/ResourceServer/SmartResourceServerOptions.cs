using System.ComponentModel.DataAnnotations;

namespace Igia.Smart.ResourceServer;

/// <summary>
/// Settings of the SMART resource server: who issues the access tokens, how they are checked, what the
/// <c>.well-known/smart-configuration</c> document advertises and how patient scopes are enforced. Validated at start-up.
/// </summary>
public sealed class SmartResourceServerOptions
{
    /// <summary>
    /// The authorization server's issuer (<c>iss</c> of its tokens), e.g. <c>https://auth.example.org</c>. Its signing keys
    /// are discovered from <see cref="MetadataAddress"/>. HTTPS is required except on loopback.
    /// </summary>
    [Required]
    public Uri? Authority { get; set; }

    /// <summary>
    /// The discovery document that names <c>jwks_uri</c>: by default <c>{Authority}/.well-known/openid-configuration</c>.
    /// A SMART configuration document (<c>.well-known/smart-configuration</c>, which also carries <c>issuer</c> and
    /// <c>jwks_uri</c>) may be given instead.
    /// </summary>
    public Uri? MetadataAddress { get; set; }

    /// <summary>
    /// The audience access tokens must carry: the FHIR base URL as clients see it (e.g. <c>https://ehr.example.org/fhir</c>).
    /// A trailing slash is ignored.
    /// </summary>
    [Required]
    public string? Audience { get; set; }

    /// <summary>Tolerated clock difference for <c>exp</c>/<c>nbf</c>. Default 30 seconds.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the discovery document and keys are re-read even without an unknown key id. Default 1 hour.</summary>
    public TimeSpan MetadataRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The shortest time between two re-reads of the keys caused by a token signed with an unknown key id (key rotation).
    /// The first such re-read happens at once. Default 1 minute; lower bound 1 second.
    /// </summary>
    public TimeSpan KeyRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a JWT that passed validation is remembered (never beyond its <c>exp</c>; failures are never remembered), so that an app's
    /// next requests with the same token skip the signature check. A key the issuer withdraws stops working for tokens already
    /// seen within this time at the latest. Default 1 minute; zero turns the cache off.
    /// </summary>
    public TimeSpan ValidatedTokenCacheDuration { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Signature algorithms accepted. Default RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384 (never <c>none</c> or HMAC).</summary>
    public ISet<string> ValidAlgorithms { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384",
    };

    /// <summary>Opaque (non-JWT) access tokens are checked with RFC 7662 introspection when this is set.</summary>
    public SmartIntrospectionOptions? Introspection { get; set; }

    /// <summary>The claim carrying the launch patient's id (SMART: <c>patient</c>).</summary>
    [Required]
    public string PatientClaim { get; set; } = "patient";

    /// <summary>The claim carrying the user's FHIR resource URL (SMART: <c>fhirUser</c>).</summary>
    [Required]
    public string FhirUserClaim { get; set; } = "fhirUser";

    /// <summary>
    /// Whether a <c>patient/</c> scope grants resource types that are never in a Patient compartment (Medication,
    /// Practitioner, Organization, Location …) without restriction. Default true: they hold no patient's data, and SMART
    /// apps with <c>patient/Medication.rs</c> expect to read them. False denies them to patient scopes.
    /// </summary>
    public bool PatientScopesReachSharedResources { get; set; } = true;

    /// <summary>What <c>.well-known/smart-configuration</c> advertises about the authorization server.</summary>
    public SmartServerMetadata Metadata { get; } = new();

    /// <summary>
    /// Origins allowed by the CORS policy <see cref="SmartResourceServerDefaults.CorsPolicy"/>. Empty (the default) allows any
    /// origin: SMART apps run in browsers anywhere and present bearer tokens, never cookies, so credentials are not allowed.
    /// </summary>
    public ISet<string> CorsOrigins { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
}

/// <summary>RFC 7662 token introspection for opaque access tokens.</summary>
public sealed class SmartIntrospectionOptions
{
    /// <summary>The introspection endpoint.</summary>
    [Required]
    public Uri? Endpoint { get; set; }

    /// <summary>The resource server's client id at the authorization server.</summary>
    [Required]
    public string? ClientId { get; set; }

    /// <summary>The resource server's client secret (sent with HTTP Basic authentication).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>
    /// How long an introspection answer is reused (never beyond the token's <c>exp</c>). A token revoked at the authorization
    /// server is still accepted for at most this long by a resource server that introspected it just before. Default 10 seconds
    /// (one introspection per token per 10 s of use); zero turns the cache off, so every request introspects.
    /// </summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether an active token's introspection answer must carry an <c>aud</c> equal to the FHIR base. Default true.</summary>
    public bool RequireAudience { get; set; } = true;
}

/// <summary>
/// The authorization server's endpoints and features as <c>.well-known/smart-configuration</c> publishes them. Only list
/// what the deployment really supports.
/// </summary>
public sealed class SmartServerMetadata
{
    /// <summary><c>authorization_endpoint</c> (required for launches).</summary>
    public Uri? AuthorizationEndpoint { get; set; }

    /// <summary><c>token_endpoint</c> (required).</summary>
    public Uri? TokenEndpoint { get; set; }

    /// <summary><c>jwks_uri</c>; when null, the one found in <see cref="SmartResourceServerOptions.MetadataAddress"/> is published.</summary>
    public Uri? JwksUri { get; set; }

    /// <summary><c>registration_endpoint</c>, when dynamic registration is offered.</summary>
    public Uri? RegistrationEndpoint { get; set; }

    /// <summary><c>management_endpoint</c>, when a user can manage their app authorizations.</summary>
    public Uri? ManagementEndpoint { get; set; }

    /// <summary><c>introspection_endpoint</c>.</summary>
    public Uri? IntrospectionEndpoint { get; set; }

    /// <summary><c>revocation_endpoint</c>.</summary>
    public Uri? RevocationEndpoint { get; set; }

    /// <summary><c>grant_types_supported</c>. Default <c>authorization_code</c>.</summary>
    public IList<string> GrantTypesSupported { get; } = ["authorization_code"];

    /// <summary><c>token_endpoint_auth_methods_supported</c>.</summary>
    public IList<string> TokenEndpointAuthMethodsSupported { get; } = [];

    /// <summary><c>token_endpoint_auth_signing_alg_values_supported</c> (for <c>private_key_jwt</c>).</summary>
    public IList<string> TokenEndpointAuthSigningAlgValuesSupported { get; } = [];

    /// <summary><c>scopes_supported</c>.</summary>
    public IList<string> ScopesSupported { get; } = [];

    /// <summary><c>response_types_supported</c>. Default <c>code</c>.</summary>
    public IList<string> ResponseTypesSupported { get; } = ["code"];

    /// <summary><c>code_challenge_methods_supported</c>. Default <c>S256</c> only (<c>plain</c> must not be offered).</summary>
    public IList<string> CodeChallengeMethodsSupported { get; } = ["S256"];

    /// <summary>
    /// <c>capabilities</c>. Default: the ones the resource server itself honours (<c>permission-patient</c>,
    /// <c>permission-user</c>, <c>permission-v1</c>, <c>permission-v2</c>); add the launch and client capabilities your
    /// authorization server supports (<c>launch-ehr</c>, <c>launch-standalone</c>, <c>client-public</c>, <c>context-ehr-patient</c> …).
    /// </summary>
    public IList<string> Capabilities { get; } = ["permission-patient", "permission-user", "permission-v1", "permission-v2"];
}
