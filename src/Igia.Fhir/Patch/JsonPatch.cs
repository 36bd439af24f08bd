// Hand-written: an RFC 6902 applier over System.Text.Json.Nodes; Firely has no JSON Patch and no NuGet library fitted (below).
// Why not Microsoft.AspNetCore.JsonPatch.SystemTextJson 10.0.12 (tried on JsonNode): copying a primitive fails, a test against
// null fails, "remove /a/-" deletes the last item, unknown "op"s are skipped silently, the root path "" throws
// ArgumentNullException, and its error messages quote data values. (JsonPatch.Net is not available.)
using System.Globalization;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;

namespace Igia.Fhir.Patch;

/// <summary>
/// Applies a JSON Patch (RFC 6902, paths are JSON Pointers per RFC 6901) to the FHIR JSON form of a resource.
/// Operations: add, remove, replace, move, copy and test.
/// </summary>
internal static class JsonPatch
{
    /// <summary>Applies <paramref name="patchDocument"/> to the FHIR JSON of <paramref name="input"/>; neither argument is changed.</summary>
    /// <returns>The patched resource, parsed again from JSON; it has the same resourceType as the input.</returns>
    /// <exception cref="FhirPatchException">
    /// The patch is malformed, an operation cannot be applied, a test fails, the resourceType would change, or the result is not valid FHIR.
    /// </exception>
    public static Resource Apply(Resource input, JsonNode patchDocument)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(patchDocument);

        var patched = ApplyToJson(PatchedResource.ToJson(input), patchDocument);
        if (patched is not JsonObject resource
            || resource["resourceType"] is not JsonValue type
            || !type.TryGetValue<string>(out var typeName)
            || typeName != input.TypeName)
        {
            throw new FhirPatchException($"A patch may not change or remove the resourceType ('{input.TypeName}').");
        }

        return PatchedResource.FromJson(patched);
    }

    /// <summary>
    /// Applies an RFC 6902 patch to any JSON document. <paramref name="document"/> is changed in place, and left half-patched
    /// when an operation fails; pass a copy if the original matters.
    /// </summary>
    /// <returns>The patched document (a different node only when an operation replaces the whole document).</returns>
    /// <exception cref="FhirPatchException">The patch is malformed, an operation cannot be applied, or a test fails.</exception>
    public static JsonNode? ApplyToJson(JsonNode? document, JsonNode patchDocument)
    {
        if (patchDocument is not JsonArray operations)
        {
            throw new FhirPatchException("A JSON Patch document must be a JSON array of operations.");
        }

        for (var i = 0; i < operations.Count; i++)
        {
            document = ApplyOperation(document, operations[i], i);
        }

        return document;
    }

    private static JsonNode? ApplyOperation(JsonNode? document, JsonNode? node, int index)
    {
        if (node is not JsonObject operation)
        {
            throw new FhirPatchException($"JSON Patch operation {index}: an operation must be a JSON object.");
        }

        var op = Member(operation, "op", $"JSON Patch operation {index}");
        var path = Member(operation, "path", $"JSON Patch operation {index} ('{op}')");
        var at = $"JSON Patch operation {index} ('{op}' at '{path}')";
        var target = Pointer.Parse(path, "path", at);
        switch (op)
        {
            case "add":
                return Add(document, target, Value(operation, at), at);
            case "remove":
                Remove(document, target, at);
                return document;
            case "replace":
                return Replace(document, target, Value(operation, at), at);
            case "move":
            {
                var from = Pointer.Parse(Member(operation, "from", at), "from", at);
                if (from.IsProperPrefixOf(target))
                {
                    throw new FhirPatchException($"{at}: a value cannot be moved into one of its own children.");
                }

                return Add(document, target, Remove(document, from, at), at);
            }

            case "copy":
            {
                var from = Pointer.Parse(Member(operation, "from", at), "from", at);
                return Add(document, target, Get(document, from, at)?.DeepClone(), at);
            }

            case "test":
                return JsonNode.DeepEquals(Get(document, target, at), Value(operation, at))
                    ? document
                    : throw new FhirPatchException($"{at}: test failed, the value at the path is not equal to the given value.");
            default:
                throw new FhirPatchException($"{at}: unknown operation; expected add, remove, replace, move, copy or test.");
        }
    }

    private static JsonNode? Add(JsonNode? document, Pointer target, JsonNode? value, string at)
    {
        if (target.IsRoot)
        {
            return value;
        }

        switch (Parent(document, target, at))
        {
            case JsonObject parent:
                parent[target.Last] = value;
                break;
            case JsonArray parent when target.Last == "-":
                parent.Add(value);
                break;
            case JsonArray parent:
                parent.Insert(ArrayIndex(target, parent.Count, allowEnd: true, at), value);
                break;
        }

        return document;
    }

    /// <summary>Removes the value at <paramref name="target"/> and returns it.</summary>
    private static JsonNode? Remove(JsonNode? document, Pointer target, string at)
    {
        if (target.IsRoot)
        {
            throw new FhirPatchException($"{at}: the whole document cannot be removed.");
        }

        var value = Get(document, target, at);
        switch (Parent(document, target, at))
        {
            case JsonObject parent:
                parent.Remove(target.Last);
                break;
            case JsonArray parent:
                parent.RemoveAt(ArrayIndex(target, parent.Count, allowEnd: false, at));
                break;
        }

        return value;
    }

    private static JsonNode? Replace(JsonNode? document, Pointer target, JsonNode? value, string at)
    {
        Get(document, target, at); // RFC 6902: the target location must exist.
        if (target.IsRoot)
        {
            return value;
        }

        switch (Parent(document, target, at))
        {
            case JsonObject parent:
                parent[target.Last] = value;
                break;
            case JsonArray parent:
                parent[ArrayIndex(target, parent.Count, allowEnd: false, at)] = value;
                break;
        }

        return document;
    }

    /// <summary>The value at <paramref name="pointer"/>, which must exist (it may be JSON null).</summary>
    private static JsonNode? Get(JsonNode? document, Pointer pointer, string at)
    {
        var node = document;
        for (var depth = 0; depth < pointer.Tokens.Count; depth++)
        {
            var token = pointer.Tokens[depth];
            node = node switch
            {
                JsonObject o when o.TryGetPropertyValue(token, out var child) => child,
                JsonArray a => a[ArrayIndex(pointer.Prefix(depth + 1), a.Count, allowEnd: false, at)],
                _ => throw new FhirPatchException($"{at}: the location '{pointer.Prefix(depth + 1)}' does not exist."),
            };
        }

        return node;
    }

    /// <summary>The object or array that holds (or will hold) the last token of <paramref name="target"/>.</summary>
    private static JsonNode Parent(JsonNode? document, Pointer target, string at)
    {
        var parentPointer = target.Prefix(target.Tokens.Count - 1);
        return Get(document, parentPointer, at) switch
        {
            JsonObject o => o,
            JsonArray a => a,
            _ => throw new FhirPatchException($"{at}: the location '{parentPointer}' is not an object or array."),
        };
    }

    /// <summary>
    /// The array index in the pointer's last token: decimal digits without leading zeros, at most <paramref name="count"/>
    /// (the end of the array, where an add may insert) or below it.
    /// </summary>
    private static int ArrayIndex(Pointer pointer, int count, bool allowEnd, string at)
    {
        var token = pointer.Last;
        if (token.Length == 0 || (token.Length > 1 && token[0] == '0') || !token.All(char.IsAsciiDigit)
            || !int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            throw new FhirPatchException($"{at}: '{token}' in '{pointer}' is not a valid array index.");
        }

        return index < count || (allowEnd && index == count)
            ? index
            : throw new FhirPatchException($"{at}: the array index in '{pointer}' is out of range; the array has {count} element(s).");
    }

    private static string Member(JsonObject operation, string name, string at) =>
        operation[name] is JsonValue value && value.TryGetValue<string>(out var text)
            ? text
            : throw new FhirPatchException($"{at}: the member '{name}' is missing or not a string.");

    /// <summary>The operation's "value" member (which may be JSON null), detached from the patch document.</summary>
    private static JsonNode? Value(JsonObject operation, string at) =>
        operation.TryGetPropertyValue("value", out var value)
            ? value?.DeepClone()
            : throw new FhirPatchException($"{at}: the member 'value' is missing.");

    /// <summary>A parsed JSON Pointer (RFC 6901).</summary>
    private sealed class Pointer
    {
        private readonly string _text;

        private Pointer(string text, IReadOnlyList<string> tokens)
        {
            _text = text;
            Tokens = tokens;
        }

        /// <summary>The unescaped reference tokens; empty for the whole document.</summary>
        public IReadOnlyList<string> Tokens { get; }

        public bool IsRoot => Tokens.Count == 0;

        public string Last => Tokens[^1];

        public static Pointer Parse(string text, string member, string at)
        {
            if (text.Length == 0)
            {
                return new Pointer(text, []);
            }

            if (text[0] != '/')
            {
                throw new FhirPatchException($"{at}: '{member}' is not a JSON Pointer; it must be empty or start with '/'.");
            }

            var tokens = text[1..].Split('/');
            for (var i = 0; i < tokens.Length; i++)
            {
                var token = tokens[i];
                for (var c = token.IndexOf('~'); c >= 0; c = token.IndexOf('~', c + 1))
                {
                    if (c + 1 == token.Length || (token[c + 1] != '0' && token[c + 1] != '1'))
                    {
                        throw new FhirPatchException($"{at}: '{member}' has a '~' not followed by 0 or 1.");
                    }
                }

                tokens[i] = token.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            }

            return new Pointer(text, tokens);
        }

        /// <summary>The pointer to the first <paramref name="count"/> tokens.</summary>
        public Pointer Prefix(int count) =>
            count == Tokens.Count ? this : new Pointer(string.Concat(Tokens.Take(count).Select(t => "/" + Escape(t))), Tokens.Take(count).ToArray());

        public bool IsProperPrefixOf(Pointer other) =>
            Tokens.Count < other.Tokens.Count && Tokens.SequenceEqual(other.Tokens.Take(Tokens.Count));

        public override string ToString() => _text;

        private static string Escape(string token) =>
            token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
    }
}
