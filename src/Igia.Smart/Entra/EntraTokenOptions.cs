using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography.X509Certificates;

namespace Igia.Smart.Entra;

/// <summary>
/// A Microsoft Entra ID (Azure AD) confidential client that obtains app-only tokens for a FHIR service such as Azure Health
/// Data Services, with a client secret or a certificate.
/// </summary>
public sealed class EntraTokenOptions
{
    /// <summary>The directory (tenant) id or domain. Required unless <see cref="Authority"/> or <see cref="OidcAuthority"/> is set.</summary>
    public string? TenantId { get; set; }

    /// <summary>The application (client) id. Required.</summary>
    [Required(AllowEmptyStrings = false)]
    public string? ClientId { get; set; }

    /// <summary>The client secret; set this or <see cref="Certificate"/>.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>The certificate (with private key) registered for the application; set this or <see cref="ClientSecret"/>.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Whether the certificate chain is sent (x5c), for subject-name/issuer authentication. Default false.</summary>
    public bool SendCertificateChain { get; set; }

    /// <summary>
    /// The scopes asked for. Default: the FHIR base followed by <c>/.default</c> (e.g.
    /// <c>https://contoso.fhir.azurehealthcareapis.com/.default</c>), which is what Azure Health Data Services expects.
    /// </summary>
    public IList<string> Scopes { get; } = [];

    /// <summary>The Entra authority, e.g. <c>https://login.microsoftonline.us/{tenant}</c> for a sovereign cloud. Default: the public cloud with <see cref="TenantId"/>.</summary>
    public Uri? Authority { get; set; }

    /// <summary>A generic OpenID Connect authority instead of Entra (MSAL's <c>WithOidcAuthority</c>); for other identity providers.</summary>
    public Uri? OidcAuthority { get; set; }

    /// <summary>How long before its expiry the cached token is replaced. Default five minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:30:00")]
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromMinutes(5);
}
