using System.Net;

namespace Igia.Smart.Protocol.Internal;

/// <summary>Names and rules for the HTTP calls the package makes.</summary>
internal static class SmartHttp
{
    /// <summary>The <c>IHttpClientFactory</c> name of the client used for discovery, JWKS and token requests.</summary>
    public const string ClientName = "Igia.Smart";

    /// <summary>True for https, or http on a loopback host.</summary>
    public static bool IsSecure(Uri uri) =>
        uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && IsLoopback(uri));

    public static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    /// <summary>Throws <see cref="SmartErrorCode.InsecureEndpoint"/> when <paramref name="uri"/> is plain HTTP off loopback and HTTPS is required.</summary>
    public static void RequireSecure(Uri uri, bool requireHttps, string what)
    {
        if (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new SmartException(SmartErrorCode.InsecureEndpoint, $"The {what} is not an http(s) URL.");
        }

        if (requireHttps && !IsSecure(uri))
        {
            throw new SmartException(SmartErrorCode.InsecureEndpoint, $"The {what} ({uri.GetLeftPart(UriPartial.Authority)}) uses plain HTTP; tokens are only sent over HTTPS (plain HTTP is allowed on loopback only).");
        }
    }

    /// <summary>The base with exactly one trailing slash, so that relative paths append.</summary>
    public static Uri WithTrailingSlash(Uri baseUrl) =>
        baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");

    /// <summary>A FHIR base in a form two spellings of the same base compare equal in: no trailing slash, scheme and host lower-cased, default port dropped.</summary>
    public static string Normalize(Uri baseUrl)
    {
        var text = baseUrl.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path | UriComponents.Query, UriFormat.UriEscaped);
        return text.TrimEnd('/');
    }
}
