using System.ComponentModel.DataAnnotations;
using Igia.Smart.Protocol;

namespace Igia.Smart.BackendServices;

/// <summary>
/// A SMART Backend Services client (<c>client_credentials</c> with a <c>private_key_jwt</c> assertion): who it is, its key,
/// the system scopes it asks for and where the token endpoint is.
/// </summary>
public sealed class SmartBackendServicesOptions
{
    /// <summary>
    /// The FHIR base whose <c>.well-known/smart-configuration</c> names the token endpoint. Default: the FHIR client's
    /// <c>BaseUrl</c>. Ignored when <see cref="TokenEndpoint"/> is set.
    /// </summary>
    public Uri? FhirBaseUrl { get; set; }

    /// <summary>The token endpoint, when it should not be discovered.</summary>
    public Uri? TokenEndpoint { get; set; }

    /// <summary>The registered <c>client_id</c> (the assertion's <c>iss</c> and <c>sub</c>). Required.</summary>
    [Required(AllowEmptyStrings = false)]
    public string? ClientId { get; set; }

    /// <summary>The private key the assertion is signed with (RS384 or ES384; its <c>kid</c> must be in the JWKS registered for the client). Required.</summary>
    [Required]
    public SmartSigningKey? SigningKey { get; set; }

    /// <summary>The scopes asked for, space-separated, e.g. <c>system/Patient.rs system/Observation.rs</c>. Required.</summary>
    [Required(AllowEmptyStrings = false)]
    public string? Scopes { get; set; }

    /// <summary>Lifetime of each assertion (at most five minutes). Default four minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "00:05:00")]
    public TimeSpan AssertionLifetime { get; set; } = TimeSpan.FromMinutes(4);

    /// <summary>How long before its expiry the cached access token is replaced. Default one minute.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:30:00")]
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The lifetime assumed when the token response has no <c>expires_in</c>. Default five minutes, the longest SMART
    /// recommends for backend access tokens.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan DefaultTokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether a discovered server must declare <c>client-confidential-asymmetric</c>, <c>client_credentials</c> and the key's
    /// algorithm (when it lists them). Default true.
    /// </summary>
    public bool CheckCapabilities { get; set; } = true;
}
