namespace Igia.Fhir.Pipeline;

/// <summary>
/// Runs an interaction through the whole pipeline (every filter, then the handler and the store), the same
/// way an HTTP request does. Use it to call the FHIR server in-process (seeding, operations, workflow rules).
/// </summary>
public interface IFhirInteractionExecutor
{
    /// <summary>Runs <paramref name="interaction"/> and returns its response; errors come back as 4xx/5xx responses, not exceptions.</summary>
    ValueTask<FhirResponse> ExecuteAsync(FhirInteraction interaction);
}
