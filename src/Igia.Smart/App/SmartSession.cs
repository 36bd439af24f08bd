using System.Security.Claims;
using Igia.Smart.Protocol;

namespace Igia.Smart.App;

/// <summary>How a SMART session was started.</summary>
public enum SmartLaunchKind
{
    /// <summary>From inside an EHR (<c>iss</c> and <c>launch</c>).</summary>
    Ehr,

    /// <summary>By the user, outside any EHR.</summary>
    Standalone,
}

/// <summary>
/// The SMART session of the current browser: which server, who the user is, what is in context and what was granted.
/// It holds no tokens; get the access token with <see cref="ISmartSessionAccessor.GetAccessTokenAsync"/> or, better,
/// an authorised FHIR client from <see cref="ISmartFhirClientFactory"/>.
/// </summary>
public sealed class SmartSession
{
    internal SmartSession(
        string id,
        string serverName,
        Uri fhirBaseUrl,
        SmartLaunchKind launchKind,
        SmartLaunchContext context,
        IReadOnlyList<SmartScope> grantedScopes,
        string? subject,
        string? fhirUser,
        IReadOnlyList<Claim> idTokenClaims,
        DateTimeOffset? accessTokenExpiresAt,
        bool canRefresh,
        DateTimeOffset startedAt)
    {
        Id = id;
        ServerName = serverName;
        FhirBaseUrl = fhirBaseUrl;
        LaunchKind = launchKind;
        Context = context;
        GrantedScopes = grantedScopes;
        Subject = subject;
        FhirUser = fhirUser;
        IdTokenClaims = idTokenClaims;
        AccessTokenExpiresAt = accessTokenExpiresAt;
        CanRefresh = canRefresh;
        StartedAt = startedAt;
    }

    /// <summary>The session id (appended to the return URL as <see cref="SmartAppOptions.SessionParameterName"/>).</summary>
    public string Id { get; }

    /// <summary>The name of the server (as given to <c>AddServer</c>).</summary>
    public string ServerName { get; }

    /// <summary>The FHIR base URL of the server.</summary>
    public Uri FhirBaseUrl { get; }

    /// <summary>EHR or standalone launch.</summary>
    public SmartLaunchKind LaunchKind { get; }

    /// <summary>The launch context: patient, encounter, fhirContext, banner and style hints, intent, tenant.</summary>
    public SmartLaunchContext Context { get; }

    /// <summary>The scopes the server granted (which may be fewer than asked for).</summary>
    public IReadOnlyList<SmartScope> GrantedScopes { get; }

    /// <summary>The user's <c>sub</c> from the validated id_token, when <c>openid</c> was granted.</summary>
    public string? Subject { get; }

    /// <summary>The user's FHIR resource (<c>fhirUser</c> claim of the validated id_token), e.g. <c>https://ehr/fhir/Practitioner/123</c>.</summary>
    public string? FhirUser { get; }

    /// <summary>The claims of the validated id_token (empty without <c>openid</c>).</summary>
    public IReadOnlyList<Claim> IdTokenClaims { get; }

    /// <summary>When the current access token expires, if the server said.</summary>
    public DateTimeOffset? AccessTokenExpiresAt { get; }

    /// <summary>Whether the session holds a refresh token.</summary>
    public bool CanRefresh { get; }

    /// <summary>When the launch completed.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Whether <paramref name="scope"/> was granted (exact match).</summary>
    /// <param name="scope">A scope, e.g. <c>patient/Observation.rs</c>.</param>
    public bool HasScope(string scope) => GrantedScopes.Any(s => string.Equals(s.Value, scope, StringComparison.Ordinal));

    /// <inheritdoc />
    public override string ToString() => $"SmartSession ({ServerName}, {LaunchKind}; tokens hidden)";
}
