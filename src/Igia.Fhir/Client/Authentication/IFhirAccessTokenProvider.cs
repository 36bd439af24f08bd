namespace Igia.Fhir.Client;

/// <summary>
/// Supplies the bearer access token of a FHIR client. It is asked before every attempt of every request (so it should
/// cache), and told when the server rejected a token with 401 so that the next <see cref="GetTokenAsync"/> returns a
/// fresh one; the client then sends the request once more. Tokens are only ever sent to the client's own base URL and are never logged.
/// Register with <c>AddIgiaFhirClient(...).AddAccessTokenProvider&lt;T&gt;()</c>. Implementations must be safe to call from many tasks at once.
/// </summary>
public interface IFhirAccessTokenProvider
{
    /// <summary>Returns the access token to send as <c>Authorization: Bearer …</c>, or null to send none.</summary>
    /// <param name="cancellationToken">Cancels the wait for a token.</param>
    ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Called when the server answered 401 to a request that carried <paramref name="rejectedToken"/>: forget it (if it is
    /// still the current one) so that the next <see cref="GetTokenAsync"/> obtains a new token. Many requests may report
    /// the same token at once; refresh only once.
    /// </summary>
    /// <param name="rejectedToken">The token the server refused.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    ValueTask InvalidateAsync(string rejectedToken, CancellationToken cancellationToken);
}
