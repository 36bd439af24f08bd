using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Smart.ResourceServer.Internal;

/// <summary>
/// Holds the authorization server's discovery document and signing keys (read with Microsoft.IdentityModel's
/// <see cref="OpenIdConnectConfigurationRetriever"/>). Unlike the stock manager, a refresh asked for because a token names an
/// unknown key id is done before the next read returns, so that the request that met the new key can be validated again at
/// once (see <see cref="RetryWithFreshKeysAsync"/>). Forced refreshes are rate-limited (the first one is immediate), scheduled
/// refreshes keep the last good keys when the authorization server cannot be reached.
/// </summary>
internal sealed class SmartKeyManager(string metadataAddress, HttpClient http, bool requireHttps, TimeSpan automaticRefresh, TimeSpan minimumForcedInterval, TimeProvider time)
    : IConfigurationManager<OpenIdConnectConfiguration>
{
    private static readonly object RetriedKey = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile OpenIdConnectConfiguration? _current;
    private DateTimeOffset _fetchedAt = DateTimeOffset.MinValue;
    private DateTimeOffset _lastForced = DateTimeOffset.MinValue;
    private volatile bool _refreshRequested;

    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel)
    {
        var current = _current;
        if (current is not null && !Due(time.GetUtcNow()))
        {
            return current;
        }

        await _gate.WaitAsync(cancel);
        try
        {
            var now = time.GetUtcNow();
            current = _current;
            if (current is not null && !Due(now))
            {
                return current;
            }

            if (_refreshRequested)
            {
                _lastForced = now;
            }

            _refreshRequested = false;
            try
            {
                var fresh = await OpenIdConnectConfigurationRetriever.GetAsync(metadataAddress, new HttpDocumentRetriever(http) { RequireHttps = requireHttps }, cancel);
                _current = fresh;
                _fetchedAt = now;
                return fresh;
            }
            catch (Exception e) when (current is not null && e is not OperationCanceledException)
            {
                // Keep the last good keys; try again at the next scheduled refresh.
                _fetchedAt = now;
                return current;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public void RequestRefresh() => _refreshRequested = true;

    private bool Due(DateTimeOffset now) =>
        now - _fetchedAt >= automaticRefresh || (_refreshRequested && now - _lastForced >= minimumForcedInterval);

    /// <summary>
    /// JwtBearer's <c>OnAuthenticationFailed</c>: when the token's key id was unknown (the issuer rotated its keys), JwtBearer has
    /// asked for a refresh; read the fresh keys now and validate the token once more, so the first request with the new key succeeds.
    /// </summary>
    public static async Task RetryWithFreshKeysAsync(AuthenticationFailedContext context)
    {
        if (context.Exception is not SecurityTokenSignatureKeyNotFoundException || context.Options.ConfigurationManager is not { } manager
            || context.HttpContext.Items.ContainsKey(RetriedKey) || SmartTokenShape.BearerToken(context.Request) is not { } token)
        {
            return;
        }

        context.HttpContext.Items[RetriedKey] = true;
        var configuration = await manager.GetConfigurationAsync(context.HttpContext.RequestAborted);
        var parameters = context.Options.TokenValidationParameters.Clone();
        parameters.IssuerSigningKeys = configuration.SigningKeys;
        var result = await new JsonWebTokenHandler { MapInboundClaims = false }.ValidateTokenAsync(token, parameters);
        if (result.IsValid && result.ClaimsIdentity is { } identity)
        {
            context.Principal = new ClaimsPrincipal(identity);
            context.Success();
        }
    }
}
