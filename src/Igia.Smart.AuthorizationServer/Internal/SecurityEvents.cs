using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>
/// Hands events to the registered <see cref="ISmartAuthorizationEventSink"/>s, fail-closed: the callers raise the event
/// before anything is issued (code, token, login cookie) and refuse the request when this returns false.
/// </summary>
internal static class SecurityEvents
{
    /// <summary>True when every sink recorded the event within <see cref="SmartAuthorizationServerOptions.EventSinkTimeout"/>.</summary>
    public static async ValueTask<bool> TryRaiseAsync(HttpContext http, string kind, string? username, string? clientId)
    {
        var sinks = http.RequestServices.GetServices<ISmartAuthorizationEventSink>();
        var timeout = http.RequestServices.GetRequiredService<IOptions<SmartAuthorizationServerOptions>>().Value.EventSinkTimeout;
        foreach (var sink in sinks)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
            deadline.CancelAfter(timeout);
            try
            {
                // WaitAsync also bounds a sink that ignores its cancellation token.
                await sink.OnEventAsync(new SmartAuthorizationEvent(kind, username, clientId, http), deadline.Token).AsTask()
                    .WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!http.RequestAborted.IsCancellationRequested)
            {
                // Sink type and exception type only: a sink's message may carry the event's data.
                http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Igia.Smart.AuthorizationServer")
                    .LogError("A security event sink failed ({Sink}, {ExceptionType}) for a {Kind} event: the request is refused (fail-closed).",
                        sink.GetType().Name, deadline.IsCancellationRequested ? "timeout" : ex.GetType().Name, kind);
                return false;
            }
        }

        return true;
    }
}
