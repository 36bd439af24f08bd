using Igia.Fhir.Client;
using Igia.Fhir.Client.Internal;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Igia FHIR clients.</summary>
public static class FhirClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers a FHIR client named <paramref name="name"/>: options validated at start-up, an <c>IHttpClientFactory</c> client
    /// with retries of safe requests, timeouts, a circuit breaker, access tokens, traces and metrics. Get clients from
    /// <see cref="IIgiaFhirClientFactory.CreateClient(string)"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The client's name.</param>
    /// <param name="configure">Sets the options; at least <see cref="IgiaFhirClientOptions.BaseUrl"/>.</param>
    /// <returns>A builder for tokens and further settings.</returns>
    public static IgiaFhirClientBuilder AddIgiaFhirClient(this IServiceCollection services, string name, Action<IgiaFhirClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);

        var registry = AddCore(services);
        services.AddOptions<IgiaFhirClientOptions>(name).Configure(configure).ValidateOnStart();
        var httpName = FhirClientRegistry.HttpClientName(name);
        var http = services.AddHttpClient(httpName);
        if (registry.Add(name))
        {
            http.ConfigureHttpClient(c => c.Timeout = Timeout.InfiniteTimeSpan)
                .AddHttpMessageHandler(sp => new FhirClientInteractionHandler(
                    name,
                    sp.GetRequiredService<IOptionsMonitor<IgiaFhirClientOptions>>().Get(name),
                    sp.GetRequiredService<FhirClientTelemetry>(),
                    sp.GetRequiredService<ILoggerFactory>().CreateLogger("Igia.Fhir.Client"),
                    sp.GetService<TimeProvider>() ?? TimeProvider.System))
                .AddResilienceHandler("igia-fhir", (builder, context) => FhirClientResilience.Configure(builder, context, name));
            http.AddHttpMessageHandler(sp => new FhirClientAttemptHandler(
                    name,
                    sp.GetRequiredService<FhirAccessTokenProviders>().Get(name),
                    sp.GetRequiredService<FhirClientTelemetry>(),
                    sp.GetRequiredService<ILoggerFactory>().CreateLogger("Igia.Fhir.Client")))
                .RemoveAllLoggers();
        }

        return new IgiaFhirClientBuilder(name, services, http);
    }

    /// <summary>
    /// Registers a typed client: <typeparamref name="TClient"/> is created (transient) with an <see cref="IgiaFhirClient"/>
    /// of its own registration — named after the type's full name — in its constructor, next to any other services it needs.
    /// </summary>
    /// <typeparam name="TClient">A class whose constructor takes an <see cref="IgiaFhirClient"/>.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options; at least <see cref="IgiaFhirClientOptions.BaseUrl"/>.</param>
    /// <returns>A builder for tokens and further settings.</returns>
    public static IgiaFhirClientBuilder AddIgiaFhirClient<TClient>(this IServiceCollection services, Action<IgiaFhirClientOptions> configure)
        where TClient : class
    {
        var name = typeof(TClient).FullName ?? typeof(TClient).Name;
        var builder = services.AddIgiaFhirClient(name, configure);
        services.TryAddTransient(sp => ActivatorUtilities.CreateInstance<TClient>(sp, sp.GetRequiredService<IIgiaFhirClientFactory>().CreateClient(name)));
        return builder;
    }

    private static FhirClientRegistry AddCore(IServiceCollection services)
    {
        var existing = services.FirstOrDefault(d => d.ServiceType == typeof(FhirClientRegistry) && d.ImplementationInstance is FhirClientRegistry);
        if (existing?.ImplementationInstance is FhirClientRegistry found)
        {
            return found;
        }

        var registry = new FhirClientRegistry();
        services.AddSingleton(registry);
        services.AddHttpClient();
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<FhirClientTelemetry>();
        services.TryAddSingleton<FhirAccessTokenProviders>();
        services.TryAddSingleton<IIgiaFhirClientFactory, IgiaFhirClientFactory>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IgiaFhirClientOptions>, IgiaFhirClientOptionsValidator>());
        return registry;
    }
}
