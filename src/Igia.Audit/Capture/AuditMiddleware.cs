using Hl7.Fhir.Model;
using Igia.Audit.Internal;
using Igia.Audit.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Audit.Capture;

/// <summary>
/// The HTTP side of capture, outermost in the app: gives every request an <c>X-Request-Id</c> (the client's or a new one,
/// echoed in the response), and records what the FHIR filter cannot see — FHIR requests refused before the interaction
/// pipeline (malformed, unauthenticated: also a Security Alert) — and requests to endpoints opted in with
/// <see cref="AuditedAttribute"/>. The record is made before the response starts, so guaranteed mode holds it back.
/// </summary>
internal sealed partial class AuditMiddleware(RequestDelegate next, AuditTrail trail, IOptions<AuditOptions> options, ILogger<AuditMiddleware> logger)
{
    private readonly AuditOptions _options = options.Value;

    public async Task InvokeAsync(HttpContext context)
    {
        var header = _options.RequestIdHeader;
        var requestId = CallerInfo.RequestIdOf(context, header) ?? FhirId.New();
        context.Items[CallerInfo.RequestIdKey] = requestId;
        context.Response.OnStarting(static state =>
        {
            var (self, ctx, id) = ((AuditMiddleware, HttpContext, string))state;
            if (!ctx.Response.Headers.ContainsKey(self._options.RequestIdHeader))
            {
                ctx.Response.Headers[self._options.RequestIdHeader] = id;
            }

            return self.RecordIfNeededAsync(ctx, ctx.Response.StatusCode, wait: true);
        }, (this, context, requestId));

        try
        {
            await next(context);
        }
        catch (Exception) when (!context.Response.HasStarted)
        {
            await RecordIfNeededAsync(context, StatusCodes.Status500InternalServerError, wait: false);
            throw;
        }
    }

    private async Task RecordIfNeededAsync(HttpContext context, int status, bool wait)
    {
        if (context.Items.ContainsKey(AuditInteractionFilter.RecordedKey))
        {
            return;
        }

        var endpoint = context.GetEndpoint();
        var audited = endpoint?.Metadata.GetMetadata<AuditedAttribute>();
        var fhir = endpoint?.DisplayName is "FHIR" or "FHIR base";
        if (audited is null && !fhir)
        {
            return;
        }

        context.Items[AuditInteractionFilter.RecordedKey] = true;
        var patient = audited?.PatientRouteParameter is { } p ? context.GetRouteValue(p)?.ToString() : null;
        var events = trail.Factory.ForHttpRequest(context, status, fhir, patient, audited?.Action);
        if (status is 401 or 403)
        {
            events.Add(trail.Factory.ForSecurityEvent(new SecurityEvent
            {
                Kind = status == 401 ? SecurityEventKind.AuthenticationFailure : SecurityEventKind.AuthorizationDenied,
                User = context.User,
                HttpContext = context,
                PatientId = patient,
            }));
        }

        try
        {
            await trail.SubmitAsync(events, wait && trail.Guaranteed, context.RequestAborted);
        }
        catch (AuditUnavailableException e) when (status < 400)
        {
            // A success must not be released without its record: abort the connection instead.
            LogAborted(logger, e.InnerException?.GetType().Name ?? e.GetType().Name);
            context.Abort();
        }
        catch (AuditUnavailableException)
        {
            // A failure confirms nothing: it is answered even though its record is not durable yet (it stays queued).
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A response was aborted: its audit record could not be made durable ({Reason}).")]
    private static partial void LogAborted(ILogger logger, string reason);
}

/// <summary>Puts <see cref="AuditMiddleware"/> first in the app's pipeline.</summary>
internal sealed class AuditStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<AuditMiddleware>();
        next(app);
    };
}
