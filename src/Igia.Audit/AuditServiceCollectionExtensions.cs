using System.Diagnostics.Metrics;
using Igia.Audit;
using Igia.Audit.Capture;
using Igia.Audit.FileLog;
using Igia.Audit.Pipeline;
using Igia.Fhir.Pipeline;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Igia audit trail.</summary>
public static class IgiaAuditServiceCollectionExtensions
{
    /// <summary>
    /// Adds the audit trail: BALP capture of every FHIR interaction (when <c>AddIgiaFhirServer</c> is used), capture of
    /// FHIR requests refused before the pipeline and of endpoints marked <see cref="AuditedAttribute"/> (a middleware put
    /// first in the app), <see cref="IAuditTrail"/> for security and application events, the durable group-commit pipeline
    /// and the local hash-chained log (default folder <c>data/audit</c>), a health check named <c>igia-audit</c>, and the
    /// <c>Igia.Audit</c> traces and metrics. Add more sinks on the returned builder.
    /// </summary>
    public static IgiaAuditBuilder AddIgiaAudit(this IServiceCollection services, Action<AuditOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<AuditOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (services.Any(d => d.ServiceType == typeof(AuditPipeline)))
        {
            return new IgiaAuditBuilder(services);
        }

        services.AddOptions<FileAuditLogOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>();
        services.AddSingleton<IValidateOptions<FileAuditLogOptions>, AuditOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new AuditTelemetry(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton<AuditEventFactory>();
        services.TryAddSingleton<AuditPipeline>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditPipeline>());
        services.TryAddSingleton<AuditTrail>();
        services.TryAddSingleton<IAuditTrail>(sp => sp.GetRequiredService<AuditTrail>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IFhirInteractionFilter, AuditInteractionFilter>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, AuditStartupFilter>());
        services.AddHealthChecks().AddCheck<AuditHealthCheck>("igia-audit");
        return new IgiaAuditBuilder(services);
    }
}

/// <summary>Checks option values that data annotations cannot express.</summary>
internal sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>, IValidateOptions<FileAuditLogOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        var errors = new List<string>();
        if (options.DurableWriteTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(AuditOptions.DurableWriteTimeout)} must be positive.");
        }

        if (options.SinkRetryMaxDelay < TimeSpan.FromMilliseconds(100))
        {
            errors.Add($"{nameof(AuditOptions.SinkRetryMaxDelay)} must be at least 100 ms.");
        }

        if (options.MaxBatchSize > options.QueueCapacity)
        {
            errors.Add($"{nameof(AuditOptions.MaxBatchSize)} ({options.MaxBatchSize}) must not exceed {nameof(AuditOptions.QueueCapacity)} ({options.QueueCapacity}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, FileAuditLogOptions options)
    {
        var errors = new List<string>();
        if (options.MaxFileAge <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(FileAuditLogOptions.MaxFileAge)} must be positive.");
        }

        if (options.CheckpointInterval <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(FileAuditLogOptions.CheckpointInterval)} must be positive.");
        }

        if (options.SigningKey is { CanSign: false })
        {
            errors.Add($"{nameof(FileAuditLogOptions.SigningKey)} has no private key: it can verify checkpoints but not sign them.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
