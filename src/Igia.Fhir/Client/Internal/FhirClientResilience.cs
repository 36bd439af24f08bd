using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Igia.Fhir.Client.Internal;

/// <summary>
/// The Polly v8 pipeline of a FHIR client, outermost first: the overall timeout, retries of safe requests (honouring
/// <c>Retry-After</c>), the circuit breaker, and the per-attempt timeout.
/// </summary>
internal static partial class FhirClientResilience
{
    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> builder, ResilienceHandlerContext context, string name)
    {
        context.EnableReloads<IgiaFhirClientOptions>(name);
        var options = context.GetOptions<IgiaFhirClientOptions>(name);
        var services = context.ServiceProvider;
        var telemetry = services.GetRequiredService<FhirClientTelemetry>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Igia.Fhir.Client");
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        builder.TimeProvider = time;

        builder.AddTimeout(new TimeoutStrategyOptions { Name = "total-timeout", Timeout = options.TotalTimeout });

        var retry = options.Retry;
        if (retry.Enabled && retry.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                Name = "retry",
                MaxRetryAttempts = retry.MaxRetryAttempts,
                Delay = retry.BaseDelay,
                MaxDelay = retry.MaxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => new ValueTask<bool>(ShouldRetry(args.Outcome, args.Context, retry, time)),
                DelayGenerator = args => new ValueTask<TimeSpan?>(args.Outcome.Result is { } response ? RetryAfter(response, time) : null),
                OnRetry = args =>
                {
                    if (Info(args.Context) is { } info)
                    {
                        info.Retries++;
                        var reason = Reason(args.Outcome);
                        telemetry.Retries.Add(1, [
                            new(FhirClientTelemetry.ClientTag, name),
                            new(FhirClientTelemetry.InteractionTag, info.Interaction),
                            new(FhirClientTelemetry.ResourceTypeTag, info.ResourceType),
                            new(FhirClientTelemetry.ReasonTag, reason),
                        ]);
                        LogRetry(logger, name, info.Interaction, info.ResourceType, args.AttemptNumber + 1, reason, args.RetryDelay.TotalMilliseconds);
                    }

                    return ValueTask.CompletedTask;
                },
            });
        }

        var breaker = options.CircuitBreaker;
        if (breaker.Enabled)
        {
            builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                Name = "circuit-breaker",
                FailureRatio = breaker.FailureRatio,
                MinimumThroughput = breaker.MinimumThroughput,
                SamplingDuration = breaker.SamplingDuration,
                BreakDuration = breaker.BreakDuration,
                ShouldHandle = args => new ValueTask<bool>(IsTransient(args.Outcome)),
                OnOpened = args =>
                {
                    LogCircuitOpened(logger, name, args.BreakDuration.TotalSeconds, Reason(args.Outcome));
                    return ValueTask.CompletedTask;
                },
                OnHalfOpened = _ =>
                {
                    LogCircuitHalfOpened(logger, name);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    LogCircuitClosed(logger, name);
                    return ValueTask.CompletedTask;
                },
            });
        }

        builder.AddTimeout(new TimeoutStrategyOptions { Name = "attempt-timeout", Timeout = options.AttemptTimeout });
    }

    /// <summary>A transient failure: 408, 429, 5xx except 501/505, a failed connection or read, or an attempt that timed out.</summary>
    public static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or IOException or TimeoutRejectedException } => true,
        { Exception: not null } => false,
        { Result: { } response } => IsTransientStatus(response.StatusCode),
        _ => false,
    };

    public static bool IsTransientStatus(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
        || (int)status >= 500 && status is not (HttpStatusCode.NotImplemented or HttpStatusCode.HttpVersionNotSupported);

    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context, FhirClientRetryOptions retry, TimeProvider time)
    {
        if (!IsTransient(outcome) || Info(context) is not { RetrySafe: true } info)
        {
            return false;
        }

        if (outcome.Result is { } response && RetryAfter(response, time) is { } delay && delay > retry.MaxRetryAfter)
        {
            info.RetryAfterRefused = delay;
            return false;
        }

        return true;
    }

    /// <summary>The delay a response's <c>Retry-After</c> asks for (delta-seconds or an HTTP date), or null.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var delay = date - time.GetUtcNow();
            return delay < TimeSpan.Zero ? TimeSpan.Zero : delay;
        }

        return null;
    }

    private static FhirRequestInfo? Info(ResilienceContext context) =>
        context.GetRequestMessage() is { } request && request.Options.TryGetValue(FhirRequestInfo.Key, out var info) ? info : null;

    private static string Reason(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: TimeoutRejectedException } => "attempt_timeout",
        { Exception: HttpRequestException or IOException } => "transport",
        { Exception: { } e } => e.GetType().Name,
        { Result: { } r } => ((int)r.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => "unknown",
    };

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "FHIR client {Client}: {Interaction} {ResourceType} attempt {Attempt} failed ({Reason}); retrying in {DelayMs:0} ms")]
    private static partial void LogRetry(ILogger logger, string client, string interaction, string? resourceType, int attempt, string reason, double delayMs);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "FHIR client {Client}: circuit breaker opened for {BreakSeconds:0.###} s after repeated failures (last: {Reason})")]
    private static partial void LogCircuitOpened(ILogger logger, string client, double breakSeconds, string reason);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "FHIR client {Client}: circuit breaker half-open; letting a trial request through")]
    private static partial void LogCircuitHalfOpened(ILogger logger, string client);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "FHIR client {Client}: circuit breaker closed")]
    private static partial void LogCircuitClosed(ILogger logger, string client);
}
