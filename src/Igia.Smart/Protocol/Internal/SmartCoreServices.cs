using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace Igia.Smart.Protocol.Internal;

/// <summary>Registers what every part of the package uses: protocol options, the HTTP client, discovery, token requests, id_token checks, telemetry.</summary>
internal static class SmartCoreServices
{
    public static void Add(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(SmartTokenClient)))
        {
            return;
        }

        services.AddOptions<SmartProtocolOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.AddHttpClient(SmartHttp.ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .RemoveAllLoggers();
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SmartTelemetry>();
        services.TryAddSingleton<ISmartDiscovery, SmartDiscovery>();
        services.TryAddSingleton<SmartTokenClient>();
        services.TryAddSingleton<IdTokenValidator>();
    }
}
