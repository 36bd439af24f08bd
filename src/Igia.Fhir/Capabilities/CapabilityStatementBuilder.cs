using Hl7.Fhir.Model;
using Igia.Fhir.Operations;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Search;
using Igia.Fhir.Server;
using Microsoft.Extensions.Options;

namespace Igia.Fhir.Capabilities;

/// <summary>Adds to the CapabilityStatement; other packages register one (e.g. SMART adds the security section).</summary>
public interface ICapabilityStatementContributor
{
    /// <summary>Changes the statement in place.</summary>
    void Contribute(CapabilityStatement statement);
}

/// <summary>Generates the CapabilityStatement from what is actually registered: resource types, interactions, search parameters and operations.</summary>
internal sealed class CapabilityStatementBuilder(
    IOptions<FhirServerOptions> options,
    FhirOperationRegistry operations,
    SearchParameterRegistry searchParameters,
    IEnumerable<ICapabilityStatementContributor> contributors,
    TimeProvider time)
{
    private CapabilityStatement? _cached;
    private string? _cachedBase;

    public CapabilityStatement Build(string baseUrl)
    {
        var cached = _cached;
        if (cached is not null && _cachedBase == baseUrl)
        {
            return cached;
        }

        var statement = Create(baseUrl);
        _cachedBase = baseUrl;
        _cached = statement;
        return statement;
    }

    private CapabilityStatement Create(string baseUrl)
    {
        var o = options.Value;
        var on = o.Interactions;
        var statement = new CapabilityStatement
        {
            Status = PublicationStatus.Active,
            Date = time.GetUtcNow().ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            Kind = CapabilityStatementKind.Instance,
            Software = new CapabilityStatement.SoftwareComponent { Name = "Igia", Version = typeof(CapabilityStatementBuilder).Assembly.GetName().Version?.ToString(3) },
            Implementation = new CapabilityStatement.ImplementationComponent { Description = o.ServerName, Url = baseUrl },
            FhirVersion = FHIRVersion.N4_0_1,
            Format = ["json", "xml", "application/fhir+json", "application/fhir+xml"],
            PatchFormat = ["application/json-patch+json", "application/fhir+json", "application/fhir+xml"],
        };

        var rest = new CapabilityStatement.RestComponent { Mode = CapabilityStatement.RestfulCapabilityMode.Server };
        foreach (var type in ModelInfo.SupportedResources.Where(o.Serves).Order(StringComparer.Ordinal))
        {
            var resource = new CapabilityStatement.ResourceComponent
            {
                Type = type,
                Versioning = CapabilityStatement.ResourceVersionPolicy.VersionedUpdate,
                ReadHistory = on.Contains(FhirInteractionKind.VRead),
                UpdateCreate = o.AllowUpdateCreate,
                ConditionalCreate = on.Contains(FhirInteractionKind.Create),
                ConditionalRead = CapabilityStatement.ConditionalReadStatus.FullSupport,
                ConditionalUpdate = on.Contains(FhirInteractionKind.Update),
                ConditionalDelete = o.AllowMultipleDelete ? CapabilityStatement.ConditionalDeleteStatus.Multiple : CapabilityStatement.ConditionalDeleteStatus.Single,
                ReferencePolicy = [CapabilityStatement.ReferenceHandlingPolicy.Literal, CapabilityStatement.ReferenceHandlingPolicy.Local],
            };
            void Add(FhirInteractionKind kind, CapabilityStatement.TypeRestfulInteraction code)
            {
                if (on.Contains(kind))
                {
                    resource.Interaction.Add(new CapabilityStatement.ResourceInteractionComponent { Code = code });
                }
            }

            Add(FhirInteractionKind.Read, CapabilityStatement.TypeRestfulInteraction.Read);
            Add(FhirInteractionKind.VRead, CapabilityStatement.TypeRestfulInteraction.Vread);
            Add(FhirInteractionKind.Update, CapabilityStatement.TypeRestfulInteraction.Update);
            Add(FhirInteractionKind.Patch, CapabilityStatement.TypeRestfulInteraction.Patch);
            Add(FhirInteractionKind.Delete, CapabilityStatement.TypeRestfulInteraction.Delete);
            Add(FhirInteractionKind.History, CapabilityStatement.TypeRestfulInteraction.HistoryInstance);
            Add(FhirInteractionKind.History, CapabilityStatement.TypeRestfulInteraction.HistoryType);
            Add(FhirInteractionKind.Create, CapabilityStatement.TypeRestfulInteraction.Create);
            Add(FhirInteractionKind.Search, CapabilityStatement.TypeRestfulInteraction.SearchType);

            foreach (var p in searchParameters.ForType(type))
            {
                resource.SearchParam.Add(new CapabilityStatement.SearchParamComponent { Name = p.Code, Definition = p.Url, Type = p.Type, Documentation = string.IsNullOrWhiteSpace(p.Description) ? null : p.Description });
            }

            resource.SearchInclude = searchParameters.ForType(type).Where(p => p.Type == SearchParamType.Reference).Select(p => $"{type}:{p.Code}").Prepend("*").ToList();
            resource.SearchRevInclude = searchParameters.RevIncludesFor(type).ToList();

            foreach (var op in operations.All.Where(op => (op.Levels & (FhirOperationLevel.Type | FhirOperationLevel.Instance)) != 0 && (op.ResourceTypes.Count == 0 || op.ResourceTypes.Contains(type))))
            {
                resource.Operation.Add(new CapabilityStatement.OperationComponent { Name = op.Name, Definition = op.Definition ?? $"{baseUrl}/OperationDefinition/{op.Name}" });
            }

            rest.Resource.Add(resource);
        }

        void AddSystem(FhirInteractionKind kind, CapabilityStatement.SystemRestfulInteraction code)
        {
            if (on.Contains(kind))
            {
                rest.Interaction.Add(new CapabilityStatement.SystemInteractionComponent { Code = code });
            }
        }

        AddSystem(FhirInteractionKind.Transaction, CapabilityStatement.SystemRestfulInteraction.Transaction);
        AddSystem(FhirInteractionKind.Batch, CapabilityStatement.SystemRestfulInteraction.Batch);
        AddSystem(FhirInteractionKind.Search, CapabilityStatement.SystemRestfulInteraction.SearchSystem);
        AddSystem(FhirInteractionKind.History, CapabilityStatement.SystemRestfulInteraction.HistorySystem);
        foreach (var p in searchParameters.Common)
        {
            rest.SearchParam.Add(new CapabilityStatement.SearchParamComponent { Name = p.Code, Definition = p.Url, Type = p.Type });
        }

        foreach (var op in operations.All.Where(op => op.Levels.HasFlag(FhirOperationLevel.System)))
        {
            rest.Operation.Add(new CapabilityStatement.OperationComponent { Name = op.Name, Definition = op.Definition ?? $"{baseUrl}/OperationDefinition/{op.Name}" });
        }

        statement.Rest.Add(rest);
        foreach (var contributor in contributors)
        {
            contributor.Contribute(statement);
        }

        return statement;
    }
}
