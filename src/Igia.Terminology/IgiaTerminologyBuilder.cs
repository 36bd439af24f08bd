using Hl7.Fhir.Model;
using Igia.Fhir.Client;
using Igia.Terminology.Content;
using Igia.Terminology.Internal;
using Igia.Terminology.Remote;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Igia.Terminology;

/// <summary>Further configuration of the terminology service returned by <c>AddIgiaTerminology</c>: content and remote servers. Calls chain.</summary>
/// <param name="Services">The application's service collection.</param>
public sealed record IgiaTerminologyBuilder(IServiceCollection Services)
{
    /// <summary>
    /// Loads the FHIR R4 core CodeSystems, ValueSets and ConceptMaps from <c>specification.zip</c> (copied to the output by the
    /// Hl7.Fhir.Specification.Data.R4 package this one depends on).
    /// </summary>
    /// <param name="specificationZipPath">Another specification.zip; by default the one in the app's folder.</param>
    public IgiaTerminologyBuilder AddFhirCorePackage(string? specificationZipPath = null)
    {
        Services.AddSingleton<ContentSource>(new SpecificationContentSource(specificationZipPath));
        return this;
    }

    /// <summary>
    /// Loads a FHIR package: the npm-style <c>.tgz</c> the package registries serve (e.g. <c>hl7.terminology.r4-7.0.1.tgz</c>), or
    /// its extracted folder. Its dependencies are loaded too when they are found beside it (npm's <c>node_modules</c> layout
    /// or <c>name-version.tgz</c>) or in the FHIR package cache (<c>~/.fhir/packages</c>); the core package is
    /// <see cref="AddFhirCorePackage"/>.
    /// </summary>
    /// <param name="path">The .tgz file or the package folder.</param>
    /// <param name="loadDependencies">False to load only this package.</param>
    public IgiaTerminologyBuilder AddPackage(string path, bool loadDependencies = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Services.AddSingleton<ContentSource>(new PackageContentSource(path, loadDependencies));
        return this;
    }

    /// <summary>Loads CodeSystems, ValueSets and ConceptMaps (or Bundles of them) from a JSON/XML file, or from every file of a folder.</summary>
    /// <param name="path">A file or a folder.</param>
    public IgiaTerminologyBuilder AddFiles(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Services.AddSingleton<ContentSource>(new FileContentSource(path));
        return this;
    }

    /// <summary>Adds a CodeSystem, ValueSet or ConceptMap (or a Bundle of them) given in code.</summary>
    /// <param name="resource">The resource.</param>
    public IgiaTerminologyBuilder AddResource(Resource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        Services.AddSingleton<ContentSource>(new ResourceContentSource(resource));
        return this;
    }

    /// <summary>
    /// Sends some requests to a remote FHIR terminology server, through an Igia FHIR client (named
    /// <c>igia-terminology:</c><paramref name="name"/>: retries of these read-only operations, timeouts, a circuit breaker), with
    /// its answers cached; the requests that name one of the code systems or value sets of its
    /// <see cref="RemoteTerminologyServerOptions"/> go there, all others to the local engine. Remote servers are tried in the
    /// order they are added. A health check <c>igia-terminology-remote-</c><paramref name="name"/> checks it answers.
    /// </summary>
    /// <param name="name">A name for the server (logs, metrics, health check, client name).</param>
    /// <param name="baseUrl">The server's FHIR base URL, e.g. <c>https://tx.fhir.org/r4</c>.</param>
    /// <param name="configure">Routing, fallback and caching.</param>
    /// <param name="configureClient">Further client settings: access tokens, timeouts, retries.</param>
    /// <exception cref="ArgumentException">The server would receive no requests (no code system, no value set, no <c>RouteAll</c>).</exception>
    public IgiaTerminologyBuilder AddRemoteServer(string name, Uri baseUrl, Action<RemoteTerminologyServerOptions> configure, Action<IgiaFhirClientBuilder>? configureClient = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentNullException.ThrowIfNull(configure);
        if (!baseUrl.IsAbsoluteUri)
        {
            throw new ArgumentException($"The base URL of terminology server '{name}' must be absolute.", nameof(baseUrl));
        }

        var options = new RemoteTerminologyServerOptions();
        configure(options);
        if (!options.RouteAll && options.CodeSystems.Count == 0 && options.ValueSets.Count == 0)
        {
            throw new ArgumentException($"Terminology server '{name}' would receive no requests: give it code systems or value sets, or set RouteAll.", nameof(configure));
        }

        if (options.CacheDuration < TimeSpan.Zero)
        {
            throw new ArgumentException($"The cache duration of terminology server '{name}' cannot be negative.", nameof(configure));
        }

        var clientName = "igia-terminology:" + name;
        var client = Services.AddIgiaFhirClient(clientName, o => o.BaseUrl = baseUrl);
        configureClient?.Invoke(client);
        if (options.CacheDuration > TimeSpan.Zero && !options.UseDistributedCache)
        {
            Services.AddMemoryCache();
        }

        Services.AddSingleton(sp =>
        {
            ITerminologyBackend backend = new RemoteTerminologyBackend(name, clientName, sp.GetRequiredService<IIgiaFhirClientFactory>());
            if (options.CacheDuration > TimeSpan.Zero)
            {
                backend = options.UseDistributedCache
                    ? new CachingTerminologyBackend(backend, options.CacheDuration, null, sp.GetRequiredService<IDistributedCache>())
                    : new CachingTerminologyBackend(backend, options.CacheDuration, sp.GetRequiredService<IMemoryCache>(), null);
            }

            return new TerminologyRoute(
                backend,
                subject => options.RouteAll || subject.Systems.Any(options.MatchesCodeSystem) || subject.ValueSets.Any(options.MatchesValueSet),
                options.FallbackToLocal);
        });
        Services.AddHealthChecks().Add(new HealthCheckRegistration(
            "igia-terminology-remote-" + name,
            sp => new RemoteTerminologyHealthCheck(name, clientName, options.FallbackToLocal, sp.GetRequiredService<IIgiaFhirClientFactory>()),
            failureStatus: null,
            tags: ["terminology"]));
        return this;
    }
}
