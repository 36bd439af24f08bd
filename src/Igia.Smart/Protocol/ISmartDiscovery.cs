namespace Igia.Smart.Protocol;

/// <summary>
/// Finds a FHIR server's SMART configuration: <c>[base]/.well-known/smart-configuration</c>, falling back to the
/// <c>oauth-uris</c> extension of the CapabilityStatement at <c>[base]/metadata</c>. Results are cached
/// (<see cref="SmartProtocolOptions.DiscoveryCacheDuration"/>). Registered by <c>AddIgiaSmartApp</c> and the Backend Services
/// and Entra builders.
/// </summary>
public interface ISmartDiscovery
{
    /// <summary>Returns the configuration of the FHIR server at <paramref name="fhirBaseUrl"/>.</summary>
    /// <param name="fhirBaseUrl">The FHIR base URL (the <c>iss</c> of a launch).</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <exception cref="SmartException">Neither document gives usable endpoints (<see cref="SmartErrorCode.DiscoveryFailed"/>), or an
    /// endpoint uses plain HTTP off loopback (<see cref="SmartErrorCode.InsecureEndpoint"/>).</exception>
    ValueTask<SmartConfiguration> GetConfigurationAsync(Uri fhirBaseUrl, CancellationToken cancellationToken = default);
}
