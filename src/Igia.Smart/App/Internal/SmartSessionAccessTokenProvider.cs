using Igia.Fhir.Client;
using Igia.Smart.Protocol;

namespace Igia.Smart.App.Internal;

/// <summary>
/// The token provider of the FHIR client of one registered server: the access token of the current request's SMART session,
/// refreshed before expiry, and refreshed once (single-flight) when the FHIR server rejects it with 401.
/// </summary>
internal sealed class SmartSessionAccessTokenProvider(string serverName, SmartSessionAccessor accessor, SmartSessionManager manager) : IFhirAccessTokenProvider
{
    public async ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken)
    {
        var (context, current) = await RequireAsync(cancellationToken).ConfigureAwait(false);
        var (token, state) = await manager.GetAccessTokenAsync(current.Key, current.State, cancellationToken).ConfigureAwait(false);
        if (!ReferenceEquals(state, current.State))
        {
            SmartSessionResolver.Update(context, current.Key, state);
        }

        return token;
    }

    public async ValueTask InvalidateAsync(string rejectedToken, CancellationToken cancellationToken)
    {
        var (context, current) = await RequireAsync(cancellationToken).ConfigureAwait(false);
        var state = await manager.RefreshAsync(current.Key, rejectedToken, cancellationToken).ConfigureAwait(false);
        SmartSessionResolver.Update(context, current.Key, state);
    }

    private async ValueTask<(Microsoft.AspNetCore.Http.HttpContext, CurrentSession)> RequireAsync(CancellationToken cancellationToken)
    {
        var (context, current) = await accessor.RequireAsync(cancellationToken).ConfigureAwait(false);
        if (!string.Equals(current.State.Server, serverName, StringComparison.Ordinal))
        {
            throw new SmartException(
                SmartErrorCode.SessionServerMismatch,
                $"The current SMART session belongs to server '{current.State.Server}', but this FHIR client is for server '{serverName}'.");
        }

        return (context, current);
    }

    public override string ToString() => $"SmartSessionAccessTokenProvider ({serverName}; tokens hidden)";
}
