using System.Diagnostics.Metrics;

namespace Igia.Terminology.Internal;

/// <summary>The package's metrics (meter <c>Igia.Terminology</c>); traces use the activity source of the same name.</summary>
internal static class TerminologyTelemetry
{
    public const string Name = "Igia.Terminology";

    private static readonly Meter Meter = new(Name, typeof(TerminologyTelemetry).Assembly.GetName().Version?.ToString(3));

    /// <summary>Answers served from the cache of a remote server.</summary>
    public static readonly Counter<long> CacheHits = Meter.CreateCounter<long>("igia.terminology.cache.hits", description: "Terminology answers served from the cache.");

    /// <summary>Requests to a remote server that were not in the cache.</summary>
    public static readonly Counter<long> CacheMisses = Meter.CreateCounter<long>("igia.terminology.cache.misses", description: "Terminology requests not found in the cache.");

    /// <summary>Requests answered by the local engine because the remote server they were routed to failed.</summary>
    public static readonly Counter<long> Fallbacks = Meter.CreateCounter<long>("igia.terminology.fallbacks", description: "Routed requests answered locally after the remote server failed.");
}
