using Igia.Fhir.Client;

namespace Igia.Smart.App;

/// <summary>
/// Igia FHIR clients authorised for the current user and patient: each registered server has a FHIR client (named
/// <see cref="FhirClientName"/>) whose token provider sends the access token of the current request's SMART session,
/// refreshing it shortly before expiry and when the server answers 401.
/// </summary>
public interface ISmartFhirClientFactory
{
    /// <summary>A client for the FHIR server of the current request's SMART session.</summary>
    /// <param name="cancellationToken">Cancels the session lookup.</param>
    /// <exception cref="Protocol.SmartException">The browser has no SMART session (<see cref="Protocol.SmartErrorCode.NoSession"/>).</exception>
    ValueTask<IgiaFhirClient> CreateClientAsync(CancellationToken cancellationToken = default);

    /// <summary>A client for the registered server <paramref name="serverName"/>; its requests fail with <see cref="Protocol.SmartErrorCode.SessionServerMismatch"/> if the current session belongs to another server.</summary>
    /// <param name="serverName">The name given to <c>AddServer</c>.</param>
    IgiaFhirClient CreateClient(string serverName);

    /// <summary>The name of the Igia FHIR client registered for <paramref name="serverName"/> (to configure it further with <c>IgiaFhirClientOptions</c>).</summary>
    /// <param name="serverName">The name given to <c>AddServer</c>.</param>
    static string FhirClientName(string serverName) => "Igia.Smart:" + serverName;
}
