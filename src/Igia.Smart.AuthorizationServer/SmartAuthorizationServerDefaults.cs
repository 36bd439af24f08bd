namespace Igia.Smart.AuthorizationServer;

/// <summary>Names and lists the authorization server shares with its hosts.</summary>
public static class SmartAuthorizationServerDefaults
{
    /// <summary>The cookie authentication scheme of the login page (authenticate with it to find the logged-in user, e.g. on an EHR launcher page).</summary>
    public const string LoginScheme = "Igia.Smart.AuthorizationServer.Login";

    /// <summary>The SMART <c>capabilities</c> this server supports (what a <c>.well-known/smart-configuration</c> may list for it).</summary>
    public static IReadOnlyList<string> Capabilities { get; } =
    [
        "launch-ehr", "launch-standalone", "authorize-post", "client-public", "client-confidential-symmetric",
        "client-confidential-asymmetric", "sso-openid-connect", "context-passthrough-banner", "context-passthrough-style",
        "context-ehr-patient", "context-ehr-encounter", "context-standalone-patient", "permission-offline", "permission-online",
        "permission-patient", "permission-user", "permission-v1", "permission-v2",
    ];

    /// <summary>The scopes listed as <c>scopes_supported</c> (resource scopes are open-ended; these are representative).</summary>
    public static IReadOnlyList<string> Scopes { get; } =
    [
        "openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter", "offline_access", "online_access",
        "patient/*.rs", "user/*.rs", "system/*.rs", "patient/*.read", "user/*.read", "system/*.read",
    ];
}
