namespace Igia.Fhir.Client;

/// <summary>A fixed access token (e.g. a long-lived API key issued out of band). It cannot be refreshed, so a 401 is final.</summary>
public sealed class StaticAccessTokenProvider : IFhirAccessTokenProvider
{
    private readonly string _token;

    /// <summary>Creates the provider.</summary>
    /// <param name="accessToken">The token to send as <c>Authorization: Bearer …</c>.</param>
    public StaticAccessTokenProvider(string accessToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(accessToken);
        if (accessToken.Any(char.IsControl))
        {
            throw new ArgumentException("The access token contains control characters.", nameof(accessToken));
        }

        _token = accessToken;
    }

    /// <inheritdoc />
    public ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken) => new(_token);

    /// <inheritdoc />
    public ValueTask InvalidateAsync(string rejectedToken, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public override string ToString() => nameof(StaticAccessTokenProvider) + " (token hidden)";
}
