using System.Net;
using System.Net.Sockets;

namespace Igia.Workflow.Subscriptions;

/// <summary>
/// The rest-hook endpoint allow-list (<see cref="SubscriptionOptions.AllowedEndpoints"/>), compiled once: checked when
/// a Subscription is written, before each notification POST, and on the resolved address when a connection is made
/// (see <see cref="RestHookHttp"/>). Deny by default. Hand-written: no library does URL allow-lists with an SSRF
/// address check on the connection.
/// </summary>
internal sealed class EndpointPolicy
{
    private readonly Rule[] _rules;

    public EndpointPolicy(IEnumerable<AllowedEndpoint> entries)
    {
        _rules = [.. entries.Select(e => Rule.Parse(e.Url, e.AllowPrivateAddresses) ?? throw new ArgumentException(InvalidEntry(e.Url)))];
    }

    /// <summary>Why an allow-list entry is unusable, or null when it is fine (start-up validation).</summary>
    public static string? Validate(IEnumerable<AllowedEndpoint> entries) =>
        entries.Where(e => Rule.Parse(e.Url, e.AllowPrivateAddresses) is null).Select(e => InvalidEntry(e.Url)).FirstOrDefault();

    private static string InvalidEntry(string? url) =>
        $"WorkflowOptions.Subscriptions.AllowedEndpoints: '{url}' is not an http(s) URL of scheme, host, optional port (':*' = any) and optional path (no user info, query or fragment).";

    /// <summary>Whether notifications may be sent to <paramref name="endpoint"/>; <paramref name="reason"/> says why not (without the path or query).</summary>
    public bool Allows(Uri endpoint, out string reason)
    {
        if (!endpoint.IsAbsoluteUri || endpoint.Scheme is not ("http" or "https"))
        {
            reason = "Subscription.channel.endpoint must be an absolute http(s) URL.";
            return false;
        }

        if (endpoint.UserInfo.Length > 0)
        {
            reason = "Subscription.channel.endpoint must not carry user information (use channel.header for credentials).";
            return false;
        }

        var origin = $"{endpoint.Scheme}://{endpoint.Authority}";
        if (_rules.Length == 0)
        {
            reason = $"Subscription.channel.endpoint {origin} is not allowed: this server has no rest-hook endpoint allow-list (WorkflowOptions.Subscriptions.AllowedEndpoints), so it sends no rest-hook notifications.";
            return false;
        }

        var rule = _rules.FirstOrDefault(r => r.Matches(endpoint, withPath: true));
        if (rule is null)
        {
            var https = endpoint.Scheme == "http" && _rules.Any(r => r.Matches(new UriBuilder(endpoint) { Scheme = "https", Port = endpoint.IsDefaultPort ? -1 : endpoint.Port }.Uri, withPath: true));
            reason = https
                ? $"Subscription.channel.endpoint {origin} is not allowed: this server sends notifications to that host over https only."
                : $"Subscription.channel.endpoint {origin}{(endpoint.AbsolutePath == "/" ? "" : " (with that path)")} is not allowed: it is not on this server's rest-hook endpoint allow-list.";
            return false;
        }

        if (IPAddress.TryParse(endpoint.IdnHost.Trim('[', ']'), out var literal) && Refuses(literal, rule.AllowPrivateAddresses))
        {
            reason = $"Subscription.channel.endpoint {origin} is not allowed: {Describe(literal)}.";
            return false;
        }

        reason = "";
        return true;
    }

    /// <summary>Whether some entry that matches the endpoint's scheme, host and port lets it reach non-public addresses (the connection is per host, not per path).</summary>
    public bool AllowsPrivateAddresses(Uri endpoint) => _rules.Any(r => r.AllowPrivateAddresses && r.Matches(endpoint, withPath: false));

    /// <summary>Whether a connection to <paramref name="address"/> is refused.</summary>
    public static bool Refuses(IPAddress address, bool allowPrivate) => IsMetadata(address) || (!allowPrivate && !IsPublic(address));

    public static string Describe(IPAddress address) => IsMetadata(address)
        ? "it is a cloud metadata address, never allowed"
        : "it is a loopback, private, link-local or otherwise non-public address, and its allow-list entry does not allow those (AllowPrivateAddresses)";

    private static readonly IPAddress[] Metadata =
    [
        IPAddress.Parse("169.254.169.254"), IPAddress.Parse("169.254.170.2"), IPAddress.Parse("100.100.100.200"), IPAddress.Parse("fd00:ec2::254"),
    ];

    public static bool IsMetadata(IPAddress address) => Array.IndexOf(Metadata, Normalize(address)) >= 0;

    /// <summary>True for a globally routable unicast address; false for loopback, private, CGNAT, link-local, unspecified, multicast, documentation, benchmarking and reserved ranges.</summary>
    public static bool IsPublic(IPAddress address)
    {
        address = Normalize(address);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] is 0 or 10 or 127 or >= 224
                || (b[0] == 100 && b[1] is >= 64 and <= 127)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && b[1] is >= 16 and <= 31)
                || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2)
                || (b[0] == 192 && b[1] == 88 && b[2] == 99)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 198 && b[1] is 18 or 19)
                || (b[0] == 198 && b[1] == 51 && b[2] == 100)
                || (b[0] == 203 && b[1] == 0 && b[2] == 113));
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        var v6 = address.GetAddressBytes();
        if (address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.IPv6Loopback) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast)
        {
            return false;
        }

        return !((v6[0] & 0xfe) == 0xfc // unique local fc00::/7
            || (v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0 && v6[3] == 0) // Teredo 2001::/32
            || (v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x0d && v6[3] == 0xb8) // documentation 2001:db8::/32
            || (v6[0] & 0xe0) != 0x20); // outside global unicast 2000::/3
    }

    /// <summary>IPv4 inside IPv6 (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) as the IPv4 address it reaches.</summary>
    private static IPAddress Normalize(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        var b = address.GetAddressBytes();
        if (b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0 && !address.Equals(IPAddress.IPv6Any) && !address.Equals(IPAddress.IPv6Loopback))
        {
            return new IPAddress(b.AsSpan(12, 4));
        }

        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
        {
            return new IPAddress(b.AsSpan(12, 4));
        }

        if (b[0] == 0x20 && b[1] == 0x02)
        {
            return new IPAddress(b.AsSpan(2, 4));
        }

        return address;
    }

    private sealed class Rule
    {
        private string _scheme = "";
        private string _host = "";
        private bool _wildcardHost;
        private int? _port;
        private string _path = "/";

        public bool AllowPrivateAddresses { get; private init; }

        public static Rule? Parse(string? url, bool allowPrivate)
        {
            if (string.IsNullOrWhiteSpace(url))
            {
                return null;
            }

            // ':*' (any port) and '*.' (subdomains) are not URL syntax: take them out before parsing.
            var anyPort = false;
            var text = url.Trim();
            var schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
            if (schemeEnd > 0)
            {
                var authorityEnd = text.IndexOf('/', schemeEnd + 3);
                var authority = authorityEnd < 0 ? text[(schemeEnd + 3)..] : text[(schemeEnd + 3)..authorityEnd];
                if (authority.EndsWith(":*", StringComparison.Ordinal))
                {
                    anyPort = true;
                    text = text[..(schemeEnd + 3)] + authority[..^2] + (authorityEnd < 0 ? "" : text[authorityEnd..]);
                }
            }

            var wildcard = false;
            if (schemeEnd > 0 && text.AsSpan(schemeEnd + 3).StartsWith("*."))
            {
                wildcard = true;
                text = text[..(schemeEnd + 3)] + text[(schemeEnd + 5)..];
            }

            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.UserInfo.Length > 0
                || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.IdnHost.Length == 0)
            {
                return null;
            }

            return new Rule
            {
                _scheme = uri.Scheme,
                _host = HostOf(uri),
                _wildcardHost = wildcard,
                _port = anyPort ? null : uri.Port,
                _path = uri.AbsolutePath.Length == 0 ? "/" : uri.AbsolutePath,
                AllowPrivateAddresses = allowPrivate,
            };
        }

        private static string HostOf(Uri uri) => uri.IdnHost.TrimEnd('.').ToLowerInvariant();

        public bool Matches(Uri endpoint, bool withPath)
        {
            if (endpoint.Scheme != _scheme || (_port is { } port && endpoint.Port != port))
            {
                return false;
            }

            var host = HostOf(endpoint);
            if (_wildcardHost ? !host.EndsWith("." + _host, StringComparison.Ordinal) : host != _host)
            {
                return false;
            }

            if (!withPath || _path == "/")
            {
                return true;
            }

            var path = endpoint.AbsolutePath;
            return _path.EndsWith('/')
                ? path.StartsWith(_path, StringComparison.Ordinal)
                : path == _path || path.StartsWith(_path + "/", StringComparison.Ordinal);
        }
    }
}
