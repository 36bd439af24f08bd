using Hl7.Fhir.Rest;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Fhir.Client.Internal;

internal sealed class IgiaFhirClientFactory(
    IHttpClientFactory httpClientFactory,
    IOptionsMonitor<IgiaFhirClientOptions> options,
    FhirClientRegistry registry,
    ILoggerFactory loggerFactory) : IIgiaFhirClientFactory
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Igia.Fhir.Client");

    public IgiaFhirClient CreateClient(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!registry.Contains(name))
        {
            throw new InvalidOperationException($"No FHIR client named '{name}' is registered; call services.AddIgiaFhirClient(\"{name}\", o => o.BaseUrl = ...) first.");
        }

        var o = options.Get(name);
        var settings = new FhirClientSettings
        {
            PreferredFormat = o.Format,
            ReturnPreference = o.PreferReturn,
            UseFormatParameter = false,
            VerifyFhirVersion = false,
            SerializationEngine = GuardedSerializationEngine.Default,
        };
        o.ConfigureSettings?.Invoke(settings);
        settings.SerializationEngine = GuardedSerializationEngine.Wrap(settings.SerializationEngine);

        var http = httpClientFactory.CreateClient(FhirClientRegistry.HttpClientName(name));
        return new IgiaFhirClient(name, o, http, settings, _logger);
    }
}
