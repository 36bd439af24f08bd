using System.Collections.Concurrent;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Search;
using Igia.Fhir.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Igia.Terminology.Content;

/// <summary>
/// Keeps the local engine's content in step with the CodeSystems, ValueSets and ConceptMaps of the FHIR store: which store
/// resource (<c>CodeSystem/123</c>) is which canonical and version in the content.
/// </summary>
internal sealed class FhirStoreTerminology(TerminologyResources resources, ILogger<FhirStoreTerminology> logger)
{
    public static readonly string[] ResourceTypes = ["CodeSystem", "ValueSet", "ConceptMap"];

    private readonly ConcurrentDictionary<string, (string Url, string? Version)> _byStoreId = new(StringComparer.Ordinal);

    /// <summary>Adds or replaces the content for a store resource.</summary>
    public void Put(string resourceType, string id, Resource resource)
    {
        if (resource is not IVersionableConformanceResource { Url.Length: > 0 } canonical)
        {
            Remove(resourceType, id);
            return;
        }

        var key = resourceType + "/" + id;
        if (_byStoreId.TryGetValue(key, out var old))
        {
            resources.RemoveFromSource(resourceType, old.Url, "store:" + key);
        }

        resources.Add(resource, "store:" + key);
        _byStoreId[key] = (canonical.Url, canonical.Version);
        logger.LogDebug("Terminology content: {Key} is {Url}|{Version}", key, canonical.Url, canonical.Version);
    }

    /// <summary>Removes the content of a deleted store resource.</summary>
    public void Remove(string resourceType, string id)
    {
        var key = resourceType + "/" + id;
        if (_byStoreId.TryRemove(key, out var old))
        {
            resources.RemoveFromSource(resourceType, old.Url, "store:" + key);
        }
    }
}

/// <summary>
/// Loads the terminology resources already in the FHIR store at start-up (after the store is initialised), read-only and
/// page by page.
/// </summary>
internal sealed class FhirStoreContentSource(IFhirStore store, FhirStoreTerminology sync, IHostApplicationLifetime? lifetime) : ContentSource
{
    private const int PageSize = 200;

    public override string Description => "the FHIR store";

    /// <summary>Last: what the store holds wins over packages and files with the same canonical and version.</summary>
    public override int Order => 100;

    public override int Load(TerminologyResources into, ContentLoadContext context, CancellationToken cancellationToken)
    {
        // The store is initialised by the FHIR server's own hosted service; wait until every hosted service has started.
        if (lifetime is not null && !lifetime.ApplicationStarted.IsCancellationRequested)
        {
            WaitHandle.WaitAny([lifetime.ApplicationStarted.WaitHandle, cancellationToken.WaitHandle]);
            cancellationToken.ThrowIfCancellationRequested();
        }

        return LoadAsync(cancellationToken).GetAwaiter().GetResult();
    }

    private async Task<int> LoadAsync(CancellationToken cancellationToken)
    {
        var count = 0;
        await using var session = await store.OpenSessionAsync(FhirSessionMode.Read, cancellationToken).ConfigureAwait(false);
        foreach (var type in FhirStoreTerminology.ResourceTypes)
        {
            for (var offset = 0; ; offset += PageSize)
            {
                var page = await session.SearchAsync(new SearchQuery
                {
                    ResourceTypes = [type],
                    Count = PageSize,
                    Offset = offset,
                    MaxResults = offset + PageSize,
                }, cancellationToken).ConfigureAwait(false);
                foreach (var stored in page.Matches)
                {
                    if (stored.Json is { } json && FhirResourceReader.ParseJson(System.Text.Encoding.UTF8.GetBytes(json)) is { } resource)
                    {
                        sync.Put(stored.ResourceType, stored.Id, resource);
                        count++;
                    }
                }

                if (page.Matches.Count < PageSize)
                {
                    break;
                }
            }
        }

        return count;
    }
}

/// <summary>
/// Follows writes of CodeSystems, ValueSets and ConceptMaps through the FHIR server (create, update, patch, delete; inside a
/// batch or transaction once the Bundle has succeeded) and updates the terminology content, so that a value set written to
/// the store can be expanded right away.
/// </summary>
internal sealed class TerminologyStoreSyncFilter(FhirStoreTerminology sync) : IFhirInteractionFilter
{
    private static readonly object PendingKey = new();

    /// <summary>Innermost, next to the handler: it sees only writes that every other filter let through.</summary>
    public int Order => FhirFilterOrder.Rules + 200;

    public async ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next)
    {
        var response = await next(interaction).ConfigureAwait(false);
        var ok = (int)response.StatusCode is >= 200 and < 300;
        if (interaction.Kind is FhirInteractionKind.Batch or FhirInteractionKind.Transaction)
        {
            if (interaction.Items.TryGetValue(PendingKey, out var pending) && pending is List<Action> changes && ok)
            {
                foreach (var change in changes)
                {
                    change();
                }
            }

            return response;
        }

        if (!ok || interaction.ResourceType is not ("CodeSystem" or "ValueSet" or "ConceptMap"))
        {
            return response;
        }

        Action? apply = interaction.Kind switch
        {
            FhirInteractionKind.Create or FhirInteractionKind.Update or FhirInteractionKind.Patch
                when (response.Resource ?? interaction.Resource) is { } written && written.TypeName == interaction.ResourceType && written.Id is { } id
                => () => sync.Put(interaction.ResourceType, id, written),
            FhirInteractionKind.Delete when interaction.Id is { } deleted => () => sync.Remove(interaction.ResourceType, deleted),
            _ => null,
        };
        if (apply is null)
        {
            return response;
        }

        if (interaction.Parent is { } parent)
        {
            if (!parent.Items.TryGetValue(PendingKey, out var list) || list is not List<Action> changes)
            {
                changes = [];
                parent.Items[PendingKey] = changes;
            }

            changes.Add(apply);
        }
        else
        {
            apply();
        }

        return response;
    }
}
