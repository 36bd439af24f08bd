using Hl7.Fhir.Model;
using Igia.Fhir.Storage;

namespace Igia.Fhir.Pipeline;

/// <summary>
/// Checks a resource just before it is written (create, update, update-as-create, patch, conditional forms, and each
/// entry of a transaction), inside the write's store session, with the version it replaces. Unlike a filter, it sees
/// the final resource (after a patch is applied) and the current version read in the same transaction, so rules such
/// as state machines are race-free. A validator must not modify the resource: its search index rows may already have
/// been extracted (outside the store's write lock). Refuse by throwing <see cref="FhirException"/>; the write is then not made.
/// Register as a singleton <see cref="IFhirWriteValidator"/> in DI.
/// </summary>
public interface IFhirWriteValidator
{
    /// <summary>Checks the write; throws <see cref="FhirException"/> to refuse it.</summary>
    /// <param name="interaction">The interaction that writes.</param>
    /// <param name="resource">The resource about to be stored (id set).</param>
    /// <param name="current">The current version it replaces, or null when it creates the resource (deleted versions included as such).</param>
    ValueTask ValidateWriteAsync(FhirInteraction interaction, Resource resource, StoredResource? current);
}
