using System.ComponentModel.DataAnnotations;

namespace Igia.Smart.AuthorizationServer;

/// <summary>Options of the SMART authorization server (<c>AddIgiaSmartAuthorizationServer</c>), validated at start-up.</summary>
public sealed class SmartAuthorizationServerOptions
{
    /// <summary>
    /// The issuer (the authorization server's base URL, e.g. <c>https://auth.example.org/</c>). Null: taken from each request
    /// (scheme, host and path base), which suits loopback and tests; set it in production.
    /// </summary>
    public Uri? Issuer { get; set; }

    /// <summary>
    /// The FHIR base URL the tokens are for: the only <c>aud</c> accepted at the authorization endpoint and the audience of the
    /// access tokens. Null: the request's origin + <see cref="FhirBasePath"/>.
    /// </summary>
    public Uri? FhirBaseUrl { get; set; }

    /// <summary>Path of the FHIR base on this host, used when <see cref="FhirBaseUrl"/> is null (default <c>/fhir</c>).</summary>
    [Required]
    public string FhirBasePath { get; set; } = "/fhir";

    /// <summary>SQLite connection string of OpenIddict's store (applications, authorizations, tokens). Default: a file in the current folder.</summary>
    [Required]
    public string ConnectionString { get; set; } = "Data Source=igia-smart-authorization.db";

    /// <summary>
    /// A PEM file holding the RSA key that signs tokens (RS256); created (3072 bits) on first start when missing.
    /// Null: an ephemeral key per process (tokens do not survive a restart).
    /// </summary>
    public string? SigningKeyFile { get; set; }

    /// <summary>Allow plain HTTP (OpenIddict refuses it by default). For loopback development and tests only.</summary>
    public bool AllowHttp { get; set; }

    /// <summary>
    /// Let OpenIddict log protocol messages below Warning (default false). They hold values such as <c>code_verifier</c> and
    /// client assertions: turn this on only to debug, never in production.
    /// </summary>
    public bool LogProtocolMessages { get; set; }

    /// <summary>Authorization endpoint path (default <c>/connect/authorize</c>).</summary>
    public string AuthorizationPath { get; set; } = "/connect/authorize";

    /// <summary>Token endpoint path (default <c>/connect/token</c>).</summary>
    public string TokenPath { get; set; } = "/connect/token";

    /// <summary>Introspection endpoint path (default <c>/connect/introspect</c>).</summary>
    public string IntrospectionPath { get; set; } = "/connect/introspect";

    /// <summary>Revocation endpoint path (default <c>/connect/revoke</c>).</summary>
    public string RevocationPath { get; set; } = "/connect/revoke";

    /// <summary>JWKS endpoint path (default <c>/connect/jwks</c>).</summary>
    public string JwksPath { get; set; } = "/connect/jwks";

    /// <summary>Login page path (default <c>/smart/login</c>).</summary>
    public string LoginPath { get; set; } = "/smart/login";

    /// <summary>Logout path (default <c>/smart/logout</c>, POST).</summary>
    public string LogoutPath { get; set; } = "/smart/logout";

    /// <summary>
    /// Patient picker path (default <c>/smart/patient-picker</c>). The default page lists what <see cref="ISmartPatientPicker"/>
    /// finds; point this at your own page to replace it (it completes with <see cref="ISmartPatientSelections"/>).
    /// </summary>
    public string PatientPickerPath { get; set; } = "/smart/patient-picker";

    /// <summary>EHR launch endpoint path (default <c>/smart/launch</c>, POST): mints a single-use <c>launch</c> value.</summary>
    public string LaunchPath { get; set; } = "/smart/launch";

    /// <summary>Access token lifetime (default 1 hour).</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Authorization code lifetime (default 2 minutes).</summary>
    public TimeSpan AuthorizationCodeLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Refresh token lifetime for <c>offline_access</c> (default 30 days).</summary>
    public TimeSpan OfflineRefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Refresh token lifetime for <c>online_access</c>: at most the login session's lifetime (default 8 hours).</summary>
    public TimeSpan OnlineRefreshTokenLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Lifetime of a <c>launch</c> minted by the EHR launch endpoint (default 5 minutes; single use).</summary>
    public TimeSpan LaunchLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long each <see cref="ISmartAuthorizationEventSink"/> may take to record a security event (default 5 seconds). A sink
    /// that throws or takes longer fails the request closed: nothing is issued and the client gets HTTP 503
    /// (<c>temporarily_unavailable</c>).
    /// </summary>
    public TimeSpan EventSinkTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Lifetime of the login cookie (default 8 hours).</summary>
    public TimeSpan LoginLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Longest accepted Backend Services client assertion: <c>exp</c> at most this far ahead (SMART: 5 minutes).</summary>
    public TimeSpan MaxClientAssertionLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a JWKS fetched from a client's <see cref="SmartClientRegistration.JwksUrl"/> is reused (default 10 minutes; fetched again at once for an unknown <c>kid</c>).</summary>
    public TimeSpan JwksCacheDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary><c>need_patient_banner</c> in token responses with a patient context (default true).</summary>
    public bool NeedPatientBanner { get; set; } = true;

    /// <summary><c>smart_style_url</c> in token responses; null leaves it out.</summary>
    public Uri? SmartStyleUrl { get; set; }

    /// <summary>
    /// The principal the default patient picker searches the FHIR store as (in process, through every interaction filter).
    /// Default: a principal with <c>sub</c>/<c>client_id</c> <c>igia-smart-authorization-server</c> and scope <c>system/Patient.rs</c>.
    /// When the FHIR API enforces SMART scopes, give one its filter accepts (e.g. with the resource server's authentication type).
    /// </summary>
    public System.Security.Claims.ClaimsPrincipal? PatientPickerPrincipal { get; set; }

    /// <summary>A note shown under the login form (plain text, e.g. the demo credentials of a sandbox).</summary>
    public string? LoginPageNote { get; set; }

    /// <summary>Registered clients (also bindable from configuration, e.g. <c>Igia:SmartAuthorization:Clients</c>).</summary>
    public IList<SmartClientRegistration> Clients { get; } = [];

    /// <summary>Users who can log in on the built-in login page (demo and development; plug a real user store with <see cref="ISmartUserStore"/>).</summary>
    public IList<SmartUser> Users { get; } = [];
}

/// <summary>How a registered client authenticates, which decides the grants it may use.</summary>
public enum SmartClientType
{
    /// <summary>A public client (browser or native app): authorization code + PKCE, no secret.</summary>
    Public,

    /// <summary>A confidential client with a shared secret (<c>client_secret_basic</c>/<c>client_secret_post</c>).</summary>
    ConfidentialSymmetric,

    /// <summary>A confidential client authenticating with <c>private_key_jwt</c> (RS384/ES384), keys inline or by JWKS URL.</summary>
    ConfidentialAsymmetric,

    /// <summary>A SMART Backend Services client: <c>client_credentials</c> + <c>private_key_jwt</c>, <c>system/</c> scopes only.</summary>
    BackendService,
}

/// <summary>A client registered with the authorization server.</summary>
public sealed class SmartClientRegistration
{
    /// <summary>The client_id.</summary>
    [Required]
    public string ClientId { get; set; } = "";

    /// <summary>Shown on pages.</summary>
    public string? DisplayName { get; set; }

    /// <summary>How the client authenticates.</summary>
    public SmartClientType Type { get; set; } = SmartClientType.Public;

    /// <summary>For <see cref="SmartClientType.ConfidentialSymmetric"/>: the secret (stored hashed by OpenIddict).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Registered redirect URIs (exact match). Required for every type but Backend Services.</summary>
    public IList<string> RedirectUris { get; set; } = [];

    /// <summary>
    /// Scopes the client may be granted, space-separated or one per item, SMART v1 or v2 (<c>patient/*.rs</c> covers
    /// <c>patient/Observation.rs</c> and <c>patient/Observation.read</c>). Granted = requested ∩ these.
    /// </summary>
    public IList<string> Scopes { get; set; } = [];

    /// <summary>For asymmetric and Backend Services clients: the public JWKS as JSON (inline).</summary>
    public string? Jwks { get; set; }

    /// <summary>For asymmetric and Backend Services clients: where the public JWKS is served (fetched, cached, re-fetched for an unknown <c>kid</c>). A <c>jku</c> header must equal it.</summary>
    public Uri? JwksUrl { get; set; }

    /// <summary>The app's launch URL, for launcher pages (EHR launch: <c>?iss=…&amp;launch=…</c> are appended).</summary>
    public Uri? LaunchUrl { get; set; }

    /// <summary>May call the introspection endpoint for any token (a resource server's client); others only for their own tokens.</summary>
    public bool CanIntrospectAnyToken { get; set; }
}

/// <summary>A user of the built-in login page.</summary>
public sealed class SmartUser
{
    /// <summary>Login name (the <c>sub</c> of the tokens).</summary>
    [Required]
    public string Username { get; set; } = "";

    /// <summary>Password (compared in constant time; demo and development use: a production server plugs <see cref="ISmartUserStore"/>).</summary>
    [Required]
    public string Password { get; set; } = "";

    /// <summary>Shown on pages and sent as the <c>name</c> claim.</summary>
    public string? DisplayName { get; set; }

    /// <summary>The user's FHIR resource, relative (<c>Practitioner/123</c>, <c>Patient/456</c>) or absolute; becomes <c>fhirUser</c>. A <c>Patient/</c> user is their own patient context.</summary>
    [Required]
    public string FhirUser { get; set; } = "";
}
