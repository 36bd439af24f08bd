using Igia.Fhir.Client;
using Igia.Smart.BackendServices;
using Igia.Smart.Protocol;
using Igia.Smart.Protocol.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Authorises an Igia FHIR client with SMART Backend Services.</summary>
public static class SmartBackendServicesFhirClientBuilderExtensions
{
    /// <summary>
    /// Sends access tokens obtained with SMART Backend Services (<c>client_credentials</c> + <c>private_key_jwt</c>) on every request of
    /// this FHIR client. The options are named after the client and validated at start-up; the provider is also available as a
    /// keyed singleton <see cref="SmartBackendServicesTokenProvider"/> under the client's name.
    /// </summary>
    /// <param name="builder">The FHIR client builder from <c>AddIgiaFhirClient</c>.</param>
    /// <param name="configure">Sets client id, key and scopes (the FHIR base defaults to the client's <c>BaseUrl</c>).</param>
    public static IgiaFhirClientBuilder AddSmartBackendServices(this IgiaFhirClientBuilder builder, Action<SmartBackendServicesOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var name = builder.Name;
        var services = builder.Services;
        SmartCoreServices.Add(services);
        services.AddOptions<SmartBackendServicesOptions>(name)
            .Configure(configure)
            .Configure<IOptionsMonitor<IgiaFhirClientOptions>>((o, clients) => o.FhirBaseUrl ??= clients.Get(name).BaseUrl)
            .ValidateDataAnnotations()
            .Validate(o => o.TokenEndpoint is not null || o.FhirBaseUrl is not null, $"SMART Backend Services for FHIR client '{name}': set FhirBaseUrl or TokenEndpoint.")
            .Validate(o => o.AssertionLifetime <= SmartClientAssertion.MaxLifetime, $"SMART Backend Services for FHIR client '{name}': AssertionLifetime must be at most five minutes.")
            .Validate(o => ScopesAreValid(o.Scopes), $"SMART Backend Services for FHIR client '{name}': Scopes must be one or more well-formed scopes, e.g. 'system/Patient.rs'.")
            .ValidateOnStart();
        services.AddKeyedSingleton(name, (sp, _) => new SmartBackendServicesTokenProvider(
            sp.GetRequiredService<IOptionsMonitor<SmartBackendServicesOptions>>().Get(name),
            sp.GetRequiredService<ISmartDiscovery>(),
            sp.GetRequiredService<SmartTokenClient>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Igia.Smart.BackendServices")));
        return builder.AddAccessTokenProvider(sp => sp.GetRequiredKeyedService<SmartBackendServicesTokenProvider>(name));
    }

    private static bool ScopesAreValid(string? scopes)
    {
        try
        {
            return SmartScope.ParseList(scopes).Count > 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
