using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Igia.Fhir.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Igia.Fhir.Tests.Server;

/// <summary>
/// Every resource of the FHIR R4 example package (<c>hl7.fhir.r4.examples</c> 4.0.1) is stored through the REST API and
/// read back equal to what was sent, apart from the <c>meta.versionId</c>/<c>meta.lastUpdated</c> the server assigns.
/// </summary>
public sealed class ExamplePackageTests(ITestOutputHelper output)
{
    private const string EmptyNarrative = "text.div has no non-whitespace content (invariant txt-2: the narrative SHALL have some non-whitespace content)";
    private const string NoBreakSpaceCodes = "CodeSystem v2-0550 has codes ending in U+00A0 (a no-break space left by an encoding error in the source), and a code may not end in whitespace (R4 JSON schema: ^[^\\s]+(\\s[^\\s]+)*$)";
    private const string NoSearchParameterBase = "SearchParameter.base (1..*) is missing";
    private const string ImplementationGuideIncomplete = "ImplementationGuide.name (1..1) and ImplementationGuide.status (1..1) are missing";

    /// <summary>
    /// Examples that are not valid FHIR R4, which the server therefore refuses with 400, and why. The test fails if
    /// one of them is accepted or any other example is refused, so that this list stays exact.
    /// </summary>
    private static readonly Dictionary<string, string> KnownInvalid = new(StringComparer.Ordinal)
    {
        ["ActivityDefinition-blood-tubes-supply.json"] = EmptyNarrative,
        ["ActivityDefinition-heart-valve-replacement.json"] = EmptyNarrative,
        ["EventDefinition-example.json"] = EmptyNarrative,
        ["Questionnaire-zika-virus-exposure-assessment.json"] = EmptyNarrative + " (a <pre> holding only whitespace)",
        ["CodeSystem-v2-0550.json"] = NoBreakSpaceCodes,
        ["Bundle-v2-valuesets.json"] = NoBreakSpaceCodes + " (entry 814 is that CodeSystem)",
        ["ImplementationGuide-fhir.json"] = ImplementationGuideIncomplete,
        ["ig-r4.json"] = ImplementationGuideIncomplete + " (the same resource as ImplementationGuide-fhir.json)",
        ["Questionnaire-qs1.json"] = "Questionnaire.item.linkId (1..1) is missing on the nested display items",
        ["SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json"] = "the id has 67 characters; an id has at most 64",
        ["SearchParameter-codesystem-extensions-CodeSystem-author.json"] = NoSearchParameterBase,
        ["SearchParameter-codesystem-extensions-CodeSystem-effective.json"] = NoSearchParameterBase,
        ["SearchParameter-codesystem-extensions-CodeSystem-end.json"] = NoSearchParameterBase,
        ["SearchParameter-codesystem-extensions-CodeSystem-keyword.json"] = NoSearchParameterBase,
        ["SearchParameter-codesystem-extensions-CodeSystem-workflow.json"] = NoSearchParameterBase,
        ["SearchParameter-valueset-extensions-ValueSet-author.json"] = NoSearchParameterBase,
        ["SearchParameter-valueset-extensions-ValueSet-effective.json"] = NoSearchParameterBase,
        ["SearchParameter-valueset-extensions-ValueSet-end.json"] = NoSearchParameterBase,
        ["SearchParameter-valueset-extensions-ValueSet-keyword.json"] = NoSearchParameterBase,
        ["SearchParameter-valueset-extensions-ValueSet-workflow.json"] = NoSearchParameterBase,

        // Valid FHIR that the Firely model cannot hold: an R4 decimal has no range limit, System.Decimal has.
        ["Observation-decimal.json"] = "valueDecimal -1.000000000000000000E+245 is valid R4 but outside the range of System.Decimal, which Firely uses for decimals; refused with 400 rather than altered",
    };

    [Fact]
    public void ExamplePackage_IsInstalled_WithEveryResource()
    {
        Assert.Equal(ExamplePackage.Version, ExamplePackage.InstalledVersion());
        Assert.Equal(ExamplePackage.ResourceCount, ExamplePackage.Files().Count);
    }

    [Fact]
    public async System.Threading.Tasks.Task Examples_EveryResourceStoredByPutAndReadBack_EqualApartFromMeta()
    {
        // Largest first, so that the few very large Bundles do not finish last on their own.
        var files = ExamplePackage.Files().OrderByDescending(f => new FileInfo(f).Length).ToList();
        Assert.Equal(ExamplePackage.ResourceCount, files.Count);

        // The largest example (Bundle-resources.json) is about 35 MB.
        await using var host = await FhirTestHost.StartAsync(o => o.MaxBodyBytes = 64 * 1024 * 1024);
        host.Client.Timeout = TimeSpan.FromMinutes(10);
        var refused = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var different = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var stored = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var types = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(4, Environment.ProcessorCount) }, async (file, ct) =>
        {
            var example = ExamplePackage.Read(file);
            types.AddOrUpdate(example.ResourceType, 1, (_, n) => n + 1);
            using var put = await host.Client.PutAsync(example.Url, FhirTestHost.JsonContent(example.Json), ct);
            if (put.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.OK))
            {
                refused[example.FileName] = $"{(int)put.StatusCode}: {Diagnostics(await put.Content.ReadAsStringAsync(ct))}";
                return;
            }

            stored[example.FileName] = example.Url;
            using var get = await host.Client.GetAsync(example.Url, ct);
            var body = await get.Content.ReadAsStringAsync(ct);
            if (get.StatusCode != HttpStatusCode.OK)
            {
                different[example.FileName] = $"read {(int)get.StatusCode}: {Diagnostics(body)}";
                return;
            }

            var difference = Compare(example.Json, body);
            if (difference is not null)
            {
                different[example.FileName] = difference;
            }
        });

        var unexpectedlyRefused = refused.Where(r => !KnownInvalid.ContainsKey(r.Key)).OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        Assert.True(unexpectedlyRefused.Count == 0, $"{unexpectedlyRefused.Count} examples refused:\n" + string.Join("\n", unexpectedlyRefused.Select(r => $"{r.Key}: {r.Value}")));
        var unexpectedlyAccepted = KnownInvalid.Keys.Where(stored.ContainsKey).ToList();
        Assert.True(unexpectedlyAccepted.Count == 0, "Examples listed as invalid were accepted: " + string.Join(", ", unexpectedlyAccepted));
        Assert.True(different.IsEmpty, $"{different.Count} examples read back different:\n" + string.Join("\n", different.OrderBy(d => d.Key, StringComparer.Ordinal).Take(50).Select(d => $"{d.Key}: {d.Value}")));
        Assert.Equal(ExamplePackage.ResourceCount - KnownInvalid.Count, stored.Count);
        Assert.Equal(140, types.Count);

        output.WriteLine($"Stored and compared {stored.Count} examples in {clock.Elapsed}.");
        clock.Restart();

        // Every stored version also comes back through history, which parses what was stored (reads send it as is).
        var versions = 0;
        string? next = "_history?_count=500";
        while (next is not null)
        {
            using var response = await host.Client.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var page = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(), new JsonDocumentOptions { MaxDepth = 256 });
            Assert.Equal(stored.Count, page.RootElement.GetProperty("total").GetInt32());
            versions += page.RootElement.TryGetProperty("entry", out var entries) ? entries.EnumerateArray().Count(e => e.TryGetProperty("resource", out _)) : 0;
            next = page.RootElement.GetProperty("link").EnumerateArray().Where(l => l.GetProperty("relation").GetString() == "next").Select(l => l.GetProperty("url").GetString()).FirstOrDefault();
        }

        Assert.Equal(stored.Count, versions);
        output.WriteLine($"Read {versions} versions back through history in {clock.Elapsed}.");
    }

    /// <summary>
    /// Compares the sent and the returned JSON after dropping what the server assigns (<c>meta.versionId</c>,
    /// <c>meta.lastUpdated</c>) and ordering object members; returns a description of the first difference, or null.
    /// </summary>
    private static string? Compare(string sent, string returned)
    {
        var expected = Normalize(JsonNode.Parse(sent, documentOptions: new JsonDocumentOptions { MaxDepth = 256 })!);
        var actual = Normalize(JsonNode.Parse(returned, documentOptions: new JsonDocumentOptions { MaxDepth = 256 })!);
        return FirstDifference(expected, actual, "$");
    }

    private static JsonNode Normalize(JsonNode node)
    {
        if (node["meta"] is JsonObject meta)
        {
            meta.Remove("versionId");
            meta.Remove("lastUpdated");
            if (meta.Count == 0)
            {
                node.AsObject().Remove("meta");
            }
        }

        return node;
    }

    private static string? FirstDifference(JsonNode? expected, JsonNode? actual, string path)
    {
        switch (expected, actual)
        {
            case (null, null):
                return null;
            case (JsonObject e, JsonObject a):
                foreach (var name in e.Select(p => p.Key).Union(a.Select(p => p.Key)).Order(StringComparer.Ordinal))
                {
                    if (!e.ContainsKey(name) || !a.ContainsKey(name))
                    {
                        return $"{path}.{name} {(e.ContainsKey(name) ? "missing from the response" : "added by the server")}";
                    }

                    if (FirstDifference(e[name], a[name], $"{path}.{name}") is { } d)
                    {
                        return d;
                    }
                }

                return null;
            case (JsonArray e, JsonArray a):
                if (e.Count != a.Count)
                {
                    return $"{path}: {e.Count} items sent, {a.Count} returned";
                }

                for (var i = 0; i < e.Count; i++)
                {
                    if (FirstDifference(e[i], a[i], $"{path}[{i}]") is { } d)
                    {
                        return d;
                    }
                }

                return null;
            case (JsonValue e, JsonValue a):
                return JsonNode.DeepEquals(e, a) || SameNumber(e, a) || SameBase64(e, a) ? null : $"{path}: sent {Truncate(e.ToJsonString())}, returned {Truncate(a.ToJsonString())}";
            default:
                return $"{path}: sent {Truncate(expected?.ToJsonString())}, returned {Truncate(actual?.ToJsonString())}";
        }
    }

    private static bool SameNumber(JsonValue e, JsonValue a) =>
        e.GetValueKind() == JsonValueKind.Number && a.GetValueKind() == JsonValueKind.Number && e.ToJsonString() == a.ToJsonString();

    /// <summary>A base64Binary may be sent with line breaks and spaces; the server returns the same bytes without them.</summary>
    private static bool SameBase64(JsonValue e, JsonValue a)
    {
        if (!e.TryGetValue<string>(out var sent) || !a.TryGetValue<string>(out var returned) || returned.Any(char.IsWhiteSpace))
        {
            return false;
        }

        var compact = string.Concat(sent.Where(c => !char.IsWhiteSpace(c)));
        return compact == returned && Convert.TryFromBase64String(returned, new byte[returned.Length], out _);
    }

    private static string Truncate(string? s) => s is null ? "null" : s.Length <= 200 ? s : s[..200] + "…";

    private static string Diagnostics(string body)
    {
        try
        {
            var node = JsonNode.Parse(body);
            return string.Join(" | ", node!["issue"]!.AsArray().Select(i => i!["diagnostics"]?.GetValue<string>()));
        }
        catch (Exception)
        {
            return Truncate(body);
        }
    }
}
