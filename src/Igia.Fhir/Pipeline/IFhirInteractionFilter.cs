namespace Igia.Fhir.Pipeline;

/// <summary>Invokes the rest of the interaction chain.</summary>
public delegate ValueTask<FhirResponse> FhirInteractionDelegate(FhirInteraction interaction);

/// <summary>
/// A step on the FHIR interaction pipeline. It sees every interaction — each batch/transaction entry
/// too — before the handler and the store, may reject it by returning an error response (or throwing
/// <see cref="FhirException"/>) without calling <c>next</c>, and sees the response on the way back,
/// where it may inspect or redact it (search results and <c>_include</c>d resources included).
/// </summary>
public interface IFhirInteractionFilter
{
    /// <summary>Where this filter runs: lower runs first (outermost). See <see cref="FhirFilterOrder"/>.</summary>
    int Order => FhirFilterOrder.Default;

    /// <summary>Handles the interaction, calling <paramref name="next"/> to continue.</summary>
    ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next);
}

/// <summary>Well-known filter positions.</summary>
public static class FhirFilterOrder
{
    /// <summary>Audit capture: outermost, so it records every outcome, denials included.</summary>
    public const int Audit = -1000;

    /// <summary>Authorization (SMART scopes).</summary>
    public const int Authorization = -500;

    /// <summary>Default position for application filters.</summary>
    public const int Default = 0;

    /// <summary>Business rules that validate content (e.g. workflow state machines), after authorization.</summary>
    public const int Rules = 500;
}
