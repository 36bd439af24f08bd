using Hl7.Fhir.Model;
using Igia.Terminology.Content;
using Microsoft.Extensions.DependencyInjection;

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
}
