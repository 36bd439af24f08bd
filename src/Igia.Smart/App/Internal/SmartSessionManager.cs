using System.Collections.Concurrent;
using Igia.Smart.Protocol;
using Igia.Smart.Protocol.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Smart.App.Internal;

/// <summary>
/// Loads and saves sessions and keeps their access tokens fresh: a proactive refresh shortly before expiry, a refresh when
/// the FHIR server rejects the token (401), and never more than one refresh in flight per session in this process, however
/// many requests wait on it. Servers that omit <c>offline_access</c>/<c>online_access</c> from a refreshed <c>scope</c> are tolerated.
/// </summary>
internal sealed partial class SmartSessionManager(
    SmartProtectedStore store,
    SmartServerRegistry servers,
    ISmartDiscovery discovery,
    SmartTokenClient tokenClient,
    IdTokenValidator idTokenValidator,
    IOptions<SmartAppOptions> options,
    TimeProvider timeProvider,
    ILogger<SmartSessionManager> logger)
{
    private readonly ConcurrentDictionary<string, Task<SmartSessionState>> _refreshes = new(StringComparer.Ordinal);
    private long _refreshCount;

    /// <summary>How many refresh requests this manager sent (for tests and diagnostics).</summary>
    public long RefreshCount => Interlocked.Read(ref _refreshCount);

    public ValueTask<SmartSessionState?> LoadAsync(string key, CancellationToken cancellationToken) => store.GetSessionAsync(key, cancellationToken);

    public ValueTask SaveAsync(string key, SmartSessionState state, CancellationToken cancellationToken) => store.SetSessionAsync(key, state, cancellationToken);

    public ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => store.RemoveAsync(key, cancellationToken);

    /// <summary>The session's access token, refreshed first when it expires within <see cref="SmartAppOptions.RefreshBeforeExpiry"/>.</summary>
    /// <returns>The token and the (possibly refreshed) state.</returns>
    public async ValueTask<(string Token, SmartSessionState State)> GetAccessTokenAsync(string key, SmartSessionState state, CancellationToken cancellationToken)
    {
        if (state.ExpiresAt is not { } expires)
        {
            return (state.AccessToken, state);
        }

        var now = timeProvider.GetUtcNow();
        if (now < expires - options.Value.RefreshBeforeExpiry)
        {
            return (state.AccessToken, state);
        }

        if (state.RefreshToken is null)
        {
            if (now < expires)
            {
                return (state.AccessToken, state);
            }

            throw new SmartException(SmartErrorCode.SessionExpired, "The SMART session's access token has expired and there is no refresh token; launch the app again.");
        }

        try
        {
            var refreshed = await RefreshAsync(key, state.AccessToken, cancellationToken).ConfigureAwait(false);
            return (refreshed.AccessToken, refreshed);
        }
        catch (SmartException e) when (now < expires && e.Code != SmartErrorCode.NoSession)
        {
            // The proactive refresh failed, but the token still works for a while: use it.
            LogProactiveRefreshFailed(logger, state.Server, e.CheckName);
            return (state.AccessToken, state);
        }
    }

    /// <summary>
    /// Refreshes the session unless its access token is no longer <paramref name="staleToken"/> (someone already did). One
    /// refresh runs per session at a time; concurrent callers wait for it. A caller's cancellation stops its wait, not the refresh.
    /// </summary>
    public async Task<SmartSessionState> RefreshAsync(string key, string? staleToken, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_refreshes.TryGetValue(key, out var running))
            {
                var result = await running.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (staleToken is null || !string.Equals(result.AccessToken, staleToken, StringComparison.Ordinal))
                {
                    return result;
                }

                continue;
            }

            var completion = new TaskCompletionSource<SmartSessionState>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_refreshes.TryAdd(key, completion.Task))
            {
                continue;
            }

            _ = RunRefreshAsync(key, staleToken, completion);
            return await completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RunRefreshAsync(string key, string? staleToken, TaskCompletionSource<SmartSessionState> completion)
    {
        try
        {
            completion.SetResult(await DoRefreshAsync(key, staleToken).ConfigureAwait(false));
        }
        catch (Exception e)
        {
            completion.SetException(e);
        }
        finally
        {
            _refreshes.TryRemove(new KeyValuePair<string, Task<SmartSessionState>>(key, completion.Task));
        }
    }

    private async Task<SmartSessionState> DoRefreshAsync(string key, string? staleToken)
    {
        var cancellationToken = CancellationToken.None;
        var state = await store.GetSessionAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw new SmartException(SmartErrorCode.NoSession, "The SMART session no longer exists; launch the app again.");
        if (staleToken is not null && !string.Equals(state.AccessToken, staleToken, StringComparison.Ordinal))
        {
            return state;
        }

        if (state.RefreshToken is null)
        {
            throw new SmartException(SmartErrorCode.SessionExpired, "The SMART session's access token was refused or has expired and there is no refresh token; launch the app again.");
        }

        var server = servers.FindByName(state.Server)
            ?? throw new SmartException(SmartErrorCode.SessionExpired, "The SMART session's server is no longer registered; launch the app again.");
        var configuration = await discovery.GetConfigurationAsync(server.FhirBaseUrl, cancellationToken).ConfigureAwait(false);

        SmartTokenResponse response;
        Interlocked.Increment(ref _refreshCount);
        try
        {
            response = await tokenClient.RefreshAsync(server.Credentials, configuration.TokenEndpoint, state.RefreshToken, cancellationToken).ConfigureAwait(false);
        }
        catch (SmartException e) when (e.Code == SmartErrorCode.TokenRequestFailed && e.OAuthError is "invalid_grant" or "invalid_client" or "unauthorized_client")
        {
            // The refresh token is dead: forget it so that the next request fails fast instead of retrying.
            var dead = state.Clone();
            dead.RefreshToken = null;
            await store.SetSessionAsync(key, dead, cancellationToken).ConfigureAwait(false);
            throw new SmartException(SmartErrorCode.SessionExpired, "The authorization server refused to refresh the SMART session; launch the app again.", e)
            {
                OAuthError = e.OAuthError,
                OAuthErrorDescription = e.OAuthErrorDescription,
            };
        }
        catch (SmartException e)
        {
            throw new SmartException(SmartErrorCode.RefreshFailed, "Refreshing the SMART session's access token failed: " + e.Message, e)
            {
                OAuthError = e.OAuthError,
                OAuthErrorDescription = e.OAuthErrorDescription,
            };
        }

        var now = timeProvider.GetUtcNow();
        var next = state.Clone();
        next.AccessToken = response.AccessToken;
        next.ExpiresAt = response.ExpiresIn is { } lifetime ? now + lifetime : null;
        next.RefreshToken = response.RefreshToken ?? state.RefreshToken;
        next.Scope = MergeScopes(state.Scope, response.Scope, next.RefreshToken is not null);
        next.RefreshedAt = now;
        if (response.IdToken is not null)
        {
            var identity = await idTokenValidator.ValidateAsync(response.IdToken, configuration, server.Credentials.ClientId, null, cancellationToken).ConfigureAwait(false);
            next.Subject = identity.Subject;
            next.FhirUser = identity.FhirUser ?? state.FhirUser;
            next.Claims = identity.Claims.Select(c => new StoredClaim(c.Type, c.Value, c.ValueType)).ToList();
        }

        await store.SetSessionAsync(key, next, cancellationToken).ConfigureAwait(false);
        LogRefreshed(logger, state.Server);
        return next;
    }

    /// <summary>
    /// The scopes after a refresh: the refreshed <c>scope</c> when sent (else the previous one), keeping <c>offline_access</c> /
    /// <c>online_access</c> from before when the server left them out but a refresh token is still held.
    /// </summary>
    internal static string? MergeScopes(string? previous, string? refreshed, bool holdsRefreshToken)
    {
        if (refreshed is null)
        {
            return previous;
        }

        var scopes = refreshed.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (holdsRefreshToken && previous is not null)
        {
            foreach (var access in new[] { "offline_access", "online_access" })
            {
                if (previous.Split(' ').Contains(access, StringComparer.Ordinal) && !scopes.Contains(access, StringComparer.Ordinal))
                {
                    scopes.Add(access);
                }
            }
        }

        return string.Join(' ', scopes);
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "SMART session for server {Server} refreshed its access token")]
    private static partial void LogRefreshed(ILogger logger, string server);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Proactive refresh of a SMART session for server {Server} failed ({Check}); the current access token is used until it expires")]
    private static partial void LogProactiveRefreshFailed(ILogger logger, string server, string check);
}
