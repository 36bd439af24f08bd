using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Igia.Fhir.Client.Internal;

/// <summary>The names given to <c>AddIgiaFhirClient</c> (kept as a singleton instance in the service collection).</summary>
internal sealed class FhirClientRegistry
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>The IHttpClientFactory name used for a FHIR client name.</summary>
    public static string HttpClientName(string name) => "Igia.Fhir.Client:" + name;

    public bool Add(string name)
    {
        lock (_names)
        {
            return _names.Add(name);
        }
    }

    public bool Contains(string name)
    {
        lock (_names)
        {
            return _names.Contains(name);
        }
    }
}

/// <summary>Per-name authentication settings, set through <see cref="IgiaFhirClientBuilder"/>.</summary>
internal sealed class FhirClientAuthOptions
{
    public Func<IServiceProvider, IFhirAccessTokenProvider>? ProviderFactory { get; set; }
}

/// <summary>Creates each named client's token provider once and keeps it (so that its token cache outlives handler rotation).</summary>
internal sealed class FhirAccessTokenProviders(IServiceProvider services, IOptionsMonitor<FhirClientAuthOptions> options)
{
    private readonly ConcurrentDictionary<string, Lazy<IFhirAccessTokenProvider?>> _providers = new(StringComparer.Ordinal);

    public IFhirAccessTokenProvider? Get(string name) =>
        _providers.GetOrAdd(name, n => new Lazy<IFhirAccessTokenProvider?>(() => options.Get(n).ProviderFactory?.Invoke(services))).Value;
}
