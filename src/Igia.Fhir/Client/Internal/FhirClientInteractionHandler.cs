using System.Diagnostics;
using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Logging;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Igia.Fhir.Client.Internal;

/// <summary>
/// The outermost handler of a FHIR client: one per interaction (around all retries). It classifies the request, starts the
/// Activity, records the metrics, and turns every failure — an error status, a timeout, an open circuit, a dropped
/// connection, a body that is not FHIR — into one <see cref="FhirClientException"/>.
/// </summary>
internal sealed partial class FhirClientInteractionHandler(
    string name,
    IgiaFhirClientOptions options,
    FhirClientTelemetry telemetry,
    ILogger logger,
    TimeProvider time) : DelegatingHandler
{
    private const int MaxResponseText = 4096;
    private readonly Uri _baseUrl = options.BaseUrl!;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var info = FhirRequestInfo.Classify(name, request, _baseUrl, options.Retry, FhirCallContext.Current);
        request.Options.Set(FhirRequestInfo.Key, info);
        request.Headers.UserAgent.Clear();
        request.Headers.TryAddWithoutValidation("User-Agent", options.UserAgent);

        using var activity = FhirClientTelemetry.ActivitySource.StartActivity(info.ActivityName, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(FhirClientTelemetry.ClientTag, name);
            activity.SetTag(FhirClientTelemetry.InteractionTag, info.Interaction);
            activity.SetTag(FhirClientTelemetry.ResourceTypeTag, info.ResourceType);
            activity.SetTag(FhirClientTelemetry.OperationTag, info.Operation);
        }

        var started = time.GetTimestamp();
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, info, cancellationToken) is { } error)
        {
            Complete(info, activity, started, null, error);
            throw error;
        }
        catch (OperationCanceledException)
        {
            Complete(info, activity, started, null, null, cancelled: true);
            throw;
        }

        FhirClientException? failure = null;
        try
        {
            failure = response.IsSuccessStatusCode
                ? await CheckBodyAsync(response, info, cancellationToken).ConfigureAwait(false)
                : await HttpErrorAsync(response, info, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, info, cancellationToken) is { } error)
        {
            failure = error;
        }
        catch
        {
            response.Dispose();
            throw;
        }

        if (failure is not null)
        {
            Complete(info, activity, started, response.StatusCode, failure);
            response.Dispose();
            throw failure;
        }

        FhirCallContext.Current?.Capture(response);
        Complete(info, activity, started, response.StatusCode, null);
        return response;
    }

    private void Complete(FhirRequestInfo info, Activity? activity, long started, HttpStatusCode? status, FhirClientException? error, bool cancelled = false)
    {
        var elapsed = time.GetElapsedTime(started);
        var outcome = cancelled ? "cancelled" : error is null ? null : error.Kind == FhirClientErrorKind.HttpError ? ((int)error.StatusCode!.Value).ToString(System.Globalization.CultureInfo.InvariantCulture) : KindTag(error.Kind);
        var tags = new TagList
        {
            { FhirClientTelemetry.ClientTag, name },
            { FhirClientTelemetry.InteractionTag, info.Interaction },
            { FhirClientTelemetry.ResourceTypeTag, info.ResourceType },
        };
        if (status is { } s)
        {
            tags.Add(FhirClientTelemetry.StatusCodeTag, (int)s);
        }

        if (outcome is not null)
        {
            tags.Add(FhirClientTelemetry.ErrorTypeTag, outcome);
        }

        telemetry.Requests.Add(1, tags);
        telemetry.Duration.Record(elapsed.TotalSeconds, tags);

        if (activity is not null)
        {
            if (status is { } code)
            {
                activity.SetTag(FhirClientTelemetry.StatusCodeTag, (int)code);
            }

            activity.SetTag(FhirClientTelemetry.AttemptsTag, info.Attempts);
            if (outcome is not null)
            {
                activity.SetTag(FhirClientTelemetry.ErrorTypeTag, outcome);
                activity.SetStatus(ActivityStatusCode.Error, cancelled ? "cancelled" : error!.Kind.ToString());
            }
        }

        if (cancelled)
        {
            LogCancelled(logger, name, info.Interaction, info.ResourceType, info.Attempts);
        }
        else if (error is null)
        {
            LogCompleted(logger, name, info.Interaction, info.ResourceType, (int)status!.Value, elapsed.TotalMilliseconds, info.Attempts);
        }
        else if (error.Kind == FhirClientErrorKind.HttpError && (int)error.StatusCode!.Value < 500 && error.StatusCode != HttpStatusCode.TooManyRequests)
        {
            LogClientError(logger, name, info.Interaction, info.ResourceType, (int)error.StatusCode.Value, elapsed.TotalMilliseconds);
        }
        else
        {
            LogFailed(logger, name, info.Interaction, info.ResourceType, error.Kind, error.StatusCode is { } c ? (int)c : null, info.Attempts, elapsed.TotalMilliseconds);
        }
    }

    private static string KindTag(FhirClientErrorKind kind) => kind switch
    {
        FhirClientErrorKind.Timeout => "timeout",
        FhirClientErrorKind.CircuitOpen => "circuit_open",
        FhirClientErrorKind.Transport => "transport",
        FhirClientErrorKind.InvalidResponse => "invalid_response",
        _ => "http_error",
    };

    /// <summary>Maps a failure below this handler to a <see cref="FhirClientException"/>; null for the caller's own cancellation and for programming errors.</summary>
    private FhirClientException? Translate(Exception e, FhirRequestInfo info, CancellationToken cancellationToken)
    {
        if (e is FhirClientException fce)
        {
            return fce;
        }

        if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        var what = info.Describe();
        var attempts = Attempts(info);
        switch (e)
        {
            case TimeoutRejectedException tre:
                var message = tre.Timeout == options.TotalTimeout && tre.Timeout != options.AttemptTimeout
                    ? $"The FHIR {what} did not complete within the overall timeout of {Format(options.TotalTimeout)} ({attempts})."
                    : $"The FHIR server did not answer the {what} within the per-attempt timeout of {Format(options.AttemptTimeout)} ({attempts}).{NotRetried(info)}";
                return new FhirClientException(FhirClientErrorKind.Timeout, message, innerException: e) { Interaction = info.Interaction, ResourceType = info.ResourceType, Attempts = info.Attempts };

            case BrokenCircuitException:
                return new FhirClientException(
                    FhirClientErrorKind.CircuitOpen,
                    $"The {what} was not sent: the circuit breaker of FHIR client '{name}' is open after repeated failures of the server; it lets a trial request through after {Format(options.CircuitBreaker.BreakDuration)}.",
                    innerException: e)
                { Interaction = info.Interaction, ResourceType = info.ResourceType, Attempts = info.Attempts, RetryAfter = options.CircuitBreaker.BreakDuration };

            case HttpRequestException hre:
                return new FhirClientException(
                    FhirClientErrorKind.Transport,
                    $"The connection to the FHIR server failed during the {what} ({hre.HttpRequestError}; {attempts}).{NotRetried(info)}",
                    innerException: e)
                { Interaction = info.Interaction, ResourceType = info.ResourceType, Attempts = info.Attempts };

            case IOException:
                return new FhirClientException(
                    FhirClientErrorKind.Transport,
                    $"The connection to the FHIR server broke while reading the response to the {what} ({attempts}).{NotRetried(info)}",
                    innerException: e)
                { Interaction = info.Interaction, ResourceType = info.ResourceType, Attempts = info.Attempts };

            case OperationCanceledException:
                return new FhirClientException(FhirClientErrorKind.Timeout, $"The FHIR {what} was cancelled by a timeout ({attempts}).", innerException: e)
                { Interaction = info.Interaction, ResourceType = info.ResourceType, Attempts = info.Attempts };

            default:
                return null;
        }
    }

    private static string Attempts(FhirRequestInfo info) => info.Attempts == 1 ? "1 attempt" : $"{info.Attempts} attempts";

    private static string NotRetried(FhirRequestInfo info) => info.RetrySafe
        ? ""
        : $" It was not retried because a {info.Method} {info.Interaction} is not safe to repeat; it may or may not have taken effect on the server.";

    private static string Format(TimeSpan t) => t.TotalSeconds >= 1 ? $"{t.TotalSeconds:0.###} s" : $"{t.TotalMilliseconds:0} ms";

    private async Task<FhirClientException> HttpErrorAsync(HttpResponseMessage response, FhirRequestInfo info, CancellationToken cancellationToken)
    {
        var status = response.StatusCode;
        var (outcome, text) = await ReadErrorBodyAsync(response, cancellationToken).ConfigureAwait(false);
        var retryAfter = FhirClientResilience.RetryAfter(response, time);
        var message = new StringBuilder()
            .Append("The FHIR server answered ").Append((int)status).Append(' ').Append(response.ReasonPhrase ?? status.ToString())
            .Append(" to the ").Append(info.Describe());
        if (info.Attempts > 1)
        {
            message.Append(" (after ").Append(info.Attempts).Append(" attempts)");
        }

        if (Diagnostics(outcome) is { } diagnostics)
        {
            message.Append(": ").Append(diagnostics);
        }
        else if (text is not null)
        {
            message.Append(", with a ").Append(response.Content.Headers.ContentType?.MediaType ?? "untyped").Append(" body that is not a FHIR OperationOutcome");
        }

        message.Append('.');
        if (status == HttpStatusCode.Unauthorized && info.TokenRefreshed)
        {
            message.Append(" The access token was refreshed once and the server still refused it.");
        }

        if (info.RetryAfterRefused is { } refused)
        {
            message.Append(" The server asked to retry after ").Append(Format(refused)).Append(", longer than Retry.MaxRetryAfter (").Append(Format(options.Retry.MaxRetryAfter)).Append("), so the client gave up.");
        }
        else if (FhirClientResilience.IsTransientStatus(status) && !info.RetrySafe)
        {
            message.Append(NotRetried(info));
        }

        return new FhirClientException(FhirClientErrorKind.HttpError, message.ToString(), status, outcome)
        {
            Interaction = info.Interaction,
            ResourceType = info.ResourceType,
            Attempts = info.Attempts,
            RetryAfter = retryAfter,
            ResponseText = outcome is null ? text : null,
        };
    }

    private static string? Diagnostics(OperationOutcome? outcome)
    {
        var issue = outcome?.Issue.FirstOrDefault(i => i.Severity is OperationOutcome.IssueSeverity.Fatal or OperationOutcome.IssueSeverity.Error) ?? outcome?.Issue.FirstOrDefault();
        var text = issue?.Diagnostics ?? issue?.Details?.Text ?? issue?.Details?.Coding.FirstOrDefault()?.Display ?? issue?.Code?.ToString();
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return text.Length <= 300 ? text : text[..300] + "…";
    }

    private static async Task<(OperationOutcome? Outcome, string? Text)> ReadErrorBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength == 0)
        {
            return (null, null);
        }

        string text;
        try
        {
            text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DecoderFallbackException or InvalidOperationException)
        {
            return (null, null);
        }

        if (text.Length == 0)
        {
            return (null, null);
        }

        var engine = ((GuardedSerializationEngine)GuardedSerializationEngine.Default).Inner;
        var format = FormatOf(response.Content.Headers.ContentType?.MediaType);
        try
        {
            var resource = format switch
            {
                BodyFormat.Json when text.TrimStart().StartsWith('{') => engine.DeserializeFromJson(text),
                BodyFormat.Xml when text.TrimStart().StartsWith('<') => engine.DeserializeFromXml(text),
                _ => null,
            };
            if (resource is OperationOutcome oo)
            {
                return (oo, null);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Not a parseable OperationOutcome: keep the text for diagnostics.
        }

        return (null, text.Length <= MaxResponseText ? text : text[..MaxResponseText]);
    }

    /// <summary>A 2xx body must be FHIR (JSON or XML, as declared) unless it is empty or the raw content of a Binary.</summary>
    private static async Task<FhirClientException?> CheckBodyAsync(HttpResponseMessage response, FhirRequestInfo info, CancellationToken cancellationToken)
    {
        if (info.Method == "HEAD" || info.ResourceType == "Binary" || response.Content.Headers.ContentLength == 0)
        {
            return null;
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        var format = FormatOf(mediaType);
        var first = await FirstSignificantByteAsync(response.Content, cancellationToken).ConfigureAwait(false);
        if (first is null)
        {
            return null;
        }

        var ok = format switch
        {
            BodyFormat.Json => first == (byte)'{',
            BodyFormat.Xml => first == (byte)'<',
            _ => false,
        };
        if (ok)
        {
            return null;
        }

        string? text = null;
        try
        {
            text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            text = text.Length <= MaxResponseText ? text : text[..MaxResponseText];
        }
        catch (Exception e) when (e is DecoderFallbackException or InvalidOperationException)
        {
        }

        var length = response.Content.Headers.ContentLength is { } l ? $"{l} bytes" : "a body";
        var message = format == BodyFormat.Other
            ? $"The FHIR server answered {(int)response.StatusCode} to the {info.Describe()} with {length} of '{mediaType ?? "no content type"}' where FHIR JSON or XML was expected; is the base URL a FHIR endpoint?"
            : $"The FHIR server answered {(int)response.StatusCode} to the {info.Describe()} with a body declared as '{mediaType}' that is not {(format == BodyFormat.Json ? "JSON" : "XML")}.";
        return new FhirClientException(FhirClientErrorKind.InvalidResponse, message, response.StatusCode)
        {
            Interaction = info.Interaction,
            ResourceType = info.ResourceType,
            Attempts = info.Attempts,
            ResponseText = text,
        };
    }

    /// <summary>The first byte of a (buffered) body that is not whitespace or a UTF-8 byte order mark, or null when the body is empty.</summary>
    private static async Task<byte?> FirstSignificantByteAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[256];
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return null;
                }

                for (var i = 0; i < read; i++)
                {
                    var b = buffer[i];
                    if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0xEF or 0xBB or 0xBF)
                    {
                        continue;
                    }

                    return b;
                }
            }
        }
        finally
        {
            if (stream.CanSeek)
            {
                stream.Position = 0;
            }
        }
    }

    private enum BodyFormat
    {
        Json,
        Xml,
        Other,
    }

    private static BodyFormat FormatOf(string? mediaType) => mediaType?.ToLowerInvariant() switch
    {
        "application/fhir+json" or "application/json" or "application/json+fhir" or "text/json" => BodyFormat.Json,
        "application/fhir+xml" or "application/xml" or "application/xml+fhir" or "text/xml" => BodyFormat.Xml,
        _ => BodyFormat.Other,
    };

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "FHIR client {Client}: {Interaction} {ResourceType} completed with {StatusCode} in {ElapsedMs:0.0} ms ({Attempts} attempt(s))")]
    private static partial void LogCompleted(ILogger logger, string client, string interaction, string? resourceType, int statusCode, double elapsedMs, int attempts);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "FHIR client {Client}: {Interaction} {ResourceType} answered {StatusCode} in {ElapsedMs:0.0} ms")]
    private static partial void LogClientError(ILogger logger, string client, string interaction, string? resourceType, int statusCode, double elapsedMs);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "FHIR client {Client}: {Interaction} {ResourceType} failed ({Kind}, status {StatusCode}) after {Attempts} attempt(s) and {ElapsedMs:0.0} ms")]
    private static partial void LogFailed(ILogger logger, string client, string interaction, string? resourceType, FhirClientErrorKind kind, int? statusCode, int attempts, double elapsedMs);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "FHIR client {Client}: {Interaction} {ResourceType} cancelled by the caller after {Attempts} attempt(s)")]
    private static partial void LogCancelled(ILogger logger, string client, string interaction, string? resourceType, int attempts);
}
