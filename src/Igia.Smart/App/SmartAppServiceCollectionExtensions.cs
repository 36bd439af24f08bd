using Igia.Smart.App;
using Igia.Smart.App.Internal;
using Igia.Smart.Protocol.Internal;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SMART App Launch side of Igia.Smart.</summary>
public static class SmartAppServiceCollectionExtensions
{
    /// <summary>
    /// Registers a SMART on FHIR app: EHR and standalone launch with PKCE S256, the callback, token storage protected with
    /// Data Protection (in memory unless changed), refresh, and FHIR clients authorised for the current session. Add the
    /// FHIR servers with <see cref="IgiaSmartAppBuilder.AddServer"/> and map the endpoints with <c>app.MapIgiaSmartApp()</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes the app options (paths, cookies, lifetimes); optional.</param>
    /// <returns>A builder for servers and the token store.</returns>
    public static IgiaSmartAppBuilder AddIgiaSmartApp(this IServiceCollection services, Action<SmartAppOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        SmartCoreServices.Add(services);
        var options = services.AddOptions<SmartAppOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        var builder = new IgiaSmartAppBuilder(services);
        IgiaSmartAppBuilder.Names(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SmartAppOptions>, SmartAppOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SmartServerOptions>, SmartServerOptionsValidator>());
        services.AddDataProtection();
        services.AddHttpContextAccessor();
        services.TryAddSingleton<ISmartTokenStore>(sp => new InMemorySmartTokenStore(sp.GetService<TimeProvider>()));
        services.TryAddSingleton<SmartServerRegistry>();
        services.TryAddSingleton<SmartProtectedStore>();
        services.TryAddSingleton<SmartSessionManager>();
        services.TryAddSingleton<SmartSessionResolver>();
        services.TryAddSingleton<SmartSessionAccessor>();
        services.TryAddSingleton<ISmartSessionAccessor>(sp => sp.GetRequiredService<SmartSessionAccessor>());
        services.TryAddSingleton<ISmartFhirClientFactory, SmartFhirClientFactory>();
        services.TryAddSingleton<SmartLaunchHandler>();
        return builder;
    }
}
