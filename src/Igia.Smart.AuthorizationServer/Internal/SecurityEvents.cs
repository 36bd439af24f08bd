using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>Hands events to the registered <see cref="ISmartAuthorizationEventSink"/>s.</summary>
internal static class SecurityEvents
{
    public static async ValueTask RaiseAsync(HttpContext http, string kind, string? username, string? clientId)
    {
        foreach (var sink in http.RequestServices.GetServices<ISmartAuthorizationEventSink>())
        {
            try
            {
                await sink.OnEventAsync(new SmartAuthorizationEvent(kind, username, clientId, http), http.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Igia.Smart.AuthorizationServer")
                    .LogWarning("A security event sink failed ({Sink}, {ExceptionType}).", sink.GetType().Name, ex.GetType().Name);
            }
        }
    }
}
