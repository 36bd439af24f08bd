using System.Text;
using Hl7.Fhir.Model;
using Igia.Audit.Masking;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Audit.Logging;

/// <summary>Writes a masked one-line summary of each record to <c>ILogger</c> (category <c>Igia.Audit.Events</c>).</summary>
internal sealed partial class LoggerAuditSink(ILoggerFactory loggerFactory, IOptions<AuditOptions> options) : IAuditSink
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Igia.Audit.Events");
    private readonly AuditMasker _masker = new(options.Value.Masking);

    public string Name => "logger";

    public ValueTask WriteAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        if (!_logger.IsEnabled(LogLevel.Information))
        {
            return ValueTask.CompletedTask;
        }

        foreach (var record in records)
        {
            var ev = _masker.Apply(record.Event);
            LogEvent(_logger, record.Sequence, ev.Id, Code(ev.Type), string.Join(",", ev.Subtype.Select(Code)), ev.Action?.ToString() ?? "-", OutcomeCode(ev.Outcome),
                Who(ev), Entities(ev));
        }

        return ValueTask.CompletedTask;
    }

    internal static string OutcomeCode(AuditEvent.AuditEventOutcome? outcome) => outcome switch
    {
        AuditEvent.AuditEventOutcome.N0 => "0",
        AuditEvent.AuditEventOutcome.N4 => "4",
        AuditEvent.AuditEventOutcome.N8 => "8",
        AuditEvent.AuditEventOutcome.N12 => "12",
        _ => "-",
    };

    private static string Code(Coding? coding) => coding?.Code ?? "-";

    private static string Who(AuditEvent ev)
    {
        var sb = new StringBuilder();
        foreach (var agent in ev.Agent)
        {
            if (sb.Length > 0)
            {
                sb.Append(' ');
            }

            sb.Append(agent.Type?.Coding.FirstOrDefault()?.Code ?? "?").Append('=')
              .Append(agent.Who?.Identifier?.Value ?? agent.Who?.Reference ?? agent.Who?.Display ?? "-");
            if (agent.Network?.Address is { } address)
            {
                sb.Append('@').Append(address);
            }
        }

        return sb.ToString();
    }

    private static string Entities(AuditEvent ev) =>
        string.Join(" ", ev.Entity.Select(e => (e.Role?.Code ?? e.Type?.Code ?? "?") + "=" + (e.What?.Reference ?? e.What?.Identifier?.Value ?? (e.Query is { } q ? Encoding.UTF8.GetString(q) : "-"))));

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "audit {Sequence} {EventId} type={Type} subtype={Subtype} action={Action} outcome={Outcome} agents=[{Agents}] entities=[{Entities}]")]
    private static partial void LogEvent(ILogger logger, long sequence, string? eventId, string type, string subtype, string action, string outcome, string agents, string entities);
}
