using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;

namespace Igia.Fhir.Client.Internal;

/// <summary>
/// The innermost handler of a FHIR client, run once per attempt inside the resilience pipeline: it puts the access token
/// on the request (only for the client's own base URL), on a 401 has the provider refresh it and sends the request once
/// more, and reads the whole response body so that a stalled body counts against the per-attempt timeout.
/// </summary>
internal sealed partial class FhirClientAttemptHandler(
    string name,
    IFhirAccessTokenProvider? provider,
    FhirClientTelemetry telemetry,
    ILogger logger) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Options.TryGetValue(FhirRequestInfo.Key, out var info);
        if (info is not null)
        {
            info.Attempts++;
        }

        string? token = null;
        if (provider is not null)
        {
            request.Headers.Authorization = null;
            if (info is { UnderBase: true })
            {
                token = await provider.GetTokenAsync(cancellationToken).ConfigureAwait(false);
                if (token is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                }
            }
        }

        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Unauthorized && token is not null)
        {
            await provider!.InvalidateAsync(token, cancellationToken).ConfigureAwait(false);
            var fresh = await provider.GetTokenAsync(cancellationToken).ConfigureAwait(false);
            if (fresh is not null && !string.Equals(fresh, token, StringComparison.Ordinal))
            {
                response.Dispose();
                if (info is not null)
                {
                    info.TokenRefreshed = true;
                }

                telemetry.TokenRefreshes.Add(1, new KeyValuePair<string, object?>(FhirClientTelemetry.ClientTag, name));
                LogRefreshed(logger, name, info?.Interaction, info?.ResourceType);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fresh);
                response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
        }

        try
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            response.Dispose();
            throw;
        }

        return response;
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "FHIR client {Client}: the server refused the access token (401) for {Interaction} {ResourceType}; refreshed it and sending once more")]
    private static partial void LogRefreshed(ILogger logger, string client, string? interaction, string? resourceType);
}
