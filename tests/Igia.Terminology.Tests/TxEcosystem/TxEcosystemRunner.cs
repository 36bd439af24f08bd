using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Igia.Terminology.Tests.Infrastructure;

namespace Igia.Terminology.Tests.TxEcosystem;

/// <summary>One test of the suite.</summary>
internal sealed record TxTestCase(string Suite, string Name, string Operation, JsonObject Test, IReadOnlyList<string> Setup)
{
    public string Id => $"{Suite}/{Name}";
}

/// <summary>The outcome of one test.</summary>
internal sealed record TxTestResult(TxTestCase Test, bool Passed, string? Reason, int HttpStatus);

/// <summary>
/// Runs the HL7 terminology-server test suite (tests/test-cases.json in ../shared/tx-ecosystem) through HTTP against the
/// terminology operation endpoints, the way the HL7 runner (the Java validator's TxTester with its R4 client) does: setup
/// resources go in as <c>tx-resource</c> parameters, the profile parameters are appended, the request is converted to R4 and
/// POSTed, the response is converted back to R5, scrubbed and sorted, and compared with the expected response under the
/// suite's template rules.
/// </summary>
/// <remarks>
/// Compared as the runner does with <c>tight</c> set (no extension of the response is scrubbed, so every extension the server
/// sends must be expected) and with the suite's external messages (<c>messages-tx.fhir.org.json</c>, see SOURCE.md), so that
/// <c>$external:N$</c> message texts are compared exactly. <c>IGIA_TX_TIGHT=0</c> and <c>IGIA_TX_EXTERNALS=0</c> switch
/// to the looser comparisons.
/// </remarks>
internal sealed class TxEcosystemRunner(HttpClient client, string folder)
{
    /// <summary>Compare in the runner's tight mode: extensions are not scrubbed from responses.</summary>
    public bool Tight { get; init; } = Environment.GetEnvironmentVariable("IGIA_TX_TIGHT") != "0";

    /// <summary>The external message texts (per response file, by number), or null to check only the fragments.</summary>
    public JsonObject? Externals { get; init; } = Environment.GetEnvironmentVariable("IGIA_TX_EXTERNALS") == "0"
        ? null
        : JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "messages-tx.fhir.org.json")))?.AsObject();

    /// <summary>The modes this server runs in: only <c>general</c> (no <c>flat</c>: expansions keep the hierarchy).</summary>
    public static readonly IReadOnlySet<string> Modes = new HashSet<string> { "general" };

    /// <summary>The FHIR version of this server, for <c>$version$</c> and <c>version:</c> filters.</summary>
    public const string ServerVersion = "4.0.1";

    private readonly Dictionary<string, JsonObject> _cache = new(StringComparer.Ordinal);

    /// <summary>Every test of every suite of mode <c>general</c>, in file order (test-level modes included: they count).</summary>
    public static List<TxTestCase> LoadGeneralTests(string folder)
    {
        var doc = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "test-cases.json")))!;
        var result = new List<TxTestCase>();
        foreach (var suite in doc["suites"]!.AsArray().OfType<JsonObject>())
        {
            if ((string?)suite["mode"] != "general" || suite["disabled"]?.GetValue<bool>() == true)
            {
                continue;
            }

            var setup = suite["setup"]?.AsArray().Select(s => (string)s!).ToList() ?? [];
            foreach (var test in suite["tests"]!.AsArray().OfType<JsonObject>())
            {
                result.Add(new TxTestCase((string)suite["name"]!, (string)test["name"]!, (string)test["operation"]!, test, setup));
            }
        }

        return result;
    }

    private JsonObject Load(string file)
    {
        if (!_cache.TryGetValue(file, out var json))
        {
            var text = File.ReadAllText(Path.Combine(folder, file)).TrimStart('\uFEFF');
            json = (JsonObject)JsonNode.Parse(text)!;
            _cache[file] = json;
        }

        return (JsonObject)json.DeepClone();
    }

    public async Task<TxTestResult> RunAsync(TxTestCase test, string? dumpFolder = null)
    {
        try
        {
            var request = Load((string)test.Test["request"]!);
            var parameters = request["parameter"] as JsonArray ?? [];
            request["parameter"] = parameters;
            foreach (var s in test.Setup)
            {
                parameters.Add(new JsonObject { ["name"] = "tx-resource", ["resource"] = Load(s) });
            }

            var profile = Load((string?)test.Test["profile"] ?? "parameters-default.json");
            foreach (var p in profile["parameter"] as JsonArray ?? [])
            {
                parameters.Add(p!.DeepClone());
            }

            FhirVersionConverter.ToR4(request);
            var url = test.Operation switch
            {
                "expand" => "ValueSet/$expand",
                "validate-code" => "ValueSet/$validate-code",
                "cs-validate-code" => "CodeSystem/$validate-code",
                "lookup" => "CodeSystem/$lookup",
                "translate" => "ConceptMap/$translate",
                "batch-validate" => "ValueSet/$batch-validate-code",
                _ => throw new NotSupportedException($"operation {test.Operation}"),
            };
            using var message = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new StringContent(request.ToJsonString(), Encoding.UTF8, "application/fhir+json"),
            };
            message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
            if ((string?)test.Test["Accept-Language"] is { } lang)
            {
                message.Headers.TryAddWithoutValidation("Accept-Language", lang);
            }

            using var response = await client.SendAsync(message);
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync();
            JsonObject actual;
            try
            {
                actual = JsonNode.Parse(body) as JsonObject ?? throw new JsonException("not an object");
            }
            catch (JsonException)
            {
                return new TxTestResult(test, false, $"HTTP {status}, body is not JSON: {Truncate(body)}", status);
            }

            FhirVersionConverter.ToR5(actual);
            TxResponseScrubber.Scrub(actual, Tight);
            SortMessages(actual);
            var responseFile = ChooseResponse(test.Test);
            var expected = Load(responseFile);
            var diff = new TxTemplateComparer(Modes, ServerVersion, Externals?[responseFile] as JsonObject).Compare(expected, actual);
            var code = (string?)test.Test["http-code"] ?? "2xx";
            if (diff is null && !HttpCodeOk(code, status))
            {
                diff = $"Response Code fail: should be '{code}' but is '{status}'";
            }

            if (diff is not null && dumpFolder is not null)
            {
                var dir = Path.Combine(dumpFolder, test.Suite);
                Directory.CreateDirectory(dir);
                var pretty = new JsonSerializerOptions { WriteIndented = true };
                File.WriteAllText(Path.Combine(dir, test.Name + ".actual.json"), actual.ToJsonString(pretty));
                File.WriteAllText(Path.Combine(dir, test.Name + ".expected.json"), expected.ToJsonString(pretty));
                File.WriteAllText(Path.Combine(dir, test.Name + ".request.json"), request.ToJsonString(pretty));
                File.WriteAllText(Path.Combine(dir, test.Name + ".raw.json"), body);
            }

            return new TxTestResult(test, diff is null, diff is null ? null : $"HTTP {status}: {diff}", status);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or IOException or InvalidOperationException or NotSupportedException)
        {
            return new TxTestResult(test, false, $"{e.GetType().Name}: {e.Message}", 0);
        }
    }

    private static string ChooseResponse(JsonObject test)
    {
        foreach (var mode in Modes)
        {
            if ((string?)test["response:" + mode] is { } r)
            {
                return r;
            }
        }

        return (string)test["response"]!;
    }

    /// <summary>As the HL7 runner does (TxTesterSorters): a <c>message</c> made of "; "-separated parts has its parts sorted.</summary>
    private static void SortMessages(JsonObject resource)
    {
        if ((string?)resource["resourceType"] != "Parameters")
        {
            return;
        }

        foreach (var p in resource["parameter"] as JsonArray ?? [])
        {
            if (p is not JsonObject parameter)
            {
                continue;
            }

            if ((string?)parameter["name"] == "message" && (string?)parameter["valueString"] is { } text && text.Contains("; ", StringComparison.Ordinal))
            {
                var parts = text.Split("; ").ToList();
                parts.Sort(string.CompareOrdinal);
                parameter["valueString"] = string.Join("; ", parts);
            }

            if (parameter["resource"] is JsonObject inner)
            {
                SortMessages(inner);
            }
        }
    }

    private static bool HttpCodeOk(string expected, int actual) => expected switch
    {
        "2xx" => actual is >= 200 and < 300,
        "3xx" => actual is >= 300 and < 400,
        "4xx" => actual is >= 400 and < 500,
        "5xx" => actual is >= 500 and < 600,
        _ => int.TryParse(expected, out var exact) && exact == actual,
    };

    private static string Truncate(string s) => s.Length <= 300 ? s : s[..300] + "…";
}
