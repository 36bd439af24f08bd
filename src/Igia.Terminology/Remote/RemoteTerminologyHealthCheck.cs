using Hl7.Fhir.Model;
using Igia.Fhir.Client;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Igia.Terminology.Remote;

/// <summary>
/// Checks that a remote terminology server answers (its CapabilityStatement at <c>/metadata</c>). A server that is down is
/// reported Degraded when requests fall back to the local engine, Unhealthy when they do not.
/// </summary>
internal sealed class RemoteTerminologyHealthCheck(string name, string clientName, bool fallback, IIgiaFhirClientFactory clients) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var client = clients.CreateClient(clientName);
            var statement = await client.GetAsync("metadata", cancellationToken).ConfigureAwait(false) as CapabilityStatement;
            return HealthCheckResult.Healthy($"Terminology server '{name}' answers ({statement?.Software?.Name ?? "unknown software"}).");
        }
        catch (Exception e) when (e is FhirClientException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var message = $"Terminology server '{name}' does not answer: {e.Message}";
            return fallback ? HealthCheckResult.Degraded(message + " Requests routed to it are answered locally.", e) : HealthCheckResult.Unhealthy(message, e);
        }
    }
}
