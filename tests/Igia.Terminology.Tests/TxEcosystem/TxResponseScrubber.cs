using System.Text.Json.Nodes;

namespace Igia.Terminology.Tests.TxEcosystem;

/// <summary>
/// What the HL7 runner (TxTesterScrubbers) removes from a response before comparing it. A ValueSet or OperationOutcome
/// response loses narrative and meta and the extensions the tests do not manage (any absolute-URL extension not listed
/// below, except inside <c>ValueSet.compose</c>), an OperationOutcome also its <c>diagnostics</c> (issues that only
/// have diagnostics are dropped). A Parameters response only loses its meta: what it carries (the issues of
/// <c>$validate-code</c> with their message ids) is compared as it is.
/// </summary>
internal static class TxResponseScrubber
{
    private static readonly HashSet<string> ManagedExtensions = new(StringComparer.Ordinal)
    {
        "http://hl7.org/fhir/StructureDefinition/codesystem-alternate",
        "http://hl7.org/fhir/StructureDefinition/codesystem-conceptOrder",
        "http://hl7.org/fhir/StructureDefinition/codesystem-label",
        "http://hl7.org/fhir/StructureDefinition/coding-sctdescid",
        "http://hl7.org/fhir/StructureDefinition/itemWeight",
        "http://hl7.org/fhir/StructureDefinition/rendering-style",
        "http://hl7.org/fhir/StructureDefinition/rendering-xhtml",
        "http://hl7.org/fhir/StructureDefinition/translation",
        "http://hl7.org/fhir/StructureDefinition/valueset-concept-definition",
        "http://hl7.org/fhir/StructureDefinition/valueset-conceptOrder",
        "http://hl7.org/fhir/StructureDefinition/valueset-deprecated",
        "http://hl7.org/fhir/StructureDefinition/valueset-label",
        "http://hl7.org/fhir/StructureDefinition/valueset-supplement",
        "http://hl7.org/fhir/test/CodeSystem/de-multi",
        "http://hl7.org/fhir/test/CodeSystem/en-multi",
        "http://hl7.org/fhir/test/StructureDefinition/unknown-extension-1",
        "http://hl7.org/fhir/test/StructureDefinition/unknown-extension-3",
        "http://hl7.org/fhir/test/StructureDefinition/unknown-extension-4",
        "http://hl7.org/fhir/test/StructureDefinition/unknown-extension-5",
        "http://hl7.org/fhir/test/ValueSet/extensions-bad-supplement",
        "http://hl7.org/fhir/test/ValueSet/simple-all",
        "http://hl7.org/fhir/test/ValueSet/simple-enumerated",
        "http://hl7.org/fhir/StructureDefinition/alternate-code-use",
        "http://hl7.org/fhir/StructureDefinition/alternate-code-status",
        "http://hl7.org/fhir/test/ValueSet/simple-filter-isa",
    };

    /// <summary>Scrubs a response in place; in <paramref name="tight"/> mode no extension is removed.</summary>
    public static void Scrub(JsonObject resource, bool tight)
    {
        if ((string?)resource["resourceType"] == "Parameters")
        {
            resource.Remove("meta");
            return;
        }

        resource.Remove("text");
        resource.Remove("meta");
        ScrubElement(resource, inCompose: false, tight);
        if ((string?)resource["resourceType"] == "OperationOutcome" && resource["issue"] is JsonArray issues)
        {
            foreach (var issue in issues.OfType<JsonObject>().ToList())
            {
                if (issue["diagnostics"] is not null && issue["details"] is null)
                {
                    issues.Remove(issue);
                }
                else
                {
                    issue.Remove("diagnostics");
                }
            }
        }
    }

    private static void ScrubElement(JsonNode? node, bool inCompose, bool tight)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["resourceType"] is not null)
                {
                    o.Remove("text");
                    o.Remove("meta");
                }

                if (!inCompose && !tight)
                {
                    foreach (var key in new[] { "extension", "modifierExtension" })
                    {
                        if (o[key] is JsonArray extensions)
                        {
                            foreach (var ext in extensions.OfType<JsonObject>().ToList())
                            {
                                var url = (string?)ext["url"] ?? "";
                                if (Uri.TryCreate(url, UriKind.Absolute, out _) && !ManagedExtensions.Contains(url))
                                {
                                    extensions.Remove(ext);
                                }
                            }

                            if (extensions.Count == 0)
                            {
                                o.Remove(key);
                            }
                        }
                    }
                }

                foreach (var kv in o.ToList())
                {
                    if (kv.Value is JsonObject { } child && child["resourceType"] is not null)
                    {
                        Scrub(child, tight);
                    }
                    else
                    {
                        ScrubElement(kv.Value, inCompose || kv.Key == "compose", tight);
                    }
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    if (item is JsonObject { } child && child["resourceType"] is not null)
                    {
                        Scrub(child, tight);
                    }
                    else
                    {
                        ScrubElement(item, inCompose, tight);
                    }
                }

                break;
        }
    }
}
