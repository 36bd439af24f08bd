using Igia.Terminology.Content;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Igia.Terminology.Internal;

/// <summary>Healthy once content has loaded without errors; Degraded while loading or when some content failed; remote servers checked by their own checks.</summary>
internal sealed class TerminologyHealthCheck(TerminologyResources resources, TerminologyLoadState state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["codeSystems"] = resources.CodeSystemCount,
            ["valueSets"] = resources.ValueSetCount,
            ["conceptMaps"] = resources.ConceptMapCount,
        };
        if (!resources.IsLoaded)
        {
            return Task.FromResult(HealthCheckResult.Degraded("Terminology content is loading.", data: data));
        }

        if (!state.Errors.IsEmpty)
        {
            return Task.FromResult(HealthCheckResult.Degraded("Some terminology content failed to load: " + string.Join("; ", state.Errors), data: data));
        }

        return Task.FromResult(HealthCheckResult.Healthy("Terminology content loaded.", data));
    }
}
