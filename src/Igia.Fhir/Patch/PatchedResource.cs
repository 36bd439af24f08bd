// Hand-written glue only: Firely serializes and checks the FHIR JSON; this turns its errors into FhirPatchException without data values.
using System.Text.Json;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;

namespace Igia.Fhir.Patch;

/// <summary>Converts resources to and from FHIR JSON around a patch, refusing a result that is not valid FHIR.</summary>
internal static class PatchedResource
{
    private static readonly JsonSerializerOptions Options =
        new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector).UsingMode(DeserializationMode.Strict);

    /// <summary>The FHIR JSON form of <paramref name="resource"/>, as a new tree.</summary>
    public static JsonNode ToJson(Resource resource) =>
        JsonSerializer.SerializeToNode<Resource>(resource, Options)
        ?? throw new InvalidOperationException("Firely serialized a resource to JSON null.");

    /// <summary>Parses FHIR JSON strictly.</summary>
    /// <exception cref="FhirPatchException">The JSON is not a valid FHIR resource; the message names the problems and where they are.</exception>
    public static Resource FromJson(JsonNode json)
    {
        try
        {
            return JsonSerializer.Deserialize<Resource>(json, Options)
                ?? throw new FhirPatchException("The patched resource is JSON null.");
        }
        catch (DeserializationFailedException e)
        {
            // Firely refuses a resource with no elements besides resourceType, which FHIR allows (e.g. a Patient whose only
            // element was deleted); empty elements inside a resource stay refused.
            var problems = e.Exceptions.Where(x => !(x.ErrorCode is "JSON120" or "PVAL129" && x is ExtendedCodedException { InstancePath: "$this" })).ToList();
            return problems.Count == 0 && e.PartialResult is Resource empty
                ? empty
                : throw new FhirPatchException($"The patched resource is not valid FHIR: {Describe(problems)}.");
        }
        catch (JsonException e)
        {
            throw new FhirPatchException($"The patched resource is not valid FHIR JSON (at {e.Path ?? "the root"}).");
        }
    }

    /// <summary>
    /// Writes <paramref name="resource"/> to FHIR JSON and parses it back: the result is a new, valid resource. Firely's serializer
    /// leaves out elements that a delete left empty (FHIR does not allow empty elements), and parsing checks every value.
    /// </summary>
    /// <exception cref="FhirPatchException">The resource is not valid FHIR.</exception>
    public static Resource Reparse(Resource resource) => FromJson(ToJson(resource));

    // Firely's Display ("Invalid literal", "Unknown element", ...) and InstancePath name the problem; its full message quotes
    // the offending value, which may be patient data, so it is not used.
    private static string Describe(IEnumerable<CodedException> problems) =>
        string.Join("; ", problems.Select(x => x switch
        {
            ExtendedCodedException { InstancePath: { Length: > 0 } path } c => $"{c.Display} at {path} ({c.ErrorCode})",
            ExtendedCodedException c => $"{c.Display} ({c.ErrorCode})",
            _ => x.ErrorCode,
        }));
}
