using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Xml;
using Hl7.Fhir.Introspection;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Validation;
using Igia.Fhir.Pipeline;

namespace Igia.Fhir.Serialization;

/// <summary>The wire formats the server speaks.</summary>
internal enum FhirFormat
{
    Json,
    Xml,
}

/// <summary>How much of a resource to write (<c>_summary</c> / <c>_elements</c>).</summary>
internal sealed record FhirWriteOptions(bool Pretty = false, string? Summary = null, string[]? Elements = null)
{
    public static readonly FhirWriteOptions Default = new();
}

/// <summary>Parsing and writing FHIR JSON and XML with Firely's serializers, turning their errors into 400s.</summary>
internal static class FhirFormats
{
    public const string FhirJson = "application/fhir+json";
    public const string FhirXml = "application/fhir+xml";
    public const string JsonPatch = "application/json-patch+json";

    /// <summary>Maximum nesting depth of a JSON body; deeper bodies are refused before they reach the model.</summary>
    public const int MaxJsonDepth = 96;

    private static readonly JsonSerializerOptions StrictParse = new JsonSerializerOptions { MaxDepth = MaxJsonDepth }
        .ForFhir(ModelInfo.ModelInspector, ((FhirJsonConverterOptions)new FhirJsonConverterOptions().UsingMode(DeserializationMode.Strict)) with { Validator = R4UriRule.Instance });

    private static readonly ConcurrentDictionary<(bool Pretty, string? Summary), JsonSerializerOptions> WriteOptionsCache = new();

    /// <summary>Compact JSON options without summary filtering, for storage.</summary>
    public static readonly JsonSerializerOptions StorageJson = CreateWriteOptions(false, null, null);

    /// <summary>
    /// Reading stored JSON back: it was validated when it was written, so it is not validated again (which would also
    /// refuse the uri values that <see cref="R4UriRule"/> lets in).
    /// </summary>
    private static readonly JsonSerializerOptions StoredParse = new JsonSerializerOptions { MaxDepth = 256 }
        .ForFhir(ModelInfo.ModelInspector).UsingMode(DeserializationMode.Ostrich);

    private static readonly FhirXmlDeserializer XmlDeserializer = new(new DeserializerSettings().UsingMode(DeserializationMode.Strict) with { Validator = R4UriRule.Instance });
    private static readonly BaseFhirXmlSerializer XmlSerializer = new(ModelInfo.ModelInspector);

    /// <summary>Parses a FHIR JSON resource; any syntax or model error becomes a 400 naming it.</summary>
    /// <param name="utf8">The body.</param>
    /// <param name="lenient">Return the parsed resource when only model rules (not syntax) are broken; see <see cref="Operations.IFhirOperation.LenientBody"/>.</param>
    public static Resource ParseJson(ReadOnlySpan<byte> utf8, bool lenient = false)
    {
        try
        {
            return JsonSerializer.Deserialize<Resource>(utf8, StrictParse)
                ?? throw FhirException.BadRequest("The request body is empty or 'null'; a FHIR resource was expected.");
        }
        catch (DeserializationFailedException e) when (EmptyResource(e) is { } empty)
        {
            return empty;
        }
        catch (DeserializationFailedException e) when (lenient && OnlyModelErrors(e) is { } parsed)
        {
            return parsed;
        }
        catch (DeserializationFailedException e)
        {
            throw new FhirException(HttpStatusCode.BadRequest, OutcomeFromErrors(e));
        }
        catch (JsonException e)
        {
            throw FhirException.BadRequest($"The body is not valid FHIR JSON: {Describe(e)}");
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or FormatException or ArgumentException or OverflowException)
        {
            // Firely throws these for some shapes it cannot map (e.g. an array at the root); all come from the input.
            throw FhirException.BadRequest($"The body is not valid FHIR JSON: {e.Message}");
        }
    }

    /// <summary>
    /// Maximum element nesting depth of an XML body. XML nests no deeper than the same resource in JSON (it has no
    /// arrays), so this leaves as much room as <see cref="MaxJsonDepth"/>; deeper bodies are refused before they
    /// reach Firely's recursive deserializer, which would otherwise overflow the stack.
    /// </summary>
    public const int MaxXmlDepth = MaxJsonDepth;

    /// <summary>Parses a FHIR XML resource; any syntax or model error becomes a 400 naming it.</summary>
    /// <param name="utf8">The body.</param>
    /// <param name="lenient">Return the parsed resource when only model rules (not syntax) are broken; see <see cref="Operations.IFhirOperation.LenientBody"/>.</param>
    public static Resource ParseXml(Stream utf8, bool lenient = false)
    {
        try
        {
            var settings = new XmlReaderSettings
            {
                DtdProcessing = DtdProcessing.Prohibit,
                XmlResolver = null,
                MaxCharactersFromEntities = 0,
                CloseInput = false,
            };
            if (!utf8.CanSeek)
            {
                var buffer = new MemoryStream();
                utf8.CopyTo(buffer);
                utf8 = buffer;
                utf8.Position = 0;
            }

            // First pass: well-formedness and depth, with no recursion.
            var start = utf8.Position;
            using (var scan = XmlReader.Create(utf8, settings))
            {
                while (scan.Read())
                {
                    if (scan.Depth > MaxXmlDepth)
                    {
                        throw FhirException.BadRequest($"The XML body nests elements deeper than the maximum depth of {MaxXmlDepth}.");
                    }
                }
            }

            utf8.Position = start;
            using var reader = XmlReader.Create(utf8, settings);
            return XmlDeserializer.DeserializeResource(reader);
        }
        catch (DeserializationFailedException e) when (EmptyResource(e) is { } empty)
        {
            return empty;
        }
        catch (DeserializationFailedException e) when (lenient && OnlyModelErrors(e) is { } parsed)
        {
            return parsed;
        }
        catch (DeserializationFailedException e)
        {
            throw new FhirException(HttpStatusCode.BadRequest, OutcomeFromErrors(e));
        }
        catch (XmlException e)
        {
            throw FhirException.BadRequest($"The body is not well-formed XML: {e.Message}");
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException or OverflowException)
        {
            throw FhirException.BadRequest($"The body is not valid FHIR XML: {e.Message}");
        }
    }

    /// <summary>Parses stored JSON (trusted: written by this server).</summary>
    public static Resource ParseStored(string json) =>
        JsonSerializer.Deserialize<Resource>(json, StoredParse) ?? throw new InvalidOperationException("Stored resource is null.");

    /// <summary>Serialises for storage (compact JSON).</summary>
    public static string ToStorageJson(Resource resource) => JsonSerializer.Serialize(resource, StorageJson);

    /// <summary>Writes a resource in the requested format.</summary>
    public static async Task WriteAsync(Stream body, Resource resource, FhirFormat format, FhirWriteOptions options, CancellationToken cancellationToken)
    {
        if (format == FhirFormat.Json)
        {
            var jsonOptions = options.Elements is null
                ? WriteOptionsCache.GetOrAdd((options.Pretty, options.Summary), k => CreateWriteOptions(k.Pretty, k.Summary, null))
                : CreateWriteOptions(options.Pretty, null, options.Elements);
            await JsonSerializer.SerializeAsync(body, resource, jsonOptions, cancellationToken);
            return;
        }

        var settings = new XmlWriterSettings { Indent = options.Pretty, Encoding = new UTF8Encoding(false), Async = true };
        await using var writer = XmlWriter.Create(body, settings);
        XmlSerializer.Serialize(resource, writer, SummaryFactory(options.Summary, options.Elements));
        await writer.FlushAsync();
    }

    /// <summary>Serialises a resource to a string (used for Bundle entries and tests).</summary>
    public static string Serialize(Resource resource, FhirFormat format, bool pretty = false)
    {
        using var ms = new MemoryStream();
        WriteAsync(ms, resource, format, new FhirWriteOptions(pretty), CancellationToken.None).GetAwaiter().GetResult();
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static JsonSerializerOptions CreateWriteOptions(bool pretty, string? summary, string[]? elements)
    {
        var converterOptions = new FhirJsonConverterOptions { SummaryFilterFactory = SummaryFactory(summary, elements) };
        var o = new JsonSerializerOptions { MaxDepth = 256 }.ForFhir(ModelInfo.ModelInspector, converterOptions);
        return pretty ? o.Pretty() : o;
    }

    private static Func<SerializationFilter>? SummaryFactory(string? summary, string[]? elements)
    {
        if (elements is { Length: > 0 })
        {
            return SerializationFilter.ForElementsFactory(elements);
        }

        return summary switch
        {
            "true" => SerializationFilter.ForSummary,
            "text" => SerializationFilter.ForText,
            "data" => SerializationFilter.ForData,
            _ => null,
        };
    }

    /// <summary>
    /// A resource with no elements (e.g. an empty Parameters) is valid FHIR — ele-1 applies to elements, not to
    /// resources — but Firely reports it as an empty element (PVAL129). Accept exactly that case, and nothing else.
    /// </summary>
    private static Resource? EmptyResource(DeserializationFailedException e) =>
        e.PartialResult is Resource resource
        && e.Exceptions.All(x => x.ErrorCode is "PVAL129" or "JSON120")
        && resource.EnumerateElements().All(element => element.Key == "id")
            ? resource
            : null;

    /// <summary>The parsed resource when every error is a model-rule violation (Firely's validation errors), not a syntax error.</summary>
    private static Resource? OnlyModelErrors(DeserializationFailedException e) =>
        e.PartialResult is Resource resource && e.Exceptions.All(x => x is CodedValidationException) ? resource : null;

    private static OperationOutcome OutcomeFromErrors(DeserializationFailedException e)
    {
        var outcome = new OperationOutcome();
        foreach (var error in e.Exceptions.Take(20))
        {
            outcome.Issue.Add(new OperationOutcome.IssueComponent
            {
                Severity = OperationOutcome.IssueSeverity.Error,
                Code = OperationOutcome.IssueType.Structure,
                Diagnostics = error.Message,
            });
        }

        if (outcome.Issue.Count == 0)
        {
            outcome.Issue.Add(new OperationOutcome.IssueComponent
            {
                Severity = OperationOutcome.IssueSeverity.Error,
                Code = OperationOutcome.IssueType.Structure,
                Diagnostics = "The body is not a valid FHIR resource.",
            });
        }

        return outcome;
    }

    private static string Describe(JsonException e) =>
        e.LineNumber is { } line ? $"{FirstSentence(e.Message)} (line {line + 1}, position {e.BytePositionInLine + 1})" : FirstSentence(e.Message);

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}

/// <summary>
/// Firely checks uri, url and canonical values with <see cref="Uri"/> parsing (and OID/UUID syntax after
/// <c>urn:oid:</c>/<c>urn:uuid:</c>), which refuses values that R4 allows: its rule for these types is only
/// "no whitespace" (regex <c>\S*</c>), e.g. <c>http://.........?</c> or <c>urn:uuid:</c> in upper case in the
/// spec's own examples. This validator keeps every other check of strict parsing and applies the R4 rule to those three types.
/// </summary>
internal sealed partial class R4UriRule(IPocoValidator inner) : IPocoValidator
{
    /// <summary>Firely's strict-mode validator with the R4 rule for uri, url and canonical.</summary>
    public static readonly R4UriRule Instance = new(new FhirAttributeValidator());

    [System.Text.RegularExpressions.GeneratedRegex(@"^\S+$")]
    private static partial System.Text.RegularExpressions.Regex NoWhitespace();

    public IReadOnlyCollection<CodedValidationException> ValidateProperty(string name, object? value, PropertyMapping? mapping, PocoValidationContext context) =>
        inner.ValidateProperty(name, value, mapping, context);

    public IReadOnlyCollection<CodedValidationException> ValidateObject(Base instance, ClassMapping classMapping, PocoValidationContext context)
    {
        var errors = inner.ValidateObject(instance, classMapping, context);
        return errors.Count > 0 && instance is FhirUri or FhirUrl or Canonical && ((PrimitiveType)instance).JsonValue is string value && NoWhitespace().IsMatch(value)
            ? errors.Where(e => e.ErrorCode != CodedValidationException.LITERAL_INVALID_CODE).ToList()
            : errors;
    }
}
