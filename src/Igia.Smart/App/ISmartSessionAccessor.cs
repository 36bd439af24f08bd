namespace Igia.Smart.App;

/// <summary>
/// The SMART session of the current request's browser (found through <c>IHttpContextAccessor</c>): the session named by the
/// request's <see cref="SmartAppOptions.SessionParameterName"/> query parameter or <c>X-Smart-Session</c> header, else the
/// browser's most recent launch. Sessions are bound to the browser's cookie; a session id from another browser finds nothing.
/// </summary>
public interface ISmartSessionAccessor
{
    /// <summary>The current session, or null when this browser has none.</summary>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    ValueTask<SmartSession?> GetCurrentAsync(CancellationToken cancellationToken = default);

    /// <summary>The current session's access token, refreshed first when it is about to expire. Prefer <see cref="ISmartFhirClientFactory"/>.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="Protocol.SmartException">No session (<see cref="Protocol.SmartErrorCode.NoSession"/>), or it has expired for good (<see cref="Protocol.SmartErrorCode.SessionExpired"/>).</exception>
    ValueTask<string> GetAccessTokenAsync(CancellationToken cancellationToken = default);

    /// <summary>Refreshes the current session's access token now (one refresh per session, however many callers).</summary>
    /// <param name="cancellationToken">Cancels the wait (not the refresh itself).</param>
    /// <exception cref="Protocol.SmartException">No session, no refresh token, or the server refused.</exception>
    ValueTask<SmartSession> RefreshAsync(CancellationToken cancellationToken = default);

    /// <summary>Ends the current session: forgets its tokens and clears the browser's session cookie.</summary>
    /// <param name="cancellationToken">Cancels the removal.</param>
    ValueTask EndAsync(CancellationToken cancellationToken = default);
}
