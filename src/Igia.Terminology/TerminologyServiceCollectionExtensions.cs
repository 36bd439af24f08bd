using Hl7.Fhir.Specification.Terminology;
using Igia.Fhir.Server;
using Igia.Terminology;
using Igia.Terminology.Capabilities;
using Igia.Terminology.Content;
using Igia.Terminology.Engine;
using Igia.Terminology.Internal;
using Igia.Terminology.Operations;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Igia terminology service.</summary>
public static class IgiaTerminologyServiceCollectionExtensions
{
    /// <summary>
    /// Adds the terminology service (<see cref="IgiaTerminologyService"/>, also registered as Firely's
    /// <see cref="ITerminologyService"/>), its content loaded in the background at start-up, and a health check
    /// (<c>igia-terminology</c>). Add content and remote servers on the returned builder; serve the FHIR operations with
    /// <c>AddIgiaFhirServer(...).AddTerminologyOperations()</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets <see cref="TerminologyOptions"/>.</param>
    public static IgiaTerminologyBuilder AddIgiaTerminology(this IServiceCollection services, Action<TerminologyOptions>? configure = null)
    {
        var options = services.AddOptions<TerminologyOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TerminologyResources>();
        services.TryAddSingleton<ITerminologyContent>(sp => sp.GetRequiredService<TerminologyResources>());
        services.TryAddSingleton<TerminologyLoadState>();
        services.TryAddSingleton<TerminologyEngine>();
        services.TryAddSingleton<LocalTerminologyBackend>();
        services.TryAddSingleton<TerminologyRouter>();
        services.TryAddSingleton(sp => new IgiaTerminologyService(sp.GetRequiredService<TerminologyRouter>(), sp.GetRequiredService<ITerminologyContent>()));
        services.TryAddSingleton<ITerminologyService>(sp => sp.GetRequiredService<IgiaTerminologyService>());
        services.TryAddSingleton<TerminologyCapabilitiesBuilder>();
        if (!services.Any(d => d.ImplementationType == typeof(TerminologyContentLoader)))
        {
            services.AddHostedService<TerminologyContentLoader>();
            services.AddHealthChecks().AddCheck<TerminologyHealthCheck>("igia-terminology");
        }

        return new IgiaTerminologyBuilder(services);
    }

    /// <summary>
    /// Serves the terminology operations on the Igia FHIR server: <c>ValueSet/$expand</c>, <c>ValueSet/$validate-code</c>,
    /// <c>CodeSystem/$validate-code</c>, <c>CodeSystem/$lookup</c>, <c>CodeSystem/$subsumes</c>, <c>ConceptMap/$translate</c> and
    /// <c>ValueSet/$batch-validate-code</c> (type and instance level, GET and POST), and <c>TerminologyCapabilities</c> at
    /// <c>/metadata?mode=terminology</c>; the CapabilityStatement declares the server a terminology server. The CodeSystems,
    /// ValueSets and ConceptMaps of the FHIR store are terminology content too: loaded at start-up, and followed as they are
    /// created, updated and deleted. FHIR search uses it for the token modifiers <c>:in</c> and <c>:not-in</c>. Needs
    /// <c>AddIgiaTerminology()</c>.
    /// </summary>
    /// <param name="builder">The FHIR server builder.</param>
    public static IgiaFhirServerBuilder AddTerminologyOperations(this IgiaFhirServerBuilder builder)
    {
        builder.AddOperation<ExpandOperation>()
            .AddOperation<ValidateCodeOperation>()
            .AddOperation<LookupOperation>()
            .AddOperation<SubsumesOperation>()
            .AddOperation<TranslateOperation>()
            .AddOperation<BatchValidateCodeOperation>()
            .AddFilter<TerminologyMetadataFilter>()
            .AddFilter<TerminologyStoreSyncFilter>()
            .AddCapabilityContributor<TerminologyCapabilityContributor>();
        var services = builder.Services;
        services.TryAddSingleton<Igia.Fhir.Search.IFhirValueSetMembership, TerminologyValueSetMembership>();
        services.TryAddSingleton<FhirStoreTerminology>();
        services.AddSingleton<ContentSource>(sp => new FhirStoreContentSource(
            sp.GetRequiredService<Igia.Fhir.Storage.IFhirStore>(), sp.GetRequiredService<FhirStoreTerminology>(), sp.GetService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>()));
        return builder;
    }
}
