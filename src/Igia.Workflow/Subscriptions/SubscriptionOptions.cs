namespace Igia.Workflow;

/// <summary>
/// Options of the rest-hook channel (<see cref="WorkflowOptions.Subscriptions"/>). Deny by default: with no
/// <see cref="AllowedEndpoints"/> every rest-hook Subscription is refused (422) when it is written.
/// </summary>
public sealed class SubscriptionOptions
{
    /// <summary>
    /// The endpoints notifications may be sent to. A Subscription whose <c>channel.endpoint</c> matches none is refused
    /// when written, and a notification to it is not sent (checked again before each POST and, on the resolved IP
    /// address, when the connection is made). Empty (the default) = no rest-hook Subscriptions.
    /// </summary>
    public IList<AllowedEndpoint> AllowedEndpoints { get; set; } = [];

    /// <summary>
    /// The ASP.NET Core authentication scheme that identifies who writes a Subscription over HTTP, when the FHIR endpoint's
    /// user is not authenticated by middleware — with the SMART resource server, set
    /// <c>SmartResourceServerDefaults.AuthenticationScheme</c> (<c>"IgiaSmart"</c>). The writer's claims are recorded
    /// with the Subscription, and notification content is read as that principal. Null (default): the pipeline's user.
    /// </summary>
    public string? AuthenticationScheme { get; set; }

    /// <summary>Adds an allow-list entry; see <see cref="AllowedEndpoint"/>.</summary>
    /// <param name="url">Scheme, host, optional port (<c>:*</c> = any) and optional path prefix, e.g. <c>https://hooks.example.org/fhir/</c>.</param>
    /// <param name="allowPrivateAddresses">Whether the host may resolve to a loopback, private or link-local address.</param>
    /// <returns>These options.</returns>
    public SubscriptionOptions Allow(string url, bool allowPrivateAddresses = false)
    {
        AllowedEndpoints.Add(new AllowedEndpoint { Url = url, AllowPrivateAddresses = allowPrivateAddresses });
        return this;
    }
}

/// <summary>
/// One entry of <see cref="SubscriptionOptions.AllowedEndpoints"/>. <see cref="Url"/> is matched against the endpoint:
/// the scheme must be the same (an <c>https</c> entry does not allow <c>http</c>; an <c>http://</c> entry is the explicit
/// opt-in to plain http, for loopback and development), the host equal ignoring case (<c>*.example.org</c> matches its
/// subdomains, not itself), the port equal (none = the scheme's default; <c>:*</c> = any) and the endpoint's path
/// inside the entry's path (<c>/fhir</c> allows <c>/fhir</c> and <c>/fhir/…</c>, not <c>/fhirx</c>).
/// </summary>
public sealed class AllowedEndpoint
{
    /// <summary>The entry, e.g. <c>https://hooks.example.org</c>, <c>https://*.example.org/igia/</c>, <c>http://127.0.0.1:*</c>.</summary>
    public string Url { get; set; } = "";

    /// <summary>
    /// Whether endpoints of this entry may resolve to loopback, private (RFC 1918, unique-local), carrier-grade NAT,
    /// link-local or other non-public addresses. Default false: such an address is refused when the connection is made,
    /// whatever the name, so DNS cannot point an allowed name at an internal service. Cloud metadata addresses
    /// (169.254.169.254, 169.254.170.2, 100.100.100.200, fd00:ec2::254) are refused even then.
    /// </summary>
    public bool AllowPrivateAddresses { get; set; }
}
