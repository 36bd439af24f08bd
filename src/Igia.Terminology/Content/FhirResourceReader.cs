using System.Text.Json;
using System.Xml;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Igia.Terminology.Content;

/// <summary>Reads terminology resources from JSON or XML content, leniently (content from packages is not always perfect).</summary>
internal static class FhirResourceReader
{
    private static readonly JsonSerializerOptions Json = new JsonSerializerOptions { MaxDepth = 256 }
        .ForFhir(ModelInfo.ModelInspector).UsingMode(DeserializationMode.Ostrich);

    private static readonly FhirXmlDeserializer Xml = new(new DeserializerSettings().UsingMode(DeserializationMode.Ostrich));

    /// <summary>The resource types the engine keeps (Bundles are opened for them).</summary>
    public static bool IsWanted(string? resourceType) => resourceType is "CodeSystem" or "ValueSet" or "ConceptMap" or "Bundle";

    /// <summary>The <c>resourceType</c> of a JSON resource, read without parsing the rest.</summary>
    public static string? PeekResourceType(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
                {
                    if (reader.ValueTextEquals("resourceType"u8))
                    {
                        reader.Read();
                        return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    }

                    reader.Read();
                    reader.TrySkip();
                }
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    public static Resource? ParseJson(ReadOnlySpan<byte> utf8)
    {
        try
        {
            return JsonSerializer.Deserialize<Resource>(utf8, Json);
        }
        catch (DeserializationFailedException e)
        {
            return e.PartialResult as Resource;
        }
    }

    public static Resource? ParseXml(Stream stream)
    {
        try
        {
            using var reader = XmlReader.Create(stream, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            return Xml.DeserializeResource(reader);
        }
        catch (DeserializationFailedException e)
        {
            return e.PartialResult as Resource;
        }
    }

    /// <summary>Reads a file (JSON or XML) if it holds a terminology resource or a Bundle.</summary>
    public static Resource? ReadFile(string path)
    {
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            var bytes = File.ReadAllBytes(path);
            return IsWanted(PeekResourceType(bytes)) ? ParseJson(bytes) : null;
        }

        if (path.EndsWith(".xml", StringComparison.OrdinalIgnoreCase))
        {
            using var stream = File.OpenRead(path);
            return ParseXml(stream);
        }

        return null;
    }
}
