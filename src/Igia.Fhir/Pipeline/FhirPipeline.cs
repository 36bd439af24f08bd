using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Server;
using Microsoft.Extensions.Logging;

namespace Igia.Fhir.Pipeline;

/// <summary>Runs interactions through the ordered filters and then the handler.</summary>
internal sealed partial class FhirPipeline : IFhirInteractionExecutor
{
    /// <summary>Traces of FHIR interactions; tags carry the interaction and resource type, never ids.</summary>
    public static readonly ActivitySource ActivitySource = new("Igia.Fhir");

    private static readonly Meter Meter = new("Igia.Fhir");
    private static readonly Counter<long> Interactions = Meter.CreateCounter<long>("igia.fhir.interactions", description: "FHIR interactions processed, by interaction, resource type and status.");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("igia.fhir.interaction.duration", unit: "s", description: "Time to process a FHIR interaction.");

    private readonly IFhirInteractionFilter[] _filters;
    private readonly FhirInteractionHandler _handler;
    private readonly ILogger<FhirPipeline> _logger;

    public FhirPipeline(IEnumerable<IFhirInteractionFilter> filters, FhirInteractionHandler handler, ILogger<FhirPipeline> logger)
    {
        // Stable sort: equal Order keeps registration order.
        _filters = filters.Select((f, i) => (f, i)).OrderBy(x => x.f.Order).ThenBy(x => x.i).Select(x => x.f).ToArray();
        _handler = handler;
        _logger = logger;
    }

    public async ValueTask<FhirResponse> ExecuteAsync(FhirInteraction interaction)
    {
        using var activity = ActivitySource.StartActivity("fhir " + interaction.Kind, ActivityKind.Internal);
        activity?.SetTag("fhir.interaction", interaction.Kind.ToString());
        activity?.SetTag("fhir.resource_type", interaction.ResourceType);
        var started = Stopwatch.GetTimestamp();
        var response = await InvokeAsync(interaction, 0);
        activity?.SetTag("http.response.status_code", (int)response.StatusCode);
        var tags = new TagList
        {
            { "fhir.interaction", interaction.Kind.ToString() },
            { "fhir.resource_type", interaction.ResourceType },
            { "http.response.status_code", (int)response.StatusCode },
        };
        Interactions.Add(1, tags);
        Duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        return response;
    }

    private async ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, int index)
    {
        try
        {
            if (index < _filters.Length)
            {
                return await _filters[index].InvokeAsync(interaction, next => InvokeAsync(next, index + 1));
            }

            return await _handler.HandleAsync(interaction);
        }
        catch (FhirException e)
        {
            return new FhirResponse { StatusCode = e.StatusCode, Resource = e.Outcome };
        }
        catch (OperationCanceledException) when (interaction.CancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (index == 0)
        {
            // The message of an unexpected exception may carry data; log the type and stack, answer generically.
            // A database's error code says what went wrong without carrying data.
            var code = e is Microsoft.Data.Sqlite.SqliteException sqlite ? $" (SQLite error {sqlite.SqliteErrorCode}/{sqlite.SqliteExtendedErrorCode})" : "";
            LogUnexpected(_logger, e.GetType().FullName + code, interaction.Kind, interaction.ResourceType, e.StackTrace);
            return FhirResponse.Error(HttpStatusCode.InternalServerError, OperationOutcome.IssueType.Exception,
                "The server failed to process the request. The error has been logged.");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unexpected {ExceptionType} in FHIR {Interaction} on {ResourceType}: {StackTrace}")]
    private static partial void LogUnexpected(ILogger logger, string? exceptionType, FhirInteractionKind interaction, string? resourceType, string? stackTrace);
}
