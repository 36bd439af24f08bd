using System.Net;
using Hl7.Fhir.Model;
using Igia.Audit.Internal;
using Igia.Audit.Pipeline;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Audit.Capture;

/// <summary>
/// Captures every FHIR interaction — each batch/transaction entry too — as BALP AuditEvents. It runs outermost, so it
/// sees every outcome (denials by authorization filters included). A top-level interaction's response is released only
/// after all its records (its entries' included) are durable, in guaranteed mode; entries never wait inside a
/// transaction (which holds the store's writer), their records are queued when the top-level interaction ends.
/// </summary>
internal sealed partial class AuditInteractionFilter(
    AuditTrail trail,
    IServiceProvider services,
    IOptions<AuditOptions> options,
    ILogger<AuditInteractionFilter> logger) : IFhirInteractionFilter
{
    /// <summary>Marks interactions issued by the FHIR-store sink (not audited: they are the audit).</summary>
    internal static readonly object SinkWriteKey = new();

    /// <summary>Marks, in <c>HttpContext.Items</c>, a request whose audit the filter took care of.</summary>
    internal static readonly object RecordedKey = new();

    private static readonly object ScopeKey = new();
    private readonly AuditOptions _options = options.Value;

    public int Order => FhirFilterOrder.Audit;

    public async ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next)
    {
        var topLevel = interaction.Parent is null;
        if (topLevel && interaction.HttpContext is { } http)
        {
            http.Items[RecordedKey] = true;
        }

        if (interaction.Items.ContainsKey(SinkWriteKey) || interaction.Parent?.Items.ContainsKey(SinkWriteKey) == true
            || (interaction.Kind == FhirInteractionKind.Capabilities && !_options.AuditCapabilities))
        {
            return await next(interaction);
        }

        var factory = trail.Factory;
        if (topLevel && trail.Guaranteed && trail.Failure is not null)
        {
            // Fail closed: with the audit log down, nothing is done that could not be audited.
            var refused = FhirResponse.Error(HttpStatusCode.ServiceUnavailable, OperationOutcome.IssueType.Transient,
                "The audit trail is unavailable, so the request was not processed. Retry later.");
            await SubmitQuietlyAsync(factory.ForInteraction(interaction, 503, refused, null), wait: false);
            return refused;
        }

        AuditScope? scope = null;
        if (topLevel)
        {
            if (interaction.Kind is FhirInteractionKind.Batch or FhirInteractionKind.Transaction)
            {
                scope = new AuditScope();
                interaction.Items[ScopeKey] = scope;
            }
        }
        else if (interaction.Parent!.Items.TryGetValue(ScopeKey, out var s))
        {
            scope = s as AuditScope;
        }

        ISet<string>? patients = null;
        if (_options.ResolvePatientOfWrites && interaction.Kind == FhirInteractionKind.Delete && interaction.ResourceType is { } type and not "Patient" && interaction.Id is { } id)
        {
            patients = await ResolvePatientsAsync(type, id, interaction.BaseUrl, interaction.CancellationToken);
        }

        FhirResponse response;
        try
        {
            response = await next(interaction);
        }
        catch (Exception e)
        {
            // Audited as a failure; the pipeline turns the exception into its response.
            var failed = factory.ForInteraction(interaction, e is OperationCanceledException ? 499 : 500, null, patients);
            if (!topLevel && scope is not null)
            {
                scope.Add(failed);
            }
            else
            {
                await SubmitQuietlyAsync(failed, wait: trail.Guaranteed);
            }

            throw;
        }

        var status = (int)response.StatusCode;
        if (_options.ResolvePatientOfWrites && response.IsSuccess && interaction.Kind is FhirInteractionKind.Create or FhirInteractionKind.Update or FhirInteractionKind.Patch
            && response.StoredJson is null && response.Resource is null or OperationOutcome && response.ResourceType is { } written and not "Patient" && response.Id is { } writtenId)
        {
            patients = await ResolvePatientsAsync(written, writtenId, interaction.BaseUrl, interaction.CancellationToken);
        }

        if (topLevel && scope is null && status is not (401 or 403) && AuditEventFactory.WritesJsonDirectly(interaction.Kind))
        {
            // The hot path: the events' JSON written straight from the interaction (no AuditEvent objects).
            return await SubmitAsync(interaction, factory.JsonForInteraction(interaction, status, response, patients), response);
        }

        var events = factory.ForInteraction(interaction, status, response, patients);
        if ((status is 401 or 403) && interaction.Kind is not (FhirInteractionKind.Batch or FhirInteractionKind.Transaction))
        {
            // (A batch or transaction answers 403 when an entry was refused; the entry has its own alert.)
            events.Add(factory.ForSecurityEvent(new SecurityEvent
            {
                Kind = status == 401 ? SecurityEventKind.AuthenticationFailure : SecurityEventKind.AuthorizationDenied,
                User = interaction.User,
                HttpContext = interaction.HttpContext ?? interaction.Parent?.HttpContext,
                Description = (response.Resource as OperationOutcome)?.Issue.FirstOrDefault()?.Diagnostics,
                PatientId = interaction.ResourceType == "Patient" ? interaction.Id : interaction.CompartmentType == "Patient" ? interaction.CompartmentId : null,
            }));
        }

        if (!topLevel)
        {
            if (scope is not null)
            {
                scope.Add(events);
            }
            else
            {
                await SubmitQuietlyAsync(events, wait: false);
            }

            return response;
        }

        if (scope is not null)
        {
            if (interaction.Kind == FhirInteractionKind.Transaction && !response.IsSuccess)
            {
                scope.MarkRolledBack();
            }

            events.InsertRange(0, scope.Events);
        }

        return await SubmitAsync(interaction, events.Select(e => AuditEventJson.Serialize(e, known: true)).ToList(), response);
    }

    /// <summary>Queues a top-level interaction's records; in guaranteed mode, answers only once they are durable (or 503).</summary>
    private async ValueTask<FhirResponse> SubmitAsync(FhirInteraction interaction, List<byte[]> records, FhirResponse response)
    {
        try
        {
            await trail.SubmitJsonAsync(records, trail.Guaranteed, interaction.CancellationToken);
        }
        catch (AuditUnavailableException e)
        {
            LogUnavailable(logger, interaction.Kind, e.InnerException?.GetType().Name ?? e.GetType().Name);
            return FhirResponse.Error(HttpStatusCode.ServiceUnavailable, OperationOutcome.IssueType.Transient,
                "The audit trail is unavailable, so the result of this request cannot be confirmed; it may have been applied. Retry later.");
        }

        return response;
    }

    /// <summary>Queues the records of a failure or refusal; a failure to make them durable fails nothing (no success to hold back).</summary>
    private async ValueTask SubmitQuietlyAsync(IReadOnlyList<AuditEvent> events, bool wait)
    {
        try
        {
            await trail.SubmitAsync(events, wait, CancellationToken.None);
        }
        catch (AuditUnavailableException)
        {
            // Still queued: written when the log recovers.
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    private async Task<ISet<string>?> ResolvePatientsAsync(string type, string id, string baseUrl, CancellationToken cancellationToken)
    {
        var store = services.GetService<IFhirStore>();
        if (store is null || !FhirId.IsValid(id))
        {
            return null;
        }

        try
        {
            await using var session = await store.OpenSessionAsync(FhirSessionMode.Read, cancellationToken);
            var stored = await session.ReadAsync(type, id, null, cancellationToken);
            if (stored?.Json is not { } json)
            {
                return null;
            }

            var patients = new HashSet<string>(StringComparer.Ordinal);
            PatientExtractor.FromStoredJson(json, baseUrl, patients);
            return patients;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogResolveFailed(logger, type, e.GetType().Name);
            return null;
        }
    }

    /// <summary>The entries' records of a batch or transaction, queued together when it ends.</summary>
    private sealed class AuditScope
    {
        private readonly Lock _lock = new();

        public List<AuditEvent> Events { get; } = [];

        public void Add(IEnumerable<AuditEvent> events)
        {
            lock (_lock)
            {
                Events.AddRange(events);
            }
        }

        /// <summary>A failed transaction committed nothing: its entries' successes did not happen.</summary>
        public void MarkRolledBack()
        {
            foreach (var ev in Events.Where(e => e.Outcome == AuditEvent.AuditEventOutcome.N0))
            {
                ev.Outcome = AuditEvent.AuditEventOutcome.N4;
                ev.OutcomeDesc = "Rolled back: the transaction this entry belonged to failed.";
                ev.Meta = null;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "FHIR {Interaction} answered 503: its audit record could not be made durable ({Reason}).")]
    private static partial void LogUnavailable(ILogger logger, FhirInteractionKind interaction, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not look up the patient of a {ResourceType} for its audit record ({ExceptionType}).")]
    private static partial void LogResolveFailed(ILogger logger, string resourceType, string exceptionType);
}
