using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Igia.Audit.Pipeline;

/// <summary>
/// Unhealthy when the local audit log cannot be written (guaranteed requests are failing); degraded when a sink is
/// failing (its records wait in the local log). Data: the last durable sequence number and each sink's lag.
/// </summary>
internal sealed class AuditHealthCheck(AuditPipeline pipeline) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var durable = pipeline.DurableSequence;
        var data = new Dictionary<string, object> { ["durableSequence"] = durable };
        foreach (var forwarder in pipeline.Forwarders)
        {
            data["lag:" + forwarder.Name] = Math.Max(0, durable - forwarder.Cursor);
        }

        if (pipeline.Failure is { } failure)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy(failure, data: data));
        }

        var failing = pipeline.Forwarders.Where(f => f.LastError is not null).Select(f => $"{f.Name} ({f.LastError})").ToList();
        return Task.FromResult(failing.Count > 0
            ? HealthCheckResult.Degraded("Audit sinks failing, records kept in the local log: " + string.Join(", ", failing), data: data)
            : HealthCheckResult.Healthy(data: data));
    }
}
