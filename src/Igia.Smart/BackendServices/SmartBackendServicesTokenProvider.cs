using Igia.Fhir.Client;
using Igia.Smart.Protocol;
using Igia.Smart.Protocol.Internal;
using Microsoft.Extensions.Logging;

namespace Igia.Smart.BackendServices;

/// <summary>
/// Access tokens for SMART Backend Services: a <c>client_credentials</c> request authenticated with a freshly signed
/// <c>private_key_jwt</c> assertion (RS384/ES384, <c>iss</c> = <c>sub</c> = client_id, <c>aud</c> = token URL, <c>exp</c> ≤ 5 min,
/// unique <c>jti</c>, <c>kid</c>), cached until shortly before it expires; one request at a time obtains a new token while the
/// others wait. Plug it into an Igia FHIR client with <c>AddIgiaFhirClient(...).AddSmartBackendServices(...)</c>.
/// </summary>
public sealed partial class SmartBackendServicesTokenProvider : CachingAccessTokenProvider
{
    private readonly SmartBackendServicesOptions _options;
    private readonly ISmartDiscovery _discovery;
    private readonly SmartTokenClient _tokenClient;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SmartClientCredentials _credentials;
    private long _acquired;

    internal SmartBackendServicesTokenProvider(SmartBackendServicesOptions options, ISmartDiscovery discovery, SmartTokenClient tokenClient, TimeProvider timeProvider, ILogger logger)
        : base(timeProvider)
    {
        _options = options;
        _discovery = discovery;
        _tokenClient = tokenClient;
        _time = timeProvider;
        _logger = logger;
        RefreshBeforeExpiry = options.RefreshBeforeExpiry;
        _credentials = new SmartClientCredentials(options.ClientId!, SmartClientAuthentication.PrivateKeyJwt, null, options.SigningKey, options.AssertionLifetime);
    }

    /// <summary>How many tokens this provider has obtained from the token endpoint.</summary>
    public long TokensAcquired => Interlocked.Read(ref _acquired);

    /// <inheritdoc />
    protected override async ValueTask<FhirAccessToken> AcquireTokenAsync(CancellationToken cancellationToken)
    {
        var tokenEndpoint = await GetTokenEndpointAsync(cancellationToken).ConfigureAwait(false);
        var response = await _tokenClient.ClientCredentialsAsync(_credentials, tokenEndpoint, _options.Scopes!, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _acquired);
        var lifetime = response.ExpiresIn ?? _options.DefaultTokenLifetime;
        LogAcquired(_logger, _options.ClientId!, (int)lifetime.TotalSeconds);
        return new FhirAccessToken(response.AccessToken, _time.GetUtcNow() + lifetime);
    }

    private async ValueTask<Uri> GetTokenEndpointAsync(CancellationToken cancellationToken)
    {
        if (_options.TokenEndpoint is { } explicitEndpoint)
        {
            return explicitEndpoint;
        }

        var configuration = await _discovery.GetConfigurationAsync(_options.FhirBaseUrl!, cancellationToken).ConfigureAwait(false);
        if (_options.CheckCapabilities)
        {
            var missing = new List<string>();
            if (configuration.DeclaresCapabilities && !configuration.HasCapability(SmartCapabilities.ClientConfidentialAsymmetric))
            {
                missing.Add(SmartCapabilities.ClientConfidentialAsymmetric);
            }

            if (configuration.GrantTypesSupported.Count > 0 && !configuration.GrantTypesSupported.Contains("client_credentials", StringComparer.Ordinal))
            {
                missing.Add("grant_types_supported: client_credentials");
            }

            if (configuration.TokenEndpointAuthSigningAlgValuesSupported.Count > 0
                && !configuration.TokenEndpointAuthSigningAlgValuesSupported.Contains(_options.SigningKey!.AlgorithmName, StringComparer.Ordinal))
            {
                missing.Add("token_endpoint_auth_signing_alg_values_supported: " + _options.SigningKey!.AlgorithmName);
            }

            if (missing.Count > 0)
            {
                throw new SmartException(SmartErrorCode.CapabilityMissing, "The server does not declare what Backend Services need: " + string.Join(", ", missing) + ".");
            }
        }

        return configuration.TokenEndpoint;
    }

    /// <inheritdoc />
    public override string ToString() => $"SmartBackendServicesTokenProvider ({_options.ClientId}; tokens hidden)";

    [LoggerMessage(EventId = 60, Level = LogLevel.Information, Message = "SMART Backend Services client {ClientId} obtained an access token valid for {Seconds} s")]
    private static partial void LogAcquired(ILogger logger, string clientId, int seconds);
}
