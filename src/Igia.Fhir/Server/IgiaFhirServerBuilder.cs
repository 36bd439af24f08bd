using Igia.Fhir.Capabilities;
using Igia.Fhir.Operations;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Storage;
using Igia.Fhir.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Igia.Fhir.Server;

/// <summary>Further configuration of the FHIR server returned by <c>AddIgiaFhirServer</c>; calls chain.</summary>
/// <param name="Services">The application's service collection.</param>
public sealed record IgiaFhirServerBuilder(IServiceCollection Services)
{
    /// <summary>Keeps resources in a SQLite file (WAL mode), created and migrated on first start.</summary>
    public IgiaFhirServerBuilder UseSqlite(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Services.RemoveAll<IFhirStore>();
        Services.AddSingleton<IFhirStore>(_ => new SqliteFhirStore(path));
        return this;
    }

    /// <summary>Uses a custom store (e.g. a provider package's).</summary>
    public IgiaFhirServerBuilder UseStore<TStore>()
        where TStore : class, IFhirStore
    {
        Services.RemoveAll<IFhirStore>();
        Services.AddSingleton<IFhirStore, TStore>();
        return this;
    }

    /// <summary>Adds an interaction filter to the pipeline (position from its <see cref="IFhirInteractionFilter.Order"/>).</summary>
    public IgiaFhirServerBuilder AddFilter<TFilter>()
        where TFilter : class, IFhirInteractionFilter
    {
        Services.AddSingleton<IFhirInteractionFilter, TFilter>();
        return this;
    }

    /// <summary>Adds an operation (<c>$name</c>).</summary>
    public IgiaFhirServerBuilder AddOperation<TOperation>()
        where TOperation : class, IFhirOperation
    {
        Services.AddSingleton<IFhirOperation, TOperation>();
        return this;
    }

    /// <summary>Adds a contributor to the generated CapabilityStatement.</summary>
    public IgiaFhirServerBuilder AddCapabilityContributor<TContributor>()
        where TContributor : class, ICapabilityStatementContributor
    {
        Services.AddSingleton<ICapabilityStatementContributor, TContributor>();
        return this;
    }
}
