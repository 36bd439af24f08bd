using Igia.Fhir.Client;
using Igia.Smart.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Identity.Client;
using Microsoft.IdentityModel.Abstractions;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Igia.Smart.Entra;

/// <summary>
/// App-only access tokens from Microsoft Entra ID through MSAL (<see cref="IConfidentialClientApplication"/>, client secret or
/// certificate), cached until shortly before they expire. Plug it into an Igia FHIR client with
/// <c>AddIgiaFhirClient(...).AddEntraAccessTokens(...)</c>. MSAL's own logs are forwarded without personal data.
/// </summary>
public sealed partial class EntraAccessTokenProvider : CachingAccessTokenProvider
{
    private readonly IConfidentialClientApplication _application;
    private readonly string[] _scopes;
    private readonly string _clientId;
    private readonly ILogger _logger;

    internal EntraAccessTokenProvider(EntraTokenOptions options, Uri? fhirBaseUrl, IHttpClientFactory httpClientFactory, TimeProvider timeProvider, ILogger logger)
        : base(timeProvider)
    {
        RefreshBeforeExpiry = options.RefreshBeforeExpiry;
        _logger = logger;
        _clientId = options.ClientId!;
        _scopes = options.Scopes.Count > 0
            ? options.Scopes.ToArray()
            : [(fhirBaseUrl ?? throw new InvalidOperationException("EntraTokenOptions.Scopes is empty and there is no FHIR base to derive '<base>/.default' from.")).AbsoluteUri.TrimEnd('/') + "/.default"];

        var builder = ConfidentialClientApplicationBuilder.Create(options.ClientId)
            .WithHttpClientFactory(new MsalHttpClientFactory(httpClientFactory))
            .WithLogging(new MsalLogger(logger), enablePiiLogging: false);
        if (options.OidcAuthority is { } oidc)
        {
            builder = builder.WithOidcAuthority(oidc.AbsoluteUri.TrimEnd('/'));
        }
        else if (options.Authority is { } authority)
        {
            builder = builder.WithAuthority(authority.AbsoluteUri);
        }
        else
        {
            builder = builder.WithAuthority(AzureCloudInstance.AzurePublic, options.TenantId);
        }

        builder = options.Certificate is { } certificate
            ? builder.WithCertificate(certificate, options.SendCertificateChain)
            : builder.WithClientSecret(options.ClientSecret);
        _application = builder.Build();
    }

    /// <summary>The scopes requested.</summary>
    public IReadOnlyList<string> Scopes => _scopes;

    /// <inheritdoc />
    protected override async ValueTask<FhirAccessToken> AcquireTokenAsync(CancellationToken cancellationToken)
    {
        try
        {
            var result = await _application.AcquireTokenForClient(_scopes).ExecuteAsync(cancellationToken).ConfigureAwait(false);
            if (!string.Equals(result.TokenType, "Bearer", StringComparison.OrdinalIgnoreCase))
            {
                throw new SmartException(SmartErrorCode.TokenTypeNotBearer, $"Microsoft Entra ID issued a '{SmartTokenResponse.Sanitize(result.TokenType ?? "")}' token; a Bearer token is needed.");
            }

            LogAcquired(_logger, _clientId, result.AuthenticationResultMetadata?.TokenSource.ToString() ?? "?");
            return new FhirAccessToken(result.AccessToken, result.ExpiresOn);
        }
        catch (MsalServiceException e) when (e.InnerException is HttpRequestException or TaskCanceledException)
        {
            throw new SmartException(SmartErrorCode.TokenEndpointUnreachable, "Microsoft Entra ID could not be reached.", e);
        }
        catch (MsalServiceException e)
        {
            throw new SmartException(SmartErrorCode.TokenRequestFailed, $"Microsoft Entra ID refused the token request: '{SmartTokenResponse.Sanitize(e.ErrorCode ?? "")}' (HTTP {e.StatusCode}).", e)
            {
                OAuthError = e.ErrorCode,
            };
        }
        catch (MsalClientException e)
        {
            throw new SmartException(SmartErrorCode.TokenRequestFailed, $"The Microsoft Entra ID token request failed: '{SmartTokenResponse.Sanitize(e.ErrorCode ?? "")}'.", e)
            {
                OAuthError = e.ErrorCode,
            };
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"EntraAccessTokenProvider ({_clientId}; tokens hidden)";

    [LoggerMessage(EventId = 70, Level = LogLevel.Debug, Message = "Microsoft Entra ID client {ClientId} obtained an access token (source {Source})")]
    private static partial void LogAcquired(ILogger logger, string clientId, string source);

    private sealed class MsalHttpClientFactory(IHttpClientFactory factory) : IMsalHttpClientFactory
    {
        public const string Name = "Igia.Smart.Entra";

        public HttpClient GetHttpClient() => factory.CreateClient(Name);
    }

    /// <summary>Forwards MSAL's warnings and errors (never with personal data) to the logger.</summary>
    private sealed class MsalLogger(ILogger logger) : IIdentityLogger
    {
        public bool IsEnabled(EventLogLevel eventLogLevel) => eventLogLevel <= EventLogLevel.Warning && logger.IsEnabled(LogLevel.Warning);

        public void Log(LogEntry entry)
        {
            if (entry.EventLogLevel <= EventLogLevel.Warning)
            {
                logger.Log(entry.EventLogLevel == EventLogLevel.Warning ? LogLevel.Warning : LogLevel.Error, new EventId(71, "Msal"), "MSAL: {Message}", entry.Message);
            }
        }
    }

    internal static string HttpClientName => MsalHttpClientFactory.Name;
}
