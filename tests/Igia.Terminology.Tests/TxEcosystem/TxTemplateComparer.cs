using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Igia.Terminology.Tests.TxEcosystem;

/// <summary>
/// Compares an actual response with an expected one under the suite's template rules (readme.md and the IG's test-case
/// documentation): <c>$optional-properties$</c> (with <c>*</c>), <c>$count-arrays$</c>, <c>$optional$</c> and <c>$only$</c>
/// with their filters (<c>true</c>, <c>mode</c>, <c>!mode</c>, <c>version:N</c>, <c>warning:…</c>), and the string templates
/// <c>$$</c>, <c>$id$</c>, <c>$uuid$</c>, <c>$instant$</c>, <c>$url$</c>, <c>$token$</c>, <c>$string$</c>, <c>$date$</c>,
/// <c>$semver$</c>, <c>$version$</c>, <c>$choice:…$</c>, <c>$fragments:…$</c> and <c>$external:N[:fragments]$</c> (without an
/// externals file: the fragments, or anything). Array order never matters. Two consequences of FHIR JSON are applied: an
/// array whose items are all optional may be absent, and an OperationOutcome issue's <c>location</c> (which only repeats
/// <c>expression</c>, and which the reference server does not send) may be absent.
/// </summary>
internal sealed partial class TxTemplateComparer(IReadOnlySet<string> modes, string serverVersion, JsonObject? externals = null)
{
    /// <summary>Null when the actual response matches the expected template; otherwise the first difference.</summary>
    public string? Compare(JsonObject expected, JsonObject actual) => CompareObjects("", expected, actual);

    private string? CompareObjects(string path, JsonObject expected, JsonObject actual)
    {
        var optional = new HashSet<string>(StringComparer.Ordinal);
        var allOptional = false;
        if (expected["$optional-properties$"] is JsonArray opts)
        {
            foreach (var o in opts)
            {
                var name = (string?)o;
                if (name == "*")
                {
                    allOptional = true;
                }
                else if (name is not null)
                {
                    optional.Add(name);
                }
            }
        }

        var countOnly = new HashSet<string>(StringComparer.Ordinal);
        if (expected["$count-arrays$"] is JsonArray counts)
        {
            foreach (var c in counts)
            {
                if ((string?)c is { } name)
                {
                    countOnly.Add(name);
                }
            }
        }

        foreach (var (name, value) in actual)
        {
            if (name == "fhir_comments")
            {
                continue;
            }

            if (!expected.ContainsKey(name) || (expected[name] is JsonObject eo && Only(eo) == false))
            {
                return $"properties differ at {path}: unexpected property {name}";
            }

            var s = CompareNodes($"{path}.{name}", expected[name], value, countOnly.Contains(name));
            if (s is not null)
            {
                return s;
            }
        }

        foreach (var (name, value) in expected)
        {
            if (name.StartsWith('$') || name == "fhir_comments" || actual.ContainsKey(name))
            {
                continue;
            }

            if (allOptional || optional.Contains(name) || (value is JsonObject vo && (IsOptional(vo) || Only(vo) == false)))
            {
                continue;
            }

            // An array whose every item may be omitted may be absent altogether: FHIR JSON has no empty arrays.
            if (value is JsonArray va && va.Count > 0 && va.All(item => item is JsonObject io && (IsOptional(io) || Only(io) == false)))
            {
                continue;
            }

            // OperationOutcome.issue.location duplicates expression (deprecated in R5). The reference server (tx.fhir.org,
            // FHIRsmith) sends expression only, and older expected responses still list location: it may be absent.
            if (name == "location" && expected.ContainsKey("severity") && expected.ContainsKey("code") && expected.ContainsKey("expression"))
            {
                continue;
            }

            return $"properties differ at {path}: missing property {name}";
        }

        return null;
    }

    private string? CompareNodes(string path, JsonNode? expected, JsonNode? actual, bool countOnly)
    {
        switch (expected)
        {
            case JsonObject eo:
                return actual is JsonObject ao ? CompareObjects(path, eo, ao) : $"properties differ at {path}: expected an object, found {Kind(actual)}";
            case JsonArray ea:
                if (actual is not JsonArray aa)
                {
                    return $"properties differ at {path}: expected an array, found {Kind(actual)}";
                }

                return countOnly
                    ? ea.Count == aa.Count ? null : $"array item count differs at {path}: expected {ea.Count}, found {aa.Count}"
                    : CompareArrays(path, ea, aa);
            case JsonValue ev:
                if (actual is not JsonValue av)
                {
                    return $"properties differ at {path}: expected a primitive, found {Kind(actual)}";
                }

                return ComparePrimitives(path, ev, av);
            default:
                return actual is null ? null : $"null property differs at {path}";
        }
    }

    private string? ComparePrimitives(string path, JsonValue expected, JsonValue actual)
    {
        var ek = expected.GetValueKind();
        var ak = actual.GetValueKind();
        if (ek is JsonValueKind.True or JsonValueKind.False && ak is JsonValueKind.True or JsonValueKind.False)
        {
            return ek == ak ? null : $"boolean property values differ at {path}: expected {ek}, found {ak}";
        }

        if (ek == JsonValueKind.String && ak == JsonValueKind.String)
        {
            var e = expected.GetValue<string>();
            var a = actual.GetValue<string>();
            if (e.Contains("<div", StringComparison.Ordinal) && a.Contains("<div", StringComparison.Ordinal))
            {
                return null;
            }

            return Matches(a, e) ? null : $"string property values differ at {path}\n      Expected: {Present(e)}\n      Actual  : \"{a}\"";
        }

        if (ek == JsonValueKind.Number && ak == JsonValueKind.Number)
        {
            var e = expected.ToJsonString();
            var a = actual.ToJsonString();
            return e == a || (decimal.TryParse(e, NumberStyles.Float, CultureInfo.InvariantCulture, out var de)
                && decimal.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var da) && de == da && e.Contains('.') == a.Contains('.'))
                ? null
                : $"number property values differ at {path}: expected {e}, found {a}";
        }

        return $"property types differ at {path}: expected {expected.ToJsonString()}, found {actual.ToJsonString()}";
    }

    private string? CompareArrays(string path, JsonArray expected, JsonArray actual)
    {
        // Expected items that must not appear at all ($only$ that does not apply) are taken out first.
        var items = new List<(JsonNode? Node, bool Optional)>();
        foreach (var e in expected)
        {
            if (e is JsonObject eo)
            {
                var only = Only(eo);
                if (only == false)
                {
                    continue;
                }

                items.Add((e, only != true && IsOptional(eo)));
            }
            else
            {
                items.Add((e, false));
            }
        }

        var required = items.Count(i => !i.Optional);
        if (actual.Count > items.Count || actual.Count < required)
        {
            return $"array item count differs at {path}: expected {(required == items.Count ? items.Count.ToString(CultureInfo.InvariantCulture) : $"{required}..{items.Count}")}, found {actual.Count}"
                + FirstUnmatched(path, items, actual);
        }

        // Bipartite matching of actual items to expected items (Kuhn's algorithm), trying the same index first.
        var cache = new Dictionary<(int, int), string?>();
        string? Diff(int a, int e)
        {
            if (!cache.TryGetValue((a, e), out var d))
            {
                d = CompareNodes($"{path}[{a}]", items[e].Node, actual[a], false);
                cache[(a, e)] = d;
            }

            return d;
        }

        var matchOfExpected = new int[items.Count];
        Array.Fill(matchOfExpected, -1);
        var matchOfActual = new int[actual.Count];
        Array.Fill(matchOfActual, -1);

        // Greedy pass: the same index, then the first free compatible item.
        for (var a = 0; a < actual.Count; a++)
        {
            if (a < items.Count && matchOfExpected[a] < 0 && Diff(a, a) is null)
            {
                matchOfExpected[a] = a;
                matchOfActual[a] = a;
            }
        }

        for (var a = 0; a < actual.Count; a++)
        {
            if (matchOfActual[a] >= 0)
            {
                continue;
            }

            for (var e = 0; e < items.Count; e++)
            {
                if (matchOfExpected[e] < 0 && Diff(a, e) is null)
                {
                    matchOfExpected[e] = a;
                    matchOfActual[a] = e;
                    break;
                }
            }
        }

        bool TryAugment(int a, bool[] seen)
        {
            for (var e = 0; e < items.Count; e++)
            {
                if (seen[e] || Diff(a, e) is not null)
                {
                    continue;
                }

                seen[e] = true;
                if (matchOfExpected[e] < 0 || TryAugment(matchOfExpected[e], seen))
                {
                    matchOfExpected[e] = a;
                    matchOfActual[a] = e;
                    return true;
                }
            }

            return false;
        }

        for (var a = 0; a < actual.Count; a++)
        {
            if (matchOfActual[a] < 0 && !TryAugment(a, new bool[items.Count]))
            {
                // Report the difference against the closest candidate: an expected item with the same key (name, code, url,
                // issue type), else the same index, else the first unmatched expected item.
                var key = KeyOf(actual[a]);
                var candidate = key is null ? -1 : Enumerable.Range(0, items.Count).FirstOrDefault(e => KeyOf(items[e].Node) == key && matchOfExpected[e] < 0, -1);
                if (candidate < 0 && key is not null)
                {
                    candidate = Enumerable.Range(0, items.Count).FirstOrDefault(e => KeyOf(items[e].Node) == key, -1);
                }

                if (candidate < 0)
                {
                    candidate = a < items.Count ? a : Array.FindIndex(matchOfExpected, m => m < 0);
                }
                var reason = candidate >= 0 ? Diff(a, candidate) : null;
                return $"no expected item matches the actual item at {path}[{a}]" + (reason is null ? "" : $" (closest: {reason})");
            }
        }

        for (var e = 0; e < items.Count; e++)
        {
            if (matchOfExpected[e] < 0 && !items[e].Optional)
            {
                return $"expected item {path}[{e}] is missing: {Summarise(items[e].Node)}";
            }
        }

        return null;
    }

    private string FirstUnmatched(string path, List<(JsonNode? Node, bool Optional)> items, JsonArray actual)
    {
        // A hint for the reader of the failure: an actual item no expected item accepts, or a required expected item absent.
        for (var a = 0; a < actual.Count; a++)
        {
            if (!items.Any(i => CompareNodes(path, i.Node, actual[a], false) is null))
            {
                return $"; unexpected item: {Summarise(actual[a])}";
            }
        }

        foreach (var (node, optional) in items)
        {
            if (!optional && !actual.Any(a => CompareNodes(path, node, a, false) is null))
            {
                return $"; missing item: {Summarise(node)}";
            }
        }

        return "";
    }

    private static string? KeyOf(JsonNode? node) => node switch
    {
        JsonObject o when o["name"] is JsonValue n => "name:" + n.ToJsonString(),
        JsonObject o when o["code"] is JsonValue c && o["system"] is JsonValue sys => "code:" + sys.ToJsonString() + c.ToJsonString(),
        JsonObject o when o["url"] is JsonValue u => "url:" + u.ToJsonString(),
        JsonObject o when o["details"]?["coding"]?[0]?["code"] is JsonValue t => "issue:" + t.ToJsonString() + (o["severity"]?.ToJsonString() ?? ""),
        JsonObject o when o["code"] is JsonValue c => "code:" + c.ToJsonString(),
        _ => null,
    };

    private static string Summarise(JsonNode? node)
    {
        var s = node?.ToJsonString() ?? "null";
        return s.Length > 400 ? s[..400] + "…" : s;
    }

    private bool IsOptional(JsonObject o)
    {
        var value = o["$optional$"];
        if (value is null)
        {
            return false;
        }

        if (value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return v.GetValueKind() == JsonValueKind.True;
        }

        var filter = (string?)value ?? "";
        if (filter.StartsWith("warning:", StringComparison.Ordinal))
        {
            return true;
        }

        // "version:N": optional on a server of that FHIR version. "mode" is optional unless the runner is in that mode, and
        // "!mode" is optional only when the runner is not in that mode: either way, optional outside the mode.
        if (filter.StartsWith("version:", StringComparison.Ordinal))
        {
            return FilterPasses(filter);
        }

        return !modes.Contains(filter.TrimStart('!'));
    }

    /// <summary>For an <c>$only$</c> object: true when it applies (required), false when it must be absent, null without <c>$only$</c>.</summary>
    private bool? Only(JsonObject o) => o["$only$"] is JsonValue v ? FilterPasses((string?)v ?? "") : null;

    private bool FilterPasses(string filter)
    {
        if (filter.StartsWith('!'))
        {
            return !FilterPasses(filter[1..]);
        }

        if (filter.StartsWith("version:", StringComparison.Ordinal))
        {
            return serverVersion.StartsWith(filter["version:".Length..], StringComparison.Ordinal);
        }

        return modes.Contains(filter);
    }

    private bool Matches(string actual, string expected)
    {
        if (expected.Contains("$version$", StringComparison.Ordinal) && expected != "$version$")
        {
            expected = expected.Replace("$version$", serverVersion, StringComparison.Ordinal);
        }

        if (!(expected.Length > 1 && expected.StartsWith('$') && expected.EndsWith('$')))
        {
            return actual == expected;
        }

        if (expected.StartsWith("$choice:", StringComparison.Ordinal))
        {
            return expected[8..^1].Split('|').Contains(actual);
        }

        if (expected.StartsWith("$fragments:", StringComparison.Ordinal))
        {
            return expected[11..^1].Split('|').All(f => actual.Contains(f, StringComparison.OrdinalIgnoreCase));
        }

        if (expected.StartsWith("$external:", StringComparison.Ordinal))
        {
            var parts = expected[1..^1].Split(':', 3);
            if (externals is not null && (string?)externals[parts[1]] is { } text)
            {
                return actual == text;
            }

            return parts.Length <= 2 || parts[2].Split('|').All(f => actual.Contains(f, StringComparison.OrdinalIgnoreCase));
        }

        return expected switch
        {
            "$$" => true,
            "$instant$" => InstantPattern().IsMatch(actual),
            "$uuid$" => UuidPattern().IsMatch(actual),
            "$id$" => IdPattern().IsMatch(actual),
            "$url$" => Uri.TryCreate(actual, UriKind.Absolute, out _),
            "$token$" => actual.Length > 0 && !actual.Any(char.IsWhiteSpace),
            "$string$" => actual.Length > 0 && actual.Trim() == actual,
            "$date$" => DatePattern().IsMatch(actual),
            "$semver$" => SemverPattern().IsMatch(actual),
            "$version$" => actual == serverVersion,
            _ => throw new InvalidOperationException($"Unhandled template: {expected}"),
        };
    }

    private static string Present(string expected) =>
        expected.StartsWith("$fragments:", StringComparison.Ordinal) ? $"contains all of [{string.Join(", ", expected[11..^1].Split('|'))}]"
        : expected.StartsWith("$external:", StringComparison.Ordinal) ? $"contains all of [{string.Join(", ", (expected[1..^1].Split(':', 3).ElementAtOrDefault(2) ?? "").Split('|'))}] (external)"
        : expected.StartsWith("$choice:", StringComparison.Ordinal) ? $"one of [{string.Join(", ", expected[8..^1].Split('|'))}]"
        : $"\"{expected}\"";

    private static string Kind(JsonNode? node) => node switch
    {
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue => "a primitive",
        _ => "null",
    };

    [GeneratedRegex(@"^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$")]
    private static partial Regex InstantPattern();

    [GeneratedRegex("^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    private static partial Regex UuidPattern();

    [GeneratedRegex(@"^[A-Za-z0-9\-\.]{1,64}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$")]
    private static partial Regex DatePattern();

    [GeneratedRegex(@"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")]
    private static partial Regex SemverPattern();
}
