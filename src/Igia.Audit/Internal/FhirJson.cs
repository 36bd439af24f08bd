using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Igia.Audit.Internal;

/// <summary>FHIR JSON (de)serialisation of AuditEvents with the Firely SDK.</summary>
internal static class FhirJson
{
    private static readonly JsonSerializerOptions Options = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    public static byte[] Serialize(Resource resource) => JsonSerializer.SerializeToUtf8Bytes(resource, Options);

    public static string SerializeToString(Resource resource) => JsonSerializer.Serialize(resource, Options);

    public static AuditEvent ParseAuditEvent(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<Resource>(json, Options) as AuditEvent
        ?? throw new FormatException("The JSON is not an AuditEvent.");

    public static Resource Parse(string json) => JsonSerializer.Deserialize<Resource>(json, Options)!;
}
