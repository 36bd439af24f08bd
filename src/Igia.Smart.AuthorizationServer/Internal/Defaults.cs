using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>Names shared by the authorization server's parts.</summary>
internal static class SmartAuthzDefaults
{
    /// <summary>The cookie scheme of the login page.</summary>
    public const string LoginScheme = SmartAuthorizationServerDefaults.LoginScheme;

    /// <summary>The authorization request parameter carrying a patient picker selection.</summary>
    public const string PickParameter = "igia_pick";

    // Private claims carried from the authorization to the token endpoint (and into access tokens where useful).
    public const string PatientClaim = "patient";
    public const string EncounterClaim = "encounter";
    public const string FhirUserClaim = "fhirUser";
    public const string FhirContextClaim = "fhirContext";
    public const string LaunchKindClaim = "igia_launch";

    /// <summary>A random, URL-safe 256-bit value.</summary>
    public static string NewHandle() => Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The FHIR base the tokens are for, without a trailing slash.</summary>
    public static string FhirBase(SmartAuthorizationServerOptions options, HttpRequest request) =>
        (options.FhirBaseUrl?.ToString() ?? $"{request.Scheme}://{request.Host}{request.PathBase}{options.FhirBasePath}").TrimEnd('/');

    /// <summary>True when <paramref name="aud"/> names <paramref name="fhirBase"/> (scheme and host case-insensitive, one trailing slash ignored).</summary>
    public static bool SameBase(string? aud, string fhirBase)
    {
        if (aud is null || !Uri.TryCreate(aud.TrimEnd('/'), UriKind.Absolute, out var a) || !Uri.TryCreate(fhirBase, UriKind.Absolute, out var b))
        {
            return false;
        }

        return Uri.Compare(a, b, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) == 0
            && string.Equals(a.AbsolutePath.TrimEnd('/'), b.AbsolutePath.TrimEnd('/'), StringComparison.Ordinal)
            && string.IsNullOrEmpty(a.Query) && string.IsNullOrEmpty(a.Fragment);
    }

    /// <summary>True for a local URL (<c>/…</c> but not <c>//…</c> or <c>/\…</c>).</summary>
    public static bool IsLocalUrl(string? url) =>
        !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'));
}
