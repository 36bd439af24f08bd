using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Search;
using Igia.Fhir.Storage;

namespace Igia.Smart.ResourceServer.Internal;

/// <summary>
/// Lets a PATCH under <c>patient/</c> scopes through only if the patched resource is still in the token's patient
/// compartment. The authorization filter checks the current version before the patch and marks the interaction; the
/// patched result exists only inside the write's store session, which is where this validator runs (before anything is
/// written, so a refused patch changes nothing).
/// </summary>
internal sealed class PatientPatchValidator(FhirCompartmentMembership compartments) : IFhirWriteValidator
{
    /// <summary>Key of <see cref="FhirInteraction.Items"/> holding the token's patient id for a patient-scoped PATCH.</summary>
    internal static readonly object PatientKey = new();

    public ValueTask ValidateWriteAsync(FhirInteraction interaction, Resource resource, StoredResource? current)
    {
        if (interaction.Kind != FhirInteractionKind.Patch || !interaction.Items.TryGetValue(PatientKey, out var value) || value is not string patient)
        {
            return ValueTask.CompletedTask;
        }

        var inCompartment = resource.TypeName == "Patient"
            ? resource.Id == patient
            : compartments.IsInCompartment(resource, "Patient", patient);
        if (!inCompartment)
        {
            throw new FhirException(HttpStatusCode.Forbidden, OperationOutcome.IssueType.Forbidden,
                $"The patched {resource.TypeName} would not be in the compartment of the token's patient.");
        }

        return ValueTask.CompletedTask;
    }
}
