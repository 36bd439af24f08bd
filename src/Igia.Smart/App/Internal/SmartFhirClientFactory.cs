using Igia.Fhir.Client;

namespace Igia.Smart.App.Internal;

internal sealed class SmartFhirClientFactory(IIgiaFhirClientFactory clients, SmartSessionAccessor accessor) : ISmartFhirClientFactory
{
    public async ValueTask<IgiaFhirClient> CreateClientAsync(CancellationToken cancellationToken = default)
    {
        var (_, current) = await accessor.RequireAsync(cancellationToken).ConfigureAwait(false);
        return clients.CreateClient(ISmartFhirClientFactory.FhirClientName(current.State.Server));
    }

    public IgiaFhirClient CreateClient(string serverName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serverName);
        return clients.CreateClient(ISmartFhirClientFactory.FhirClientName(serverName));
    }
}
