using System.Text.Json;
using Hl7.Fhir.Model;

namespace Igia.Smart.Protocol;

/// <summary>
/// One entry of the <c>fhirContext</c> array of a token response (SMART App Launch 2.2): a reference to a resource,
/// a canonical URL or an identifier, with an optional <c>type</c> and <c>role</c>.
/// </summary>
/// <param name="Reference">A relative reference such as <c>Observation/123</c>, when given.</param>
/// <param name="Canonical">A canonical URL (e.g. of a Questionnaire), when given.</param>
/// <param name="Identifier">A business identifier, when given.</param>
/// <param name="Type">The resource type, when given (always present with <paramref name="Canonical"/> or <paramref name="Identifier"/>).</param>
/// <param name="Role">The role of this resource in the launch (a URI or one of SMART's codes), when given.</param>
public sealed record SmartFhirContextItem(string? Reference, string? Canonical, Identifier? Identifier, string? Type, string? Role)
{
    /// <summary>The resource type: <see cref="Type"/> when given, else the type part of <see cref="Reference"/>.</summary>
    public string? ResourceType => Type ?? (Reference is { } r && r.IndexOf('/', StringComparison.Ordinal) is > 0 and var slash ? r[..slash] : null);
}

/// <summary>
/// The launch context a SMART token response carries next to the access token: the patient and encounter in context,
/// further <c>fhirContext</c> resources, display hints (<c>need_patient_banner</c>, <c>smart_style_url</c>), <c>intent</c> and
/// <c>tenant</c>. Parameters SMART does not define are kept in <see cref="AdditionalParameters"/>.
/// </summary>
public sealed class SmartLaunchContext
{
    private static readonly HashSet<string> TokenFields = new(StringComparer.Ordinal)
    {
        "access_token", "token_type", "expires_in", "refresh_token", "id_token", "scope",
        "patient", "encounter", "fhirContext", "need_patient_banner", "smart_style_url", "intent", "tenant",
        "error", "error_description", "error_uri", "issued_token_type",
    };

    /// <summary>An empty context.</summary>
    public static SmartLaunchContext Empty { get; } = new();

    /// <summary>The id of the Patient in context (<c>patient</c>), e.g. <c>123</c>.</summary>
    public string? Patient { get; init; }

    /// <summary>The id of the Encounter in context (<c>encounter</c>).</summary>
    public string? Encounter { get; init; }

    /// <summary>Further resources in context (<c>fhirContext</c>).</summary>
    public IReadOnlyList<SmartFhirContextItem> FhirContext { get; init; } = [];

    /// <summary>Whether the app must show a patient banner (<c>need_patient_banner</c>); null when the server did not say.</summary>
    public bool? NeedPatientBanner { get; init; }

    /// <summary>The URL of the EHR's style sheet for apps (<c>smart_style_url</c>).</summary>
    public Uri? SmartStyleUrl { get; init; }

    /// <summary>What the EHR wants the app to do (<c>intent</c>), e.g. <c>reconcile-medications</c>.</summary>
    public string? Intent { get; init; }

    /// <summary>The tenant the launch is for (<c>tenant</c>).</summary>
    public string? Tenant { get; init; }

    /// <summary>Other non-token parameters of the token response (tokens themselves are never kept here).</summary>
    public IReadOnlyDictionary<string, JsonElement> AdditionalParameters { get; init; } = new Dictionary<string, JsonElement>();

    /// <summary>The <c>Patient/[id]</c> reference of <see cref="Patient"/>, or null.</summary>
    public string? PatientReference => Patient is null ? null : "Patient/" + Patient;

    /// <summary>The <c>Encounter/[id]</c> reference of <see cref="Encounter"/>, or null.</summary>
    public string? EncounterReference => Encounter is null ? null : "Encounter/" + Encounter;

    /// <summary>Reads the launch context from a token response JSON object (tokens are ignored).</summary>
    /// <param name="tokenResponse">The token response object.</param>
    public static SmartLaunchContext FromTokenResponse(JsonElement tokenResponse)
    {
        if (tokenResponse.ValueKind != JsonValueKind.Object)
        {
            return Empty;
        }

        var items = new List<SmartFhirContextItem>();
        if (tokenResponse.TryGetProperty("fhirContext", out var fhirContext) && fhirContext.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in fhirContext.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object)
                {
                    items.Add(new SmartFhirContextItem(
                        String(item, "reference"),
                        String(item, "canonical"),
                        IdentifierOf(item),
                        String(item, "type"),
                        String(item, "role")));
                }
                else if (item.ValueKind == JsonValueKind.String && item.GetString() is { Length: > 0 } reference)
                {
                    // SMART 2.0.0 allowed bare reference strings.
                    items.Add(new SmartFhirContextItem(reference, null, null, null, null));
                }
            }
        }

        var additional = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in tokenResponse.EnumerateObject())
        {
            if (!TokenFields.Contains(property.Name))
            {
                additional[property.Name] = property.Value.Clone();
            }
        }

        bool? banner = tokenResponse.TryGetProperty("need_patient_banner", out var b)
            ? b.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.String when bool.TryParse(b.GetString(), out var parsed) => parsed,
                _ => null,
            }
            : null;

        return new SmartLaunchContext
        {
            Patient = String(tokenResponse, "patient"),
            Encounter = String(tokenResponse, "encounter"),
            FhirContext = items,
            NeedPatientBanner = banner,
            SmartStyleUrl = String(tokenResponse, "smart_style_url") is { } style && Uri.TryCreate(style, UriKind.Absolute, out var styleUrl) ? styleUrl : null,
            Intent = String(tokenResponse, "intent"),
            Tenant = String(tokenResponse, "tenant"),
            AdditionalParameters = additional,
        };
    }

    /// <summary>Writes the context back as the JSON members of a token response (no tokens).</summary>
    internal void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        if (Patient is not null)
        {
            writer.WriteString("patient", Patient);
        }

        if (Encounter is not null)
        {
            writer.WriteString("encounter", Encounter);
        }

        if (FhirContext.Count > 0)
        {
            writer.WriteStartArray("fhirContext");
            foreach (var item in FhirContext)
            {
                writer.WriteStartObject();
                if (item.Reference is not null)
                {
                    writer.WriteString("reference", item.Reference);
                }

                if (item.Canonical is not null)
                {
                    writer.WriteString("canonical", item.Canonical);
                }

                if (item.Identifier is not null)
                {
                    writer.WriteStartObject("identifier");
                    if (item.Identifier.System is not null)
                    {
                        writer.WriteString("system", item.Identifier.System);
                    }

                    if (item.Identifier.Value is not null)
                    {
                        writer.WriteString("value", item.Identifier.Value);
                    }

                    writer.WriteEndObject();
                }

                if (item.Type is not null)
                {
                    writer.WriteString("type", item.Type);
                }

                if (item.Role is not null)
                {
                    writer.WriteString("role", item.Role);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        if (NeedPatientBanner is { } banner)
        {
            writer.WriteBoolean("need_patient_banner", banner);
        }

        if (SmartStyleUrl is not null)
        {
            writer.WriteString("smart_style_url", SmartStyleUrl.OriginalString);
        }

        if (Intent is not null)
        {
            writer.WriteString("intent", Intent);
        }

        if (Tenant is not null)
        {
            writer.WriteString("tenant", Tenant);
        }

        foreach (var (name, value) in AdditionalParameters)
        {
            writer.WritePropertyName(name);
            value.WriteTo(writer);
        }

        writer.WriteEndObject();
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s ? s : null;

    private static Identifier? IdentifierOf(JsonElement item)
    {
        if (!item.TryGetProperty("identifier", out var identifier) || identifier.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        return new Identifier(String(identifier, "system"), String(identifier, "value"));
    }
}
