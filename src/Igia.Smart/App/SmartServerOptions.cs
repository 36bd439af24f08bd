using Igia.Smart.Protocol;

namespace Igia.Smart.App;

/// <summary>How the app calls the authorization endpoint.</summary>
public enum SmartAuthorizeMethod
{
    /// <summary>POST when the server declares <c>authorize-post</c>, otherwise a GET redirect (the default).</summary>
    Auto,

    /// <summary>Always a GET redirect.</summary>
    Get,

    /// <summary>Always a POST (an auto-submitting form).</summary>
    Post,
}

/// <summary>What happens when the server does not declare a capability the launch needs.</summary>
public enum SmartCapabilityCheck
{
    /// <summary>The launch is refused with <see cref="SmartErrorCode.CapabilityMissing"/> (the default).</summary>
    Strict,

    /// <summary>A warning is logged and the launch goes ahead.</summary>
    Warn,

    /// <summary>Capabilities are not checked. (PKCE S256 is still required when the server lists its methods.)</summary>
    Off,
}

/// <summary>
/// One FHIR server (EHR) the app is registered with: its FHIR base — which is also the allow-list entry for EHR launches —, the
/// client registration (id, authentication, secret or key), scopes and redirect URI. Added with <c>AddIgiaSmartApp(...).AddServer(name, ...)</c>
/// and validated at start-up (an <see cref="Microsoft.Extensions.Options.OptionsValidationException"/> names the server and the problem).
/// </summary>
public sealed class SmartServerOptions
{
    /// <summary>The FHIR base URL, exactly as the server calls itself in <c>iss</c> (e.g. <c>https://ehr.example.org/fhir</c>). Required.</summary>
    public Uri? FhirBaseUrl { get; set; }

    /// <summary>The <c>client_id</c> the server issued to the app. Required.</summary>
    public string? ClientId { get; set; }

    /// <summary>How the app authenticates at the token endpoint. Default <see cref="SmartClientAuthentication.Public"/>.</summary>
    public SmartClientAuthentication ClientAuthentication { get; set; } = SmartClientAuthentication.Public;

    /// <summary>The client secret, for <see cref="SmartClientAuthentication.ClientSecretBasic"/>.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>The private key, for <see cref="SmartClientAuthentication.PrivateKeyJwt"/> (RS384 or ES384).</summary>
    public SmartSigningKey? SigningKey { get; set; }

    /// <summary>
    /// The scopes asked for in an EHR launch (space-separated, SMART v1 or v2 syntax), e.g.
    /// <c>openid fhirUser launch patient/*.rs offline_access</c>; <c>launch</c> is added when missing. Required.
    /// </summary>
    public string? Scopes { get; set; }

    /// <summary>
    /// The scopes asked for in a standalone launch, e.g. <c>openid fhirUser launch/patient patient/*.rs offline_access</c>.
    /// Default: <see cref="Scopes"/> without <c>launch</c>.
    /// </summary>
    public string? StandaloneScopes { get; set; }

    /// <summary>
    /// The registered <c>redirect_uri</c>, absolute. Default: the request's scheme, host and path base plus
    /// <see cref="SmartAppOptions.CallbackPath"/>; set it explicitly behind proxies.
    /// </summary>
    public Uri? RedirectUri { get; set; }

    /// <summary>GET or POST to the authorization endpoint. Default <see cref="SmartAuthorizeMethod.Auto"/>.</summary>
    public SmartAuthorizeMethod AuthorizeMethod { get; set; } = SmartAuthorizeMethod.Auto;

    /// <summary>What to do when the server does not declare a needed capability. Default <see cref="SmartCapabilityCheck.Strict"/>.</summary>
    public SmartCapabilityCheck CapabilityCheck { get; set; } = SmartCapabilityCheck.Strict;

    /// <summary>Lifetime of <c>private_key_jwt</c> assertions (at most five minutes). Default four minutes.</summary>
    public TimeSpan AssertionLifetime { get; set; } = TimeSpan.FromMinutes(4);
}
