using System.Diagnostics;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Smart.Protocol.Internal;

/// <summary>How one client authenticates: its id, method and secret or key.</summary>
internal sealed record SmartClientCredentials(
    string ClientId,
    SmartClientAuthentication Authentication,
    string? ClientSecret,
    SmartSigningKey? SigningKey,
    TimeSpan AssertionLifetime)
{
    public override string ToString() => $"SmartClientCredentials ({ClientId}, {Authentication}; secrets hidden)";
}

/// <summary>
/// Token endpoint requests (authorization_code, refresh_token, client_credentials) through Duende.IdentityModel, with the
/// client authentication SMART prescribes: public clients send <c>client_id</c> in the body, symmetric clients use HTTP Basic,
/// asymmetric clients a fresh RS384/ES384 <c>private_key_jwt</c> assertion. The response is checked (see <see cref="SmartTokenResponse.Parse"/>).
/// </summary>
internal sealed partial class SmartTokenClient(
    IHttpClientFactory httpClientFactory,
    IOptions<SmartProtocolOptions> options,
    SmartTelemetry telemetry,
    TimeProvider timeProvider,
    ILogger<SmartTokenClient> logger)
{
    public Task<SmartTokenResponse> ExchangeCodeAsync(SmartClientCredentials client, Uri tokenEndpoint, string code, string redirectUri, string codeVerifier, CancellationToken cancellationToken)
    {
        var request = new AuthorizationCodeTokenRequest
        {
            Code = code,
            RedirectUri = redirectUri,
            CodeVerifier = codeVerifier,
        };
        return SendAsync("authorization_code", client, tokenEndpoint, request, (http, r, ct) => http.RequestAuthorizationCodeTokenAsync((AuthorizationCodeTokenRequest)r, ct), cancellationToken);
    }

    public Task<SmartTokenResponse> RefreshAsync(SmartClientCredentials client, Uri tokenEndpoint, string refreshToken, CancellationToken cancellationToken)
    {
        var request = new RefreshTokenRequest { RefreshToken = refreshToken };
        return SendAsync("refresh_token", client, tokenEndpoint, request, (http, r, ct) => http.RequestRefreshTokenAsync((RefreshTokenRequest)r, ct), cancellationToken);
    }

    public Task<SmartTokenResponse> ClientCredentialsAsync(SmartClientCredentials client, Uri tokenEndpoint, string scope, CancellationToken cancellationToken)
    {
        var request = new ClientCredentialsTokenRequest { Scope = scope };
        return SendAsync("client_credentials", client, tokenEndpoint, request, (http, r, ct) => http.RequestClientCredentialsTokenAsync((ClientCredentialsTokenRequest)r, ct), cancellationToken);
    }

    private async Task<SmartTokenResponse> SendAsync(
        string grantType,
        SmartClientCredentials client,
        Uri tokenEndpoint,
        ProtocolRequest request,
        Func<HttpClient, ProtocolRequest, CancellationToken, Task<TokenResponse>> send,
        CancellationToken cancellationToken)
    {
        var o = options.Value;
        SmartHttp.RequireSecure(tokenEndpoint, o.RequireHttps, "token endpoint");
        request.Address = tokenEndpoint.AbsoluteUri;
        ApplyClientAuthentication(request, client, tokenEndpoint, grantType);

        using var activity = SmartTelemetry.ActivitySource.StartActivity("smart token " + grantType, ActivityKind.Client);
        activity?.SetTag("oauth.grant_type", grantType);
        var started = Stopwatch.GetTimestamp();
        var outcome = "ok";
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(o.HttpTimeout);
            var http = httpClientFactory.CreateClient(SmartHttp.ClientName);
            TokenResponse response;
            try
            {
                response = await send(http, request, cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new SmartException(SmartErrorCode.TokenEndpointUnreachable, $"The token endpoint did not answer within {o.HttpTimeout.TotalSeconds} s.", e);
            }

            if (response.ErrorType == ResponseErrorType.Exception)
            {
                if (response.Exception is OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    throw new SmartException(SmartErrorCode.TokenEndpointUnreachable, $"The token endpoint did not answer within {o.HttpTimeout.TotalSeconds} s.", response.Exception);
                }

                cancellationToken.ThrowIfCancellationRequested();
                if (response.HttpResponse is { } answered)
                {
                    throw new SmartException(SmartErrorCode.TokenResponseMalformed, $"The token endpoint answered HTTP {(int)answered.StatusCode} with a body that is not JSON.", response.Exception);
                }

                throw new SmartException(SmartErrorCode.TokenEndpointUnreachable, "The token endpoint could not be reached.", response.Exception);
            }

            if (response.IsError)
            {
                // RFC 6749 §5.2 errors come with 400, or 401 for invalid_client; read the JSON error whatever the status.
                var oauthError = response.TryGet("error");
                var error = oauthError is { Length: > 0 } e ? SmartTokenResponse.Sanitize(e) : null;
                throw new SmartException(
                    SmartErrorCode.TokenRequestFailed,
                    error is not null
                        ? $"The token endpoint refused the {grantType} request: '{error}' (HTTP {(int)response.HttpStatusCode})."
                        : $"The token endpoint answered the {grantType} request with HTTP {(int)response.HttpStatusCode}.")
                {
                    OAuthError = oauthError,
                    OAuthErrorDescription = response.TryGet("error_description"),
                };
            }

            if (response.Json is not { } json)
            {
                throw new SmartException(SmartErrorCode.TokenResponseMalformed, "The token response has no JSON body.");
            }

            return SmartTokenResponse.Parse(json);
        }
        catch (SmartException e)
        {
            outcome = e.CheckName;
            LogTokenRequestFailed(logger, grantType, client.ClientId, e.CheckName, e.OAuthError is null ? null : SmartTokenResponse.Sanitize(e.OAuthError));
            activity?.SetStatus(ActivityStatusCode.Error, e.CheckName);
            throw;
        }
        finally
        {
            request.Dispose();
            var tags = new TagList { { "oauth.grant_type", grantType }, { "igia.smart.outcome", outcome } };
            telemetry.TokenRequests.Add(1, tags);
            telemetry.TokenRequestDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        }
    }

    private void ApplyClientAuthentication(ProtocolRequest request, SmartClientCredentials client, Uri tokenEndpoint, string grantType)
    {
        switch (client.Authentication)
        {
            case SmartClientAuthentication.Public:
                request.ClientId = client.ClientId;
                request.ClientCredentialStyle = ClientCredentialStyle.PostBody;
                break;
            case SmartClientAuthentication.ClientSecretBasic:
                request.ClientId = client.ClientId;
                request.ClientSecret = client.ClientSecret;
                request.ClientCredentialStyle = ClientCredentialStyle.AuthorizationHeader;
                request.AuthorizationHeaderStyle = BasicAuthenticationHeaderStyle.Rfc6749;
                break;
            case SmartClientAuthentication.PrivateKeyJwt:
                // No client_id in the body: the assertion's iss/sub identify the client (as in SMART's examples).
                request.ClientId = null!;
                request.ClientCredentialStyle = ClientCredentialStyle.PostBody;
                request.ClientAssertion = new ClientAssertion
                {
                    Type = SmartClientAssertion.AssertionType,
                    Value = SmartClientAssertion.Create(client.ClientId, tokenEndpoint, client.SigningKey!, client.AssertionLifetime, timeProvider),
                };
                break;
            default:
                throw new InvalidOperationException($"Unknown client authentication for a {grantType} request.");
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "SMART token request ({GrantType}) of client {ClientId} failed: {Check} {OAuthError}")]
    private static partial void LogTokenRequestFailed(ILogger logger, string grantType, string clientId, string check, string? oAuthError);
}
