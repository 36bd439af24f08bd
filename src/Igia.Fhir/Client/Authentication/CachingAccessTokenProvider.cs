namespace Igia.Fhir.Client;

/// <summary>An access token and when it stops being valid (null when unknown).</summary>
/// <param name="Value">The token.</param>
/// <param name="ExpiresAt">When it expires, if known.</param>
public sealed record FhirAccessToken(string Value, DateTimeOffset? ExpiresAt)
{
    /// <inheritdoc />
    public override string ToString() => $"FhirAccessToken (hidden, expires {ExpiresAt?.ToString("O") ?? "unknown"})";
}

/// <summary>
/// A base for token providers that obtain tokens from somewhere (an OAuth token endpoint, MSAL, …): it caches the token
/// until shortly before it expires, lets one caller at a time obtain a new one while the others wait for it, and drops the
/// cached token when the server rejects it — once, however many requests report the same token.
/// </summary>
public abstract class CachingAccessTokenProvider : IFhirAccessTokenProvider, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TimeProvider _time;
    private FhirAccessToken? _current;

    /// <summary>Creates the provider.</summary>
    /// <param name="timeProvider">The clock (the system clock when null).</param>
    protected CachingAccessTokenProvider(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <summary>How long before its expiry a token is replaced. Default 60 seconds.</summary>
    public TimeSpan RefreshBeforeExpiry { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Obtains a new token. Called by one caller at a time.</summary>
    /// <param name="cancellationToken">Cancels the request for a token.</param>
    protected abstract ValueTask<FhirAccessToken> AcquireTokenAsync(CancellationToken cancellationToken);

    /// <inheritdoc />
    public async ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken)
    {
        if (Usable(Volatile.Read(ref _current)) is { } token)
        {
            return token;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Usable(Volatile.Read(ref _current)) is { } fresh)
            {
                return fresh;
            }

            var acquired = await AcquireTokenAsync(cancellationToken).ConfigureAwait(false);
            ArgumentException.ThrowIfNullOrWhiteSpace(acquired?.Value, nameof(AcquireTokenAsync));
            Volatile.Write(ref _current, acquired);
            return acquired!.Value;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public ValueTask InvalidateAsync(string rejectedToken, CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _current);
        if (current is not null && string.Equals(current.Value, rejectedToken, StringComparison.Ordinal))
        {
            Interlocked.CompareExchange(ref _current, null, current);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the gate.</summary>
    /// <param name="disposing">True from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gate.Dispose();
        }
    }

    private string? Usable(FhirAccessToken? token) =>
        token is not null && (token.ExpiresAt is not { } expires || _time.GetUtcNow() < expires - RefreshBeforeExpiry) ? token.Value : null;
}
