using Igia.Fhir.Bundles;
using Igia.Fhir.Capabilities;
using Igia.Fhir.Operations;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Search;
using Igia.Fhir.Server;
using Igia.Fhir.Storage;
using Igia.Fhir.Storage.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Igia FHIR server.</summary>
public static class IgiaFhirServerServiceCollectionExtensions
{
    /// <summary>
    /// Adds a FHIR R4 server: the interaction pipeline, search, history, batch/transaction, patch and, unless
    /// another store is chosen, an embedded SQLite store at <c>data/fhir.db</c>. Map it with <c>MapIgiaFhir</c>.
    /// </summary>
    public static IgiaFhirServerBuilder AddIgiaFhirServer(this IServiceCollection services, Action<FhirServerOptions>? configure = null)
    {
        var options = services.AddOptions<FhirServerOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.AddSingleton<IValidateOptions<FhirServerOptions>, FhirServerOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IFhirStore>(_ => new SqliteFhirStore(Path.Combine("data", "fhir.db")));
        services.TryAddSingleton<SearchParameterRegistry>();
        services.TryAddSingleton<FhirSearchService>();
        services.TryAddSingleton<FhirOperationRegistry>();
        services.TryAddSingleton<CapabilityStatementBuilder>();
        services.TryAddSingleton<FhirInteractionHandler>();
        services.TryAddSingleton(sp =>
        {
            var handler = sp.GetRequiredService<FhirInteractionHandler>();
            var pipeline = ActivatorUtilities.CreateInstance<FhirPipeline>(sp);
            handler.Executor = pipeline;
            handler.Bundles = ActivatorUtilities.CreateInstance<BundleProcessor>(sp, pipeline);
            return pipeline;
        });
        services.TryAddSingleton<IFhirInteractionExecutor>(sp => sp.GetRequiredService<FhirPipeline>());
        services.TryAddSingleton<FhirHttpEndpoint>();
        services.AddHostedService<FhirStoreInitializer>();
        services.AddHealthChecks().AddCheck<FhirStoreHealthCheck>("igia-fhir-store");
        return new IgiaFhirServerBuilder(services);
    }
}

/// <summary>Maps the Igia FHIR server's endpoints.</summary>
public static class IgiaFhirEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Serves the FHIR REST API under <paramref name="prefix"/> (e.g. <c>/fhir</c>). Returns a convention builder,
    /// so the endpoints can be given authorization policies, CORS or rate limits like any other.
    /// </summary>
    public static IEndpointConventionBuilder MapIgiaFhir(this IEndpointRouteBuilder endpoints, string prefix = "/fhir")
    {
        prefix = "/" + prefix.Trim('/');
        if (prefix == "/")
        {
            prefix = "";
        }

        var endpoint = endpoints.ServiceProvider.GetRequiredService<FhirHttpEndpoint>();
        var group = endpoints.MapGroup(prefix);
        RequestDelegate handler = context => endpoint.HandleAsync(context, prefix);
        group.Map("/", handler).WithDisplayName("FHIR base");
        group.Map("/{**fhirPath}", handler).WithDisplayName("FHIR");
        return group;
    }
}

/// <summary>Creates or migrates the store before the app starts serving.</summary>
internal sealed class FhirStoreInitializer(IFhirStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Checks option combinations that data annotations cannot express.</summary>
internal sealed class FhirServerOptionsValidator : IValidateOptions<FhirServerOptions>
{
    public ValidateOptionsResult Validate(string? name, FhirServerOptions options)
    {
        var errors = new List<string>();
        if (options.DefaultPageSize > options.MaxPageSize)
        {
            errors.Add($"{nameof(FhirServerOptions.DefaultPageSize)} ({options.DefaultPageSize}) must not exceed {nameof(FhirServerOptions.MaxPageSize)} ({options.MaxPageSize}).");
        }

        if (options.BaseUrl is { IsAbsoluteUri: false })
        {
            errors.Add($"{nameof(FhirServerOptions.BaseUrl)} must be an absolute URL.");
        }

        foreach (var type in options.ResourceTypes)
        {
            if (!Hl7.Fhir.Model.ModelInfo.IsKnownResource(type))
            {
                errors.Add($"'{type}' in {nameof(FhirServerOptions.ResourceTypes)} is not an R4 resource type.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
