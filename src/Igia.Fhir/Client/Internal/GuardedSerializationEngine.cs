using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Igia.Fhir.Client.Internal;

/// <summary>
/// Wraps Firely's serialization engine so that a response body that claims to be FHIR but does not parse surfaces as a
/// <see cref="FhirClientException"/> (<see cref="FhirClientErrorKind.InvalidResponse"/>) instead of Firely's parser exceptions.
/// </summary>
internal sealed class GuardedSerializationEngine(IFhirSerializationEngine inner) : IFhirSerializationEngine
{
    /// <summary>The default engine: Firely's POCO parser that ignores recoverable errors.</summary>
    public static readonly IFhirSerializationEngine Default = new GuardedSerializationEngine(FhirSerializationEngineFactory.Recoverable(ModelInfo.ModelInspector));

    /// <summary>The unwrapped engine, for parsing error bodies without throwing.</summary>
    public IFhirSerializationEngine Inner => inner;

    public static IFhirSerializationEngine Wrap(IFhirSerializationEngine? engine) => engine switch
    {
        null => Default,
        GuardedSerializationEngine => engine,
        _ => new GuardedSerializationEngine(engine),
    };

    public Resource? DeserializeFromJson(string data)
    {
        try
        {
            return inner.DeserializeFromJson(data);
        }
        catch (Exception e) when (e is DeserializationFailedException or FormatException or System.Text.Json.JsonException)
        {
            throw Invalid("JSON", e);
        }
    }

    public Resource? DeserializeFromXml(string data)
    {
        try
        {
            return inner.DeserializeFromXml(data);
        }
        catch (Exception e) when (e is DeserializationFailedException or FormatException or System.Xml.XmlException)
        {
            throw Invalid("XML", e);
        }
    }

    public string SerializeToJson(Resource instance) => inner.SerializeToJson(instance);

    public string SerializeToXml(Resource instance) => inner.SerializeToXml(instance);

    private static FhirClientException Invalid(string format, Exception e)
    {
        var count = e is DeserializationFailedException d ? d.Exceptions.Count : 1;
        return new FhirClientException(
            FhirClientErrorKind.InvalidResponse,
            $"The server's response claims to be FHIR {format} but could not be parsed as FHIR R4 ({count} problem{(count == 1 ? "" : "s")}; see InnerException).",
            innerException: e);
    }
}
