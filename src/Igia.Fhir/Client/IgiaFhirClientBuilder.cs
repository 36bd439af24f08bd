using Igia.Fhir.Client.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Igia.Fhir.Client;

/// <summary>Further configuration of one FHIR client returned by <c>AddIgiaFhirClient</c>; calls chain.</summary>
/// <param name="Name">The client's name.</param>
/// <param name="Services">The application's service collection.</param>
/// <param name="HttpClientBuilder">The underlying <c>IHttpClientFactory</c> registration, e.g. to configure the primary handler or add a handler (added handlers run inside the retries, once per attempt).</param>
public sealed record IgiaFhirClientBuilder(string Name, IServiceCollection Services, IHttpClientBuilder HttpClientBuilder)
{
    /// <summary>Sends an access token from <typeparamref name="TProvider"/> (registered as a singleton if it is not registered yet).</summary>
    public IgiaFhirClientBuilder AddAccessTokenProvider<TProvider>()
        where TProvider : class, IFhirAccessTokenProvider
    {
        Services.TryAddSingleton<TProvider>();
        return AddAccessTokenProvider(sp => sp.GetRequiredService<TProvider>());
    }

    /// <summary>Sends an access token from the provider that <paramref name="factory"/> creates (once, from the root services).</summary>
    public IgiaFhirClientBuilder AddAccessTokenProvider(Func<IServiceProvider, IFhirAccessTokenProvider> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.Configure<FhirClientAuthOptions>(Name, o => o.ProviderFactory = factory);
        return this;
    }

    /// <summary>Sends a fixed bearer token (see <see cref="StaticAccessTokenProvider"/>).</summary>
    public IgiaFhirClientBuilder UseStaticToken(string accessToken)
    {
        var provider = new StaticAccessTokenProvider(accessToken);
        return AddAccessTokenProvider(_ => provider);
    }

    /// <summary>Changes the client's options (runs after the delegate given to <c>AddIgiaFhirClient</c>).</summary>
    public IgiaFhirClientBuilder Configure(Action<IgiaFhirClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(Name, configure);
        return this;
    }

    /// <summary>Changes the retry settings.</summary>
    public IgiaFhirClientBuilder ConfigureRetry(Action<FhirClientRetryOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return Configure(o => configure(o.Retry));
    }

    /// <summary>Changes the circuit breaker settings.</summary>
    public IgiaFhirClientBuilder ConfigureCircuitBreaker(Action<FhirClientCircuitBreakerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return Configure(o => configure(o.CircuitBreaker));
    }
}
