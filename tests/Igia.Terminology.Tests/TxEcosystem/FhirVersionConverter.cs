using System.Text.Json.Nodes;

namespace Igia.Terminology.Tests.TxEcosystem;

/// <summary>
/// The test cases are R5 JSON; this server speaks R4. Like the HL7 runner's R4 terminology client, requests are converted
/// R5 → R4 before they are sent and responses R4 → R5 before they are compared. Only the differences that occur in the
/// terminology resources are handled: R5-only elements either move to the standard R5 backport extensions
/// (<c>http://hl7.org/fhir/5.0/StructureDefinition/extension-*</c>) or are dropped, as the HL7 converter does.
/// </summary>
internal static class FhirVersionConverter
{
    private const string Ext5 = "http://hl7.org/fhir/5.0/StructureDefinition/extension-";

    // ---- R5 -> R4 (requests) ---------------------------------------------------------------------

    /// <summary>Converts an R5 resource (as JSON) to R4, in place.</summary>
    public static void ToR4(JsonObject resource)
    {
        var type = (string?)resource["resourceType"];
        DropNonFhirKeys(resource);
        FixBooleans(resource);
        switch (type)
        {
            case "CodeSystem":
                MoveToExtension(resource, "versionAlgorithmCoding", Ext5 + "CodeSystem.versionAlgorithm", "valueCoding");
                MoveToExtension(resource, "versionAlgorithmString", Ext5 + "CodeSystem.versionAlgorithm", "valueString");
                DropEverywhere(resource, "additionalUse");
                break;
            case "ValueSet":
                MoveToExtension(resource, "versionAlgorithmCoding", Ext5 + "ValueSet.versionAlgorithm", "valueCoding");
                MoveToExtension(resource, "versionAlgorithmString", Ext5 + "ValueSet.versionAlgorithm", "valueString");
                if (resource["compose"] is JsonObject compose)
                {
                    compose.Remove("property");
                    foreach (var key in new[] { "include", "exclude" })
                    {
                        foreach (var inc in compose[key] as JsonArray ?? [])
                        {
                            (inc as JsonObject)?.Remove("copyright");
                        }
                    }
                }

                DropEverywhere(resource, "additionalUse");
                break;
            case "ConceptMap":
                ConceptMapToR4(resource);
                break;
            case "Parameters":
                foreach (var p in resource["parameter"] as JsonArray ?? [])
                {
                    ParameterToR4(p as JsonObject);
                }

                break;
        }

        foreach (var contained in resource["contained"] as JsonArray ?? [])
        {
            if (contained is JsonObject c)
            {
                ToR4(c);
            }
        }
    }

    private static void ParameterToR4(JsonObject? p)
    {
        if (p is null)
        {
            return;
        }

        if (p["resource"] is JsonObject r)
        {
            ToR4(r);
        }

        foreach (var part in p["part"] as JsonArray ?? [])
        {
            ParameterToR4(part as JsonObject);
        }
    }

    private static void ConceptMapToR4(JsonObject cm)
    {
        MoveToExtension(cm, "versionAlgorithmCoding", Ext5 + "ConceptMap.versionAlgorithm", "valueCoding");
        MoveToExtension(cm, "versionAlgorithmString", Ext5 + "ConceptMap.versionAlgorithm", "valueString");
        Rename(cm, "sourceScopeUri", "sourceUri");
        Rename(cm, "sourceScopeCanonical", "sourceCanonical");
        Rename(cm, "targetScopeUri", "targetUri");
        Rename(cm, "targetScopeCanonical", "targetCanonical");
        cm.Remove("property");
        cm.Remove("additionalAttribute");
        foreach (var g in cm["group"] as JsonArray ?? [])
        {
            if (g is not JsonObject group)
            {
                continue;
            }

            foreach (var e in group["element"] as JsonArray ?? [])
            {
                if (e is not JsonObject element)
                {
                    continue;
                }

                element.Remove("valueSet");
                if (element["noMap"] is JsonValue)
                {
                    element.Remove("noMap");
                }

                foreach (var t in element["target"] as JsonArray ?? [])
                {
                    if (t is not JsonObject target)
                    {
                        continue;
                    }

                    var relationship = (string?)target["relationship"];
                    target.Remove("relationship");
                    target.Remove("valueSet");
                    target.Remove("property");
                    target["equivalence"] = relationship switch
                    {
                        "related-to" => "relatedto",
                        "equivalent" => "equivalent",
                        "source-is-narrower-than-target" => "wider",
                        "source-is-broader-than-target" => "narrower",
                        "not-related-to" => "disjoint",
                        _ => "relatedto",
                    };
                    foreach (var key in new[] { "dependsOn", "product" })
                    {
                        foreach (var d in target[key] as JsonArray ?? [])
                        {
                            if (d is JsonObject dep)
                            {
                                Rename(dep, "attribute", "property");
                                if (dep["valueCoding"] is JsonObject coding)
                                {
                                    dep.Remove("valueCoding");
                                    dep["system"] = coding["system"]?.DeepClone();
                                    dep["value"] = coding["code"]?.DeepClone();
                                    dep["display"] = coding["display"]?.DeepClone();
                                }
                                else
                                {
                                    foreach (var vk in dep.Select(kv => kv.Key).Where(k => k.StartsWith("value", StringComparison.Ordinal) && k != "value").ToList())
                                    {
                                        dep["value"] = dep[vk]!.ToString();
                                        dep.Remove(vk);
                                    }
                                }
                            }
                        }
                    }
                }
            }

            if (group["unmapped"] is JsonObject unmapped)
            {
                unmapped.Remove("relationship");
                unmapped.Remove("valueSet");
                if ((string?)unmapped["mode"] == "use-source-code")
                {
                    unmapped["mode"] = "provided";
                }
            }
        }
    }

    /// <summary>Keys that are not FHIR element names (e.g. <c>title:de</c>) are dropped, as a lenient parser ignores them.</summary>
    private static void DropNonFhirKeys(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(kv => kv.Key).Where(k => k.Contains(':', StringComparison.Ordinal)).ToList())
                {
                    o.Remove(key);
                }

                foreach (var kv in o.ToList())
                {
                    DropNonFhirKeys(kv.Value);
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    DropNonFhirKeys(item);
                }

                break;
        }
    }

    /// <summary>A boolean written as a JSON string ("true") is read as the boolean by the HL7 parser.</summary>
    private static void FixBooleans(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var kv in o.ToList())
                {
                    if (kv.Key == "valueBoolean" && kv.Value is JsonValue v && v.TryGetValue<string>(out var s) && bool.TryParse(s, out var b))
                    {
                        o[kv.Key] = b;
                    }
                    else
                    {
                        FixBooleans(kv.Value);
                    }
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    FixBooleans(item);
                }

                break;
        }
    }

    private static void DropEverywhere(JsonNode? node, string key)
    {
        switch (node)
        {
            case JsonObject o:
                o.Remove(key);
                foreach (var kv in o.ToList())
                {
                    DropEverywhere(kv.Value, key);
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    DropEverywhere(item, key);
                }

                break;
        }
    }

    private static void MoveToExtension(JsonObject o, string element, string url, string valueKey)
    {
        if (o[element] is not { } value)
        {
            return;
        }

        o.Remove(element);
        var extensions = o["extension"] as JsonArray;
        if (extensions is null)
        {
            extensions = [];
            o["extension"] = extensions;
        }

        extensions.Add(new JsonObject { ["url"] = url, [valueKey] = value });
    }

    private static void Rename(JsonObject o, string from, string to)
    {
        if (o[from] is { } value)
        {
            o.Remove(from);
            o[to] = value;
        }
    }

    // ---- R4 -> R5 (responses) --------------------------------------------------------------------

    /// <summary>Converts an R4 response resource (as JSON) to R5, in place.</summary>
    public static void ToR5(JsonObject resource)
    {
        switch ((string?)resource["resourceType"])
        {
            case "ValueSet":
                if (resource["expansion"] is JsonObject expansion)
                {
                    ExtensionsToElement(expansion, Ext5 + "ValueSet.expansion.property", "property");
                    ContainsToR5(expansion["contains"] as JsonArray);
                }

                BackFromExtension(resource, Ext5 + "ValueSet.versionAlgorithm", "versionAlgorithm");
                break;
            case "CodeSystem":
                BackFromExtension(resource, Ext5 + "CodeSystem.versionAlgorithm", "versionAlgorithm");
                break;
            case "Parameters":
                foreach (var p in resource["parameter"] as JsonArray ?? [])
                {
                    if (p is JsonObject { } parameter && parameter["resource"] is JsonObject r)
                    {
                        ToR5(r);
                    }
                }

                break;
            case "Bundle":
                foreach (var e in resource["entry"] as JsonArray ?? [])
                {
                    if (e?["resource"] is JsonObject r)
                    {
                        ToR5(r);
                    }
                }

                break;
        }
    }

    private static void ContainsToR5(JsonArray? contains)
    {
        foreach (var c in contains ?? [])
        {
            if (c is JsonObject item)
            {
                ExtensionsToElement(item, Ext5 + "ValueSet.expansion.contains.property", "property");
                ContainsToR5(item["contains"] as JsonArray);
            }
        }
    }

    /// <summary>Backport extensions with sub-extensions (<c>code</c>, <c>value[x]</c>, <c>uri</c>, …) become R5 elements.</summary>
    private static void ExtensionsToElement(JsonObject owner, string url, string element)
    {
        if (owner["extension"] is not JsonArray extensions)
        {
            return;
        }

        var matching = extensions.OfType<JsonObject>().Where(e => (string?)e["url"] == url).ToList();
        if (matching.Count == 0)
        {
            return;
        }

        var target = owner[element] as JsonArray ?? [];
        foreach (var ext in matching)
        {
            extensions.Remove(ext);
            target.Add(SubExtensionsToObject(ext));
        }

        owner[element] = target;
        if (extensions.Count == 0)
        {
            owner.Remove("extension");
        }
    }

    private static JsonObject SubExtensionsToObject(JsonObject ext)
    {
        var result = new JsonObject();
        foreach (var sub in ext["extension"] as JsonArray ?? [])
        {
            if (sub is not JsonObject s)
            {
                continue;
            }

            var name = (string?)s["url"] ?? "";
            var valueKey = s.Select(kv => kv.Key).FirstOrDefault(k => k.StartsWith("value", StringComparison.Ordinal));
            if (valueKey is not null)
            {
                var key = name == "value" ? valueKey : name;
                result[key] = s[valueKey]!.DeepClone();
            }
            else if (s["extension"] is JsonArray)
            {
                var list = result[name] as JsonArray ?? [];
                list.Add(SubExtensionsToObject(s));
                result[name] = list;
            }
        }

        return result;
    }

    private static void BackFromExtension(JsonObject o, string url, string element)
    {
        if (o["extension"] is not JsonArray extensions)
        {
            return;
        }

        foreach (var ext in extensions.OfType<JsonObject>().Where(e => (string?)e["url"] == url).ToList())
        {
            var valueKey = ext.Select(kv => kv.Key).FirstOrDefault(k => k.StartsWith("value", StringComparison.Ordinal));
            if (valueKey is not null)
            {
                o[element + valueKey["value".Length..]] = ext[valueKey]!.DeepClone();
            }

            extensions.Remove(ext);
        }

        if (extensions.Count == 0)
        {
            o.Remove("extension");
        }
    }
}
