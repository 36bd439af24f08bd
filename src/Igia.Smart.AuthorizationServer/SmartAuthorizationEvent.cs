namespace Igia.Smart.AuthorizationServer;

/// <summary>A security event of the authorization server (never holds a password, code, secret or token).</summary>
/// <param name="Kind">
/// <c>login</c>, <c>login-failed</c>, <c>logout</c>, <c>authorize</c> (a code issued), <c>token</c>, <c>token-refresh</c>,
/// <c>token-client-credentials</c>.
/// </param>
/// <param name="Username">The user's login name, when known.</param>
/// <param name="ClientId">The client, when known.</param>
/// <param name="HttpContext">The request.</param>
public sealed record SmartAuthorizationEvent(string Kind, string? Username, string? ClientId, Microsoft.AspNetCore.Http.HttpContext HttpContext);

/// <summary>
/// Receives the authorization server's security events (register any number as services), e.g. to write them to the
/// Igia audit trail. Fail-closed: the event is raised before the code, token or login cookie is issued, and when a sink
/// throws or exceeds <see cref="SmartAuthorizationServerOptions.EventSinkTimeout"/> nothing is issued: the token endpoint
/// answers HTTP 503 <c>temporarily_unavailable</c>, the authorization endpoint redirects with <c>temporarily_unavailable</c>,
/// and the login and logout pages answer 503.
/// </summary>
public interface ISmartAuthorizationEventSink
{
    /// <summary>Records <paramref name="smartEvent"/>.</summary>
    ValueTask OnEventAsync(SmartAuthorizationEvent smartEvent, CancellationToken cancellationToken);
}
