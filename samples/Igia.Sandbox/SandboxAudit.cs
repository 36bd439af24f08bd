using Igia.Audit;
using Igia.Smart.AuthorizationServer;

namespace Igia.Sandbox;

/// <summary>
/// Writes the SMART authorization server's security events (login, logout, tokens issued) to the Igia audit trail as
/// IHE BALP security AuditEvents (the two packages do not reference each other; this is the bridge docs/audit.md shows).
/// </summary>
internal sealed class SandboxAuditBridge(IAuditTrail audit) : ISmartAuthorizationEventSink
{
    public ValueTask OnEventAsync(SmartAuthorizationEvent smartEvent, CancellationToken cancellationToken) => audit.RecordAsync(new SecurityEvent
    {
        Kind = smartEvent.Kind switch
        {
            "login" or "login-failed" => SecurityEventKind.Login,
            "logout" => SecurityEventKind.Logout,
            _ => SecurityEventKind.TokenIssued,
        },
        Success = smartEvent.Kind != "login-failed",
        UserId = smartEvent.Username,
        ClientId = smartEvent.ClientId,
        HttpContext = smartEvent.HttpContext,
        Description = smartEvent.Kind,
    }, cancellationToken);
}
