using System.Buffers;
using System.Text;
using System.Text.Json;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;

namespace Igia.Audit.Capture;

/// <summary>
/// Finds the patients an interaction involves: the Patient resources themselves, references to <c>Patient/{id}</c> in
/// the resources read or written (subject, patient, beneficiary, member…), and patient criteria of a search.
/// </summary>
internal static class PatientExtractor
{
    private const int MaxDepth = 6;

    /// <summary>Adds the patients <paramref name="resource"/> is about (itself, or the patients it references).</summary>
    public static void FromResource(Resource? resource, string baseUrl, ISet<string> patients)
    {
        switch (resource)
        {
            case null or OperationOutcome:
                return;
            case Patient patient:
                if (patient.Id is { Length: > 0 } id)
                {
                    patients.Add(id);
                }

                return;
            case Bundle bundle:
                foreach (var entry in bundle.Entry)
                {
                    FromResource(entry.Resource, baseUrl, patients);
                }

                return;
            default:
                Walk(resource, baseUrl, patients, 0);
                return;
        }
    }

    /// <summary>
    /// Adds the patients a stored resource (FHIR JSON) is about, like <see cref="FromResource"/> but without building the
    /// Firely model: a read's body stays unparsed, so the server can send the stored bytes as they are. A Patient adds
    /// its own id; any other resource the <c>Patient/{id}</c> targets of its <c>reference</c> elements (outside
    /// <c>contained</c>, <c>text</c> and <c>meta</c>). Written by hand: it is a single forward pass of
    /// <see cref="Utf8JsonReader"/>, which no library here offers for FHIR JSON.
    /// </summary>
    public static void FromStoredJson(string json, string baseUrl, ISet<string> patients)
    {
        var length = Encoding.UTF8.GetMaxByteCount(json.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var count = Encoding.UTF8.GetBytes(json, rented);
            FromStoredJson(rented.AsSpan(0, count), baseUrl, patients);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void FromStoredJson(ReadOnlySpan<byte> utf8, string baseUrl, ISet<string> patients)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 256 });
        string? resourceType = null;
        string? id = null;
        List<string>? references = null;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.CurrentDepth == 1)
            {
                if (reader.ValueTextEquals("resourceType"u8))
                {
                    reader.Read();
                    resourceType = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    continue;
                }

                if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    id = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    continue;
                }
            }

            if (reader.ValueTextEquals("contained"u8) || reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("meta"u8))
            {
                reader.Read();
                reader.Skip();
                continue;
            }

            if (reader.ValueTextEquals("reference"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && reader.GetString() is { } reference)
                {
                    (references ??= []).Add(reference);
                }
            }
        }

        if (resourceType == "Patient")
        {
            if (id is { Length: > 0 })
            {
                patients.Add(id);
            }

            return;
        }

        if (resourceType is null or "OperationOutcome" or "Bundle")
        {
            // Not a stored resource the fast path sends (a Bundle's entries are resources of their own): nothing to add.
            return;
        }

        foreach (var reference in references ?? [])
        {
            AddReference(reference, baseUrl, patients, bareIdIsPatient: false);
        }
    }

    /// <summary>Adds the patients named by a search's criteria (compartment, <c>patient</c>, <c>subject</c>, <c>_id</c> of a Patient search).</summary>
    public static void FromSearch(FhirInteraction interaction, ISet<string> patients)
    {
        if (interaction.CompartmentType == "Patient" && interaction.CompartmentId is { } compartment)
        {
            patients.Add(compartment);
        }

        if (interaction.ResourceType == "Patient" && interaction.Id is { } instance)
        {
            patients.Add(instance);
        }

        foreach (var (name, value) in interaction.Parameters)
        {
            var colon = name.IndexOf(':');
            var bare = colon < 0 ? name : name[..colon];
            var modifier = colon < 0 ? null : name[(colon + 1)..];
            switch (bare)
            {
                case "patient" when modifier is null or "Patient":
                    foreach (var v in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        AddReference(v, interaction.BaseUrl, patients, bareIdIsPatient: true);
                    }

                    break;
                case "subject" when modifier is null or "Patient":
                    foreach (var v in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        AddReference(v, interaction.BaseUrl, patients, bareIdIsPatient: modifier == "Patient");
                    }

                    break;
                case "_id" when interaction.ResourceType == "Patient":
                    foreach (var v in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (Internal.FhirId.IsValid(v))
                        {
                            patients.Add(v);
                        }
                    }

                    break;
            }
        }
    }

    private static void Walk(Base element, string baseUrl, ISet<string> patients, int depth)
    {
        if (depth > MaxDepth)
        {
            return;
        }

        foreach (var (name, value) in element.EnumerateElements())
        {
            if (name is "contained" or "text" or "meta")
            {
                continue;
            }

            switch (value)
            {
                case ResourceReference reference:
                    if (reference.Reference is { } r)
                    {
                        AddReference(r, baseUrl, patients, bareIdIsPatient: false);
                    }

                    break;
                case PrimitiveType:
                    break;
                case Base child:
                    Walk(child, baseUrl, patients, depth + 1);
                    break;
                case IEnumerable<Base> list:
                    foreach (var item in list)
                    {
                        if (item is ResourceReference listReference)
                        {
                            if (listReference.Reference is { } lr)
                            {
                                AddReference(lr, baseUrl, patients, bareIdIsPatient: false);
                            }
                        }
                        else if (item is not PrimitiveType)
                        {
                            Walk(item, baseUrl, patients, depth + 1);
                        }
                    }

                    break;
            }
        }
    }

    /// <summary>Adds the id of a <c>Patient/{id}</c> reference (relative, or absolute on this server).</summary>
    private static void AddReference(string reference, string baseUrl, ISet<string> patients, bool bareIdIsPatient)
    {
        var r = reference;
        if (baseUrl.Length > 0 && r.StartsWith(baseUrl + "/", StringComparison.Ordinal))
        {
            r = r[(baseUrl.Length + 1)..];
        }

        if (r.StartsWith("Patient/", StringComparison.Ordinal))
        {
            var id = r["Patient/".Length..];
            var slash = id.IndexOf('/');
            if (slash >= 0)
            {
                id = id[..slash];
            }

            if (Internal.FhirId.IsValid(id))
            {
                patients.Add(id);
            }
        }
        else if (bareIdIsPatient && !r.Contains('/') && Internal.FhirId.IsValid(r))
        {
            patients.Add(r);
        }
    }
}
