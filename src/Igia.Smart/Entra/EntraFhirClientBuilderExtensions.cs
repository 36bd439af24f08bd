using Igia.Fhir.Client;
using Igia.Smart.Entra;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Authorises an Igia FHIR client with Microsoft Entra ID (e.g. for Azure Health Data Services).</summary>
public static class EntraFhirClientBuilderExtensions
{
    /// <summary>
    /// Sends app-only Microsoft Entra ID tokens (MSAL confidential client, secret or certificate) on every request of this FHIR
    /// client. The options are named after the client and validated at start-up; the provider is also available as a keyed
    /// singleton <see cref="EntraAccessTokenProvider"/> under the client's name.
    /// </summary>
    /// <param name="builder">The FHIR client builder from <c>AddIgiaFhirClient</c>.</param>
    /// <param name="configure">Sets tenant, client id and secret or certificate (scopes default to <c>[FHIR base]/.default</c>).</param>
    public static IgiaFhirClientBuilder AddEntraAccessTokens(this IgiaFhirClientBuilder builder, Action<EntraTokenOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var name = builder.Name;
        var services = builder.Services;
        var prefix = $"Microsoft Entra ID tokens for FHIR client '{name}': ";
        services.AddHttpClient(EntraAccessTokenProvider.HttpClientName).RemoveAllLoggers();
        services.AddOptions<EntraTokenOptions>(name)
            .Configure(configure)
            .ValidateDataAnnotations()
            .Validate(o => (o.ClientSecret is not null) ^ (o.Certificate is not null), prefix + "set exactly one of ClientSecret and Certificate.")
            .Validate(o => o.Certificate is null || o.Certificate.HasPrivateKey, prefix + "the Certificate has no private key.")
            .Validate(o => o.TenantId is not null || o.Authority is not null || o.OidcAuthority is not null, prefix + "set TenantId (or Authority / OidcAuthority).")
            .Validate(o => o.Authority is null || o.OidcAuthority is null, prefix + "set Authority or OidcAuthority, not both.")
            .ValidateOnStart();
        services.AddKeyedSingleton(name, (sp, _) => new EntraAccessTokenProvider(
            sp.GetRequiredService<IOptionsMonitor<EntraTokenOptions>>().Get(name),
            sp.GetRequiredService<IOptionsMonitor<IgiaFhirClientOptions>>().Get(name).BaseUrl,
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Igia.Smart.Entra")));
        return builder.AddAccessTokenProvider(sp => sp.GetRequiredKeyedService<EntraAccessTokenProvider>(name));
    }
}
