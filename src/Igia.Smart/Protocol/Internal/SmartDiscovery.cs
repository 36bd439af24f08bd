using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Smart.Protocol.Internal;

internal sealed partial class SmartDiscovery(
    IHttpClientFactory httpClientFactory,
    IOptions<SmartProtocolOptions> options,
    TimeProvider timeProvider,
    ILogger<SmartDiscovery> logger) : ISmartDiscovery
{
    private const string OAuthUrisExtension = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

    private readonly ConcurrentDictionary<string, (SmartConfiguration Configuration, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    public async ValueTask<SmartConfiguration> GetConfigurationAsync(Uri fhirBaseUrl, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fhirBaseUrl);
        var o = options.Value;
        SmartHttp.RequireSecure(fhirBaseUrl, o.RequireHttps, "FHIR base URL");
        var key = SmartHttp.Normalize(fhirBaseUrl);
        var now = timeProvider.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && cached.Until > now)
        {
            return cached.Configuration;
        }

        using var activity = SmartTelemetry.ActivitySource.StartActivity("smart discovery");
        var configuration = await DiscoverAsync(fhirBaseUrl, o, cancellationToken).ConfigureAwait(false);
        foreach (var endpoint in new[] { configuration.AuthorizationEndpoint, configuration.TokenEndpoint, configuration.JwksUri })
        {
            if (endpoint is not null)
            {
                SmartHttp.RequireSecure(endpoint, o.RequireHttps, "endpoint in the SMART configuration");
            }
        }

        if (o.DiscoveryCacheDuration > TimeSpan.Zero)
        {
            _cache[key] = (configuration, now + o.DiscoveryCacheDuration);
        }

        return configuration;
    }

    private async Task<SmartConfiguration> DiscoverAsync(Uri fhirBaseUrl, SmartProtocolOptions o, CancellationToken cancellationToken)
    {
        var baseUrl = SmartHttp.WithTrailingSlash(fhirBaseUrl);
        var http = httpClientFactory.CreateClient(SmartHttp.ClientName);
        string wellKnownProblem;
        try
        {
            var (status, body) = await GetAsync(http, new Uri(baseUrl, ".well-known/smart-configuration"), "application/json", o.HttpTimeout, cancellationToken).ConfigureAwait(false);
            if (status is >= 200 and < 300 && body is not null)
            {
                var configuration = SmartConfiguration.Parse(body);
                LogDiscovered(logger, SmartHttp.Normalize(fhirBaseUrl), "well-known");
                return configuration;
            }

            wellKnownProblem = $".well-known/smart-configuration answered HTTP {status}";
        }
        catch (SmartException e)
        {
            wellKnownProblem = ".well-known/smart-configuration: " + e.Message;
        }
        catch (HttpRequestException e)
        {
            wellKnownProblem = ".well-known/smart-configuration could not be fetched: " + e.Message;
        }

        string metadataProblem;
        try
        {
            var (status, body) = await GetAsync(http, new Uri(baseUrl, "metadata"), "application/fhir+json", o.HttpTimeout, cancellationToken).ConfigureAwait(false);
            if (status is >= 200 and < 300 && body is not null)
            {
                if (FromCapabilityStatement(body) is { } configuration)
                {
                    LogDiscovered(logger, SmartHttp.Normalize(fhirBaseUrl), "CapabilityStatement");
                    return configuration;
                }

                metadataProblem = "the CapabilityStatement has no oauth-uris extension with a token endpoint";
            }
            else
            {
                metadataProblem = $"metadata answered HTTP {status}";
            }
        }
        catch (HttpRequestException e)
        {
            metadataProblem = "metadata could not be fetched: " + e.Message;
        }

        throw new SmartException(SmartErrorCode.DiscoveryFailed, $"No SMART configuration was found for the FHIR server: {wellKnownProblem}; {metadataProblem}.");
    }

    private static async Task<(int Status, string? Body)> GetAsync(HttpClient http, Uri url, string accept, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        try
        {
            using var response = await http.SendAsync(request, cts.Token).ConfigureAwait(false);
            var body = response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false) : null;
            return ((int)response.StatusCode, body);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HttpRequestException("no answer within " + timeout.TotalSeconds + " s", e);
        }
    }

    internal static SmartConfiguration? FromCapabilityStatement(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("rest", out var rest) || rest.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            foreach (var entry in rest.EnumerateArray())
            {
                if (!entry.TryGetProperty("security", out var security) || !security.TryGetProperty("extension", out var extensions) || extensions.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                foreach (var extension in extensions.EnumerateArray())
                {
                    if (!extension.TryGetProperty("url", out var url) || url.GetString() != OAuthUrisExtension
                        || !extension.TryGetProperty("extension", out var uris) || uris.ValueKind != JsonValueKind.Array)
                    {
                        continue;
                    }

                    var values = new Dictionary<string, Uri>(StringComparer.Ordinal);
                    foreach (var uri in uris.EnumerateArray())
                    {
                        if (uri.TryGetProperty("url", out var name) && name.GetString() is { } n
                            && uri.TryGetProperty("valueUri", out var value) && Uri.TryCreate(value.GetString(), UriKind.Absolute, out var parsed))
                        {
                            values[n] = parsed;
                        }
                    }

                    if (values.TryGetValue("token", out var token))
                    {
                        return new SmartConfiguration(values.GetValueOrDefault("authorize"), token)
                        {
                            Source = SmartConfigurationSource.CapabilityStatement,
                            RegistrationEndpoint = values.GetValueOrDefault("register"),
                            ManagementEndpoint = values.GetValueOrDefault("manage"),
                            IntrospectionEndpoint = values.GetValueOrDefault("introspect"),
                            RevocationEndpoint = values.GetValueOrDefault("revoke"),
                        };
                    }
                }
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "SMART configuration of {FhirBase} read from {Source}")]
    private static partial void LogDiscovered(ILogger logger, string fhirBase, string source);
}
