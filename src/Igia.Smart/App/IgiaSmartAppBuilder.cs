using Igia.Fhir.Client;
using Igia.Smart.App.Internal;
using Igia.Smart.Protocol;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Igia.Smart.App;

/// <summary>Further configuration of the SMART app returned by <c>AddIgiaSmartApp</c>; calls chain.</summary>
/// <param name="Services">The application's service collection.</param>
public sealed record IgiaSmartAppBuilder(IServiceCollection Services)
{
    /// <summary>
    /// Registers a FHIR server (EHR) the app is registered with, under <paramref name="name"/>. Its <see cref="SmartServerOptions.FhirBaseUrl"/>
    /// is on the EHR launch allow-list, and an Igia FHIR client named <see cref="ISmartFhirClientFactory.FhirClientName"/> is
    /// registered for it, authorised with the current request's SMART session.
    /// </summary>
    /// <param name="name">A name for the server, e.g. <c>epic</c>; used as <c>/launch?server=name</c> for a standalone launch.</param>
    /// <param name="configure">Sets the server's options (validated at start-up).</param>
    /// <param name="configureFhirClient">Optionally changes the FHIR client's options (timeouts, retries, …).</param>
    public IgiaSmartAppBuilder AddServer(string name, Action<SmartServerOptions> configure, Action<IgiaFhirClientOptions>? configureFhirClient = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        var names = Names(Services);
        if (!names.Add(name))
        {
            throw new InvalidOperationException($"A SMART server named '{name}' is already registered.");
        }

        Services.AddOptions<SmartServerOptions>(name).Configure(configure).ValidateOnStart(); // SmartServerOptionsValidator
        var clientName = ISmartFhirClientFactory.FhirClientName(name);
        Services.AddIgiaFhirClient(clientName, o => configureFhirClient?.Invoke(o))
            .AddAccessTokenProvider(sp => new SmartSessionAccessTokenProvider(
                name,
                sp.GetRequiredService<SmartSessionAccessor>(),
                sp.GetRequiredService<SmartSessionManager>()));
        Services.AddOptions<IgiaFhirClientOptions>(clientName)
            .Configure<IServiceProvider>((o, sp) => o.BaseUrl ??= UnvalidatedServerOptions(sp, name).FhirBaseUrl);
        return this;
    }

    /// <summary>Keeps sessions in this process's memory (the default).</summary>
    public IgiaSmartAppBuilder UseInMemoryTokenStore()
    {
        Services.RemoveAll<ISmartTokenStore>();
        Services.AddSingleton<ISmartTokenStore>(sp => new InMemorySmartTokenStore(sp.GetService<TimeProvider>()));
        return this;
    }

    /// <summary>Keeps sessions in the registered <see cref="IDistributedCache"/> (register one, e.g. <c>AddStackExchangeRedisCache</c>).</summary>
    public IgiaSmartAppBuilder UseDistributedCacheTokenStore()
    {
        Services.RemoveAll<ISmartTokenStore>();
        Services.AddSingleton<ISmartTokenStore>(sp => new DistributedCacheSmartTokenStore(
            sp.GetService<IDistributedCache>()
            ?? throw new InvalidOperationException("UseDistributedCacheTokenStore() needs an IDistributedCache; register one (e.g. AddStackExchangeRedisCache or AddDistributedMemoryCache).")));
        return this;
    }

    /// <summary>Keeps sessions in a store of your own (registered as a singleton).</summary>
    /// <typeparam name="TStore">The store type.</typeparam>
    public IgiaSmartAppBuilder UseTokenStore<TStore>()
        where TStore : class, ISmartTokenStore
    {
        Services.RemoveAll<ISmartTokenStore>();
        Services.AddSingleton<ISmartTokenStore, TStore>();
        return this;
    }

    /// <summary>Changes the protocol settings (HTTPS rule, discovery cache, timeouts, id_token algorithms and clock skew).</summary>
    /// <param name="configure">Changes the options.</param>
    public IgiaSmartAppBuilder ConfigureProtocol(Action<SmartProtocolOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(configure);
        return this;
    }

    // The server's options as configured, without running their validation (which reports its own errors at start-up,
    // once): the FHIR client only needs the base URL.
    private static SmartServerOptions UnvalidatedServerOptions(IServiceProvider services, string name)
    {
        var options = new SmartServerOptions();
        foreach (var configure in services.GetServices<IConfigureOptions<SmartServerOptions>>())
        {
            if (configure is IConfigureNamedOptions<SmartServerOptions> named)
            {
                named.Configure(name, options);
            }
            else if (name == Microsoft.Extensions.Options.Options.DefaultName)
            {
                configure.Configure(options);
            }
        }

        foreach (var post in services.GetServices<IPostConfigureOptions<SmartServerOptions>>())
        {
            post.PostConfigure(name, options);
        }

        return options;
    }

    internal static SmartServerNames Names(IServiceCollection services)
    {
        if (services.FirstOrDefault(d => d.ServiceType == typeof(SmartServerNames) && d.ImplementationInstance is SmartServerNames)?.ImplementationInstance is SmartServerNames found)
        {
            return found;
        }

        var names = new SmartServerNames();
        services.TryAddSingleton(names);
        return names;
    }
}
