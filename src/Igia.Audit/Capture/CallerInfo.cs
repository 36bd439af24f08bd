using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace Igia.Audit.Capture;

/// <summary>
/// Who is calling, read generically from the principal (SMART/OAuth claims: <c>sub</c>, <c>fhirUser</c>, <c>client_id</c>
/// or <c>azp</c>, <c>jti</c>) and from the HTTP connection (address, request id).
/// </summary>
internal sealed record CallerInfo(
    string? Subject,
    string? Issuer,
    string? FhirUser,
    string? ClientId,
    string? TokenId,
    string? ClientAddress,
    bool AddressIsIp,
    string? RequestId)
{
    /// <summary>The key under which the request id is kept in <see cref="HttpContext.Items"/>.</summary>
    public static readonly object RequestIdKey = new();

    public bool HasUser => Subject is not null || FhirUser is not null;

    public static CallerInfo From(ClaimsPrincipal? user, HttpContext? http, string requestIdHeader, string? fallbackSubject = null, string? fallbackClientId = null)
    {
        string? subject = null, issuer = null, fhirUser = null, clientId = null, tokenId = null;
        if (user is not null)
        {
            var sub = user.FindFirst("sub") ?? user.FindFirst(ClaimTypes.NameIdentifier);
            subject = Clean(sub?.Value);
            issuer = sub is null ? null : Clean(user.FindFirst("iss")?.Value ?? (sub.Issuer is "LOCAL AUTHORITY" or "" ? null : sub.Issuer));
            fhirUser = Clean(user.FindFirst("fhirUser")?.Value);
            clientId = Clean(user.FindFirst("client_id")?.Value ?? user.FindFirst("azp")?.Value);
            tokenId = Clean(user.FindFirst("jti")?.Value);
            if (subject is null && user.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name })
            {
                subject = Clean(name);
            }
        }

        subject ??= Clean(fallbackSubject);
        clientId ??= Clean(fallbackClientId);
        string? address = null;
        var isIp = false;
        string? requestId = null;
        if (http is not null)
        {
            if (http.Connection.RemoteIpAddress is { } ip)
            {
                address = (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString();
                isIp = true;
            }

            requestId = RequestIdOf(http, requestIdHeader);
        }

        return new CallerInfo(subject, issuer, fhirUser, clientId, tokenId, address, isIp, requestId);
    }

    /// <summary>The request id of the request: the one the client sent, or the one generated for it.</summary>
    public static string? RequestIdOf(HttpContext http, string header)
    {
        if (http.Items.TryGetValue(RequestIdKey, out var stored) && stored is string s)
        {
            return s;
        }

        var sent = http.Request.Headers[header].ToString();
        return Clean(sent.Length > 0 ? sent : null, 200);
    }

    private static string? Clean(string? value, int max = 1024)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        value = value.Trim();
        if (value.Length > max)
        {
            value = value[..max];
        }

        // No control characters in audit fields (they would break syslog framing and log lines).
        return value.Any(char.IsControl) ? new string(value.Where(c => !char.IsControl(c)).ToArray()) : value;
    }

    /// <summary>True when <paramref name="address"/> parses as an IP address.</summary>
    public static bool IsIp(string address) => IPAddress.TryParse(address, out _);
}
