using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;

namespace Igia.Fhir.Operations;

/// <summary>Where an operation can be invoked.</summary>
[Flags]
public enum FhirOperationLevel
{
    /// <summary><c>[base]/$name</c>.</summary>
    System = 1,
    /// <summary><c>[base]/[type]/$name</c>.</summary>
    Type = 2,
    /// <summary><c>[base]/[type]/[id]/$name</c>.</summary>
    Instance = 4,
}

/// <summary>
/// A FHIR operation (<c>$name</c>) served by the FHIR endpoint. Register with
/// <c>AddIgiaFhirServer(...).AddOperation&lt;T&gt;()</c>; it then appears in the CapabilityStatement and is
/// invoked through the interaction pipeline, so filters (authorization, audit) see it.
/// </summary>
public interface IFhirOperation
{
    /// <summary>The name without <c>$</c>, e.g. <c>everything</c>.</summary>
    string Name { get; }

    /// <summary>The levels it can be invoked at.</summary>
    FhirOperationLevel Levels { get; }

    /// <summary>Resource types at type/instance level; empty means any.</summary>
    IReadOnlyCollection<string> ResourceTypes => [];

    /// <summary>False when the operation changes nothing, so it may be invoked by GET.</summary>
    bool AffectsState => false;

    /// <summary>The canonical URL of its OperationDefinition, for the CapabilityStatement.</summary>
    string? Definition => null;

    /// <summary>
    /// True when a POST body whose resources break only model rules (cardinality, required elements) is handed to the
    /// operation as parsed instead of being refused with 400, because the operation checks its inputs itself (terminology
    /// operations report an invalid <c>tx-resource</c> as an issue). Syntax errors are refused either way. Default false.
    /// </summary>
    bool LenientBody => false;

    /// <summary>Runs the operation.</summary>
    ValueTask<FhirResponse> ExecuteAsync(FhirOperationContext context);
}

/// <summary>What an operation receives.</summary>
public sealed class FhirOperationContext
{
    /// <summary>The interaction (resource type and id for type/instance level, the caller, the HTTP context).</summary>
    public required FhirInteraction Interaction { get; init; }

    /// <summary>The input parameters: from the query string for GET, from the body for POST (a non-Parameters body is passed as a <c>resource</c> parameter).</summary>
    public required Parameters Parameters { get; init; }

    /// <summary>Runs other interactions through the same pipeline (authorization and audit apply).</summary>
    public required IFhirInteractionExecutor Executor { get; init; }

    /// <summary>The application's services.</summary>
    public required IServiceProvider Services { get; init; }
}
