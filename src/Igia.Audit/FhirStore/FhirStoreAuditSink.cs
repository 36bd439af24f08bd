using System.Globalization;
using System.Net;
using System.Security.Claims;
using Hl7.Fhir.Model;
using Igia.Audit.Capture;
using Igia.Audit.Internal;
using Igia.Fhir.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Audit.FhirStore;

/// <summary>
/// Writes records into the Igia FHIR store as AuditEvent resources, through the interaction pipeline (so the store
/// indexes them for search), one transaction per batch: all of a batch or none. The resource id is the record's event
/// id, so a re-delivered record is recognised: after a failure or a restart, records already in the store are skipped.
/// Runs on the forwarder's background task, never inside a request (a transaction holds the store's writer).
/// </summary>
internal sealed class FhirStoreAuditSink(IServiceProvider services, ClaimsPrincipal writeAs) : IAuditSink
{
    private const int MaxPerTransaction = 100;

    /// <summary>The default caller the sink's writes run as (authorization filters may recognise it by its authentication type).</summary>
    internal static readonly ClaimsPrincipal SystemPrincipal = new(new ClaimsIdentity(
        [new System.Security.Claims.Claim("sub", "igia-audit"), new System.Security.Claims.Claim("client_id", "igia-audit"), new System.Security.Claims.Claim("scope", "system/AuditEvent.c system/AuditEvent.u system/AuditEvent.r")],
        authenticationType: "Igia.Audit.System"));

    // After a failure or at start, the first batch may have been delivered before: check before writing.
    private bool _uncertain = true;

    public string Name => "fhir-store";

    public async ValueTask WriteAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        var executor = services.GetRequiredService<IFhirInteractionExecutor>();
        for (var offset = 0; offset < records.Count; offset += MaxPerTransaction)
        {
            var chunk = records.Skip(offset).Take(MaxPerTransaction).ToList();
            try
            {
                await WriteChunkAsync(executor, chunk, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _uncertain = true;
                throw;
            }
        }

        _uncertain = false;
    }

    private async Task WriteChunkAsync(IFhirInteractionExecutor executor, List<AuditRecord> chunk, CancellationToken cancellationToken)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        foreach (var record in chunk)
        {
            // A fresh object per sink: the store sets meta on what it writes.
            var ev = FhirJson.ParseAuditEvent(record.Json.Span);
            if (ev.Id is null || !FhirId.IsValid(ev.Id))
            {
                ev.Id = string.Create(CultureInfo.InvariantCulture, $"seq-{record.Sequence}");
            }

            if (_uncertain && await ExistsAsync(executor, ev.Id, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = "urn:uuid:" + Guid.NewGuid().ToString("D"),
                Resource = ev,
                Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = "AuditEvent/" + ev.Id },
            });
        }

        if (bundle.Entry.Count == 0)
        {
            return;
        }

        var interaction = new FhirInteraction
        {
            Kind = FhirInteractionKind.Transaction,
            Method = "POST",
            Resource = bundle,
            User = writeAs,
            CancellationToken = cancellationToken,
        };
        interaction.Items[AuditInteractionFilter.SinkWriteKey] = true;
        var response = await executor.ExecuteAsync(interaction).ConfigureAwait(false);
        if (!response.IsSuccess)
        {
            throw new AuditSinkException(string.Create(CultureInfo.InvariantCulture,
                $"The FHIR store refused the AuditEvents: HTTP {(int)response.StatusCode} {(response.Resource as OperationOutcome)?.Issue.FirstOrDefault()?.Diagnostics}"));
        }
    }

    private async Task<bool> ExistsAsync(IFhirInteractionExecutor executor, string id, CancellationToken cancellationToken)
    {
        var read = new FhirInteraction
        {
            Kind = FhirInteractionKind.Read,
            ResourceType = "AuditEvent",
            Id = id,
            Method = "GET",
            RelativeUrl = "AuditEvent/" + id,
            User = writeAs,
            CancellationToken = cancellationToken,
        };
        read.Items[AuditInteractionFilter.SinkWriteKey] = true;
        var response = await executor.ExecuteAsync(read).ConfigureAwait(false);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound or HttpStatusCode.Gone => false,
            _ => throw new AuditSinkException(string.Create(CultureInfo.InvariantCulture, $"The FHIR store could not be read: HTTP {(int)response.StatusCode}.")),
        };
    }
}

/// <summary>A sink could not deliver; the batch is retried.</summary>
internal sealed class AuditSinkException(string message) : Exception(message);
