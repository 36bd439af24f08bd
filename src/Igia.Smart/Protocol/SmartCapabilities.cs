namespace Igia.Smart.Protocol;

/// <summary>The capability strings of SMART App Launch 2.2 (<c>capabilities</c> in <c>.well-known/smart-configuration</c>).</summary>
public static class SmartCapabilities
{
    /// <summary>The server supports the EHR launch.</summary>
    public const string LaunchEhr = "launch-ehr";

    /// <summary>The server supports the standalone launch.</summary>
    public const string LaunchStandalone = "launch-standalone";

    /// <summary>The server accepts <c>POST</c> to the authorization endpoint.</summary>
    public const string AuthorizePost = "authorize-post";

    /// <summary>The server supports public clients (no client authentication).</summary>
    public const string ClientPublic = "client-public";

    /// <summary>The server supports confidential clients with a shared secret (<c>client_secret_basic</c>).</summary>
    public const string ClientConfidentialSymmetric = "client-confidential-symmetric";

    /// <summary>The server supports confidential clients with asymmetric keys (<c>private_key_jwt</c>).</summary>
    public const string ClientConfidentialAsymmetric = "client-confidential-asymmetric";

    /// <summary>The server supports OpenID Connect single sign-on (<c>openid fhirUser</c>).</summary>
    public const string SsoOpenIdConnect = "sso-openid-connect";

    /// <summary>The server can ask the user to pick a patient in a standalone launch (<c>launch/patient</c>).</summary>
    public const string ContextStandalonePatient = "context-standalone-patient";

    /// <summary>The server can ask the user to pick an encounter in a standalone launch (<c>launch/encounter</c>).</summary>
    public const string ContextStandaloneEncounter = "context-standalone-encounter";

    /// <summary>The server returns patient context in an EHR launch.</summary>
    public const string ContextEhrPatient = "context-ehr-patient";

    /// <summary>The server returns encounter context in an EHR launch.</summary>
    public const string ContextEhrEncounter = "context-ehr-encounter";

    /// <summary>The server supports <c>need_patient_banner</c>.</summary>
    public const string ContextBanner = "context-banner";

    /// <summary>The server supports <c>smart_style_url</c>.</summary>
    public const string ContextStyle = "context-style";

    /// <summary>The server supports <c>offline_access</c>.</summary>
    public const string PermissionOffline = "permission-offline";

    /// <summary>The server supports <c>online_access</c>.</summary>
    public const string PermissionOnline = "permission-online";

    /// <summary>The server supports <c>patient/</c> scopes.</summary>
    public const string PermissionPatient = "permission-patient";

    /// <summary>The server supports <c>user/</c> scopes.</summary>
    public const string PermissionUser = "permission-user";

    /// <summary>The server supports SMART v1 scope syntax (<c>.read</c>, <c>.write</c>).</summary>
    public const string PermissionV1 = "permission-v1";

    /// <summary>The server supports SMART v2 scope syntax (<c>.cruds</c>).</summary>
    public const string PermissionV2 = "permission-v2";
}
