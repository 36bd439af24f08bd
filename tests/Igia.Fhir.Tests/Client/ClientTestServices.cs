using Igia.Fhir.Client;
using Igia.Fhir.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Igia.Fhir.Tests.Client;

/// <summary>Builds a service provider with one Igia FHIR client registered, with short back-off delays and long timeouts for tests.</summary>
public static class ClientTestServices
{
    public static ServiceProvider Build(string baseUrl, Action<IgiaFhirClientOptions>? configure = null, Action<IgiaFhirClientBuilder>? build = null, string name = "test", LogCollector? logs = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.SetMinimumLevel(LogLevel.Trace);
            if (logs is not null)
            {
                b.AddProvider(logs);
            }
        });
        var builder = services.AddIgiaFhirClient(name, o =>
        {
            o.BaseUrl = new Uri(baseUrl);

            // Far above the defaults (30 s, 100 s), so that a loaded machine (a 1000-entry transaction, 64 parallel
            // tasks) does not time out; tests of the timeouts set their own.
            o.AttemptTimeout = TimeSpan.FromMinutes(2);
            o.TotalTimeout = TimeSpan.FromMinutes(5);
            o.Retry.BaseDelay = TimeSpan.FromMilliseconds(10);
            o.Retry.MaxDelay = TimeSpan.FromMilliseconds(200);
            configure?.Invoke(o);
        });
        build?.Invoke(builder);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = true });
    }

    public static IgiaFhirClient Client(this IServiceProvider services, string name = "test") =>
        services.GetRequiredService<IIgiaFhirClientFactory>().CreateClient(name);
}
