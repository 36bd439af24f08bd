using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Igia.Fhir.Storage;

/// <summary>Reports the FHIR store unhealthy when a read session cannot be opened and queried.</summary>
internal sealed class FhirStoreHealthCheck(IFhirStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var session = await store.OpenSessionAsync(FhirSessionMode.Read, cancellationToken);
            await session.ReadAsync("Patient", "health-check", null, cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The FHIR store cannot be read.", e);
        }
    }
}
