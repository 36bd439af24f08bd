using System.Collections.Concurrent;
using System.Globalization;
using Hl7.Fhir.Model;

namespace Igia.Terminology.Internal;

/// <summary>
/// Remembers the answers of <c>$validate-code</c> requests that name their value set or code system by URL and carry only
/// codes (no <c>tx-resource</c>, no inline value set): the same request against the same content always gets the same
/// answer, so a repeated one is answered from memory. Entries are tied to the content's generation, so adding or removing a
/// CodeSystem or ValueSet (store sync, <see cref="ITerminologyContent"/>) makes them stale. Bounded: when full it starts over
/// (a request costs a few microseconds to recompute, so a simple policy is enough).
/// </summary>
/// <remarks>
/// The hit path is the warm path of validation, so it allocates only the answer: the key is written into a per-thread
/// buffer and looked up as a span (no key string), and the answer is a new Parameters with new parameter entries and new
/// primitive values, sharing only complex values and the <c>issues</c> OperationOutcome with the remembered answer (see
/// <see cref="Answer"/>); the remembered answer is prepared once for copying, so a hit does no type tests. Hand-written:
/// IMemoryCache would do, but costs more per hit than the answer it saves.
/// </remarks>
internal sealed class ValidateCodeResultCache
{
    [ThreadStatic]
    private static char[]? t_buffer;

    private readonly int _capacity;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public ValidateCodeResultCache(int capacity)
    {
        _capacity = capacity;
        _bySpan = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    private sealed record Entry(int Generation, Answer Answer);

    /// <summary>
    /// The key of a cacheable request, written into a per-thread buffer (valid until the next call on this thread), or false
    /// when the request carries anything but primitive values and codes.
    /// </summary>
    public static bool TryKeyOf(TerminologyOperation operation, Parameters parameters, TerminologyCallContext context, out ReadOnlySpan<char> key)
    {
        var w = new KeyWriter(t_buffer ??= new char[256]);
        w.Append((char)('0' + (int)operation));
        w.Append('\u001f');
        w.Append(context.Id);
        w.Append('\u001f');
        w.Append(context.AcceptLanguage);
        var list = parameters.Parameter;
        for (var i = 0; i < list.Count; i++)
        {
            var p = list[i];
            if (p.Resource is not null || p.Part.Count > 0 || p.Name is null)
            {
                key = default;
                return false;
            }

            w.Append('\u001e');
            w.Append(p.Name);
            w.Append('=');
            switch (p.Value)
            {
                case PrimitiveType primitive when primitive.Extension.Count == 0:
                    w.Append(primitive.TypeName);
                    w.Append(':');
                    AppendPrimitive(ref w, primitive);
                    break;
                case Coding c when c.Extension.Count == 0:
                    AppendCoding(ref w, c);
                    break;
                case CodeableConcept cc when cc.Extension.Count == 0 && cc.Coding.TrueForAll(c => c.Extension.Count == 0):
                    w.Append("cc:");
                    w.Append(cc.Text);
                    foreach (var c in cc.Coding)
                    {
                        w.Append('\u001d');
                        AppendCoding(ref w, c);
                    }

                    break;
                default:
                    key = default;
                    return false;
            }
        }

        t_buffer = w.Buffer;
        key = w.Written;
        return true;
    }

    private static void AppendPrimitive(ref KeyWriter w, PrimitiveType primitive)
    {
        switch (primitive.JsonValue)
        {
            case string s:
                w.Append(s);
                break;
            case bool b:
                w.Append(b ? "true" : "false");
                break;
            case ISpanFormattable f:
                w.AppendFormatted(f);
                break;
            case IFormattable f:
                w.Append(f.ToString(null, CultureInfo.InvariantCulture));
                break;
            case { } o:
                w.Append(o.ToString());
                break;
        }
    }

    private static void AppendCoding(ref KeyWriter w, Coding c)
    {
        w.Append("c:");
        w.Append(c.System);
        w.Append('|');
        w.Append(c.Version);
        w.Append('|');
        w.Append(c.Code);
        w.Append('|');
        w.Append(c.Display);
        w.Append('|');
        w.Append(c.UserSelected is { } u ? (u ? "1" : "0") : "");
    }

    /// <summary>The remembered answer (as a copy the caller may change at the top level), or null.</summary>
    public Parameters? Get(ReadOnlySpan<char> key, int generation) =>
        _bySpan.TryGetValue(key, out var e) && e.Generation == generation ? e.Answer.Copy() : null;

    /// <summary>Remembers an answer (a deep copy of it, so the caller may change its own).</summary>
    public void Set(ReadOnlySpan<char> key, int generation, Parameters result)
    {
        if (_entries.Count >= _capacity)
        {
            _entries.Clear();
        }

        _bySpan[key] = new Entry(generation, new Answer((Parameters)result.DeepCopy()));
    }

    /// <summary>
    /// A remembered answer, prepared once for copying: for each parameter its name and how to make its value (a new
    /// primitive of a known type from its raw value, or the shared complex value), so that a hit does no type tests.
    /// <see cref="Copy"/> makes the Parameters, its parameter entries and their primitive values new; complex values and
    /// resources (the <c>issues</c> OperationOutcome) are shared with the cache, so they are read-only to callers.
    /// </summary>
    private sealed class Answer
    {
        private readonly Item[] _items;

        public Answer(Parameters source)
        {
            _items = [.. source.Parameter.Select(Item.Of)];
        }

        public Parameters Copy()
        {
            var items = _items;
            var to = new List<Parameters.ParameterComponent>(items.Length);
            for (var i = 0; i < items.Length; i++)
            {
                to.Add(items[i].Copy());
            }

            return new Parameters { Parameter = to };
        }
    }

    private enum Kind
    {
        /// <summary>No value, or a complex value shared with the cache.</summary>
        Shared,

        /// <summary>A primitive that is copied with <c>DeepCopy</c> (a type without a case of its own, or with an id or extensions).</summary>
        DeepCopy,
        Boolean,
        Code,
        String,
        Uri,
        Canonical,
    }

    /// <summary>One parameter of a remembered answer.</summary>
    private readonly record struct Item(string? Name, Kind Kind, DataType? Value, string? Text, bool Flag, Resource? Resource, Parameters.ParameterComponent[]? Parts)
    {
        public static Item Of(Parameters.ParameterComponent p)
        {
            Parameters.ParameterComponent[]? parts = p.Part.Count > 0 ? [.. p.Part] : null;
            var (kind, text, flag) = p.Value switch
            {
                not PrimitiveType => (Kind.Shared, null, false),
                PrimitiveType x when x.ElementId is not null || x.Extension.Count > 0 => (Kind.DeepCopy, null, false),

                // Exact types only: several FHIR primitives derive from these.
                FhirBoolean { Value: { } b } x when x.GetType() == typeof(FhirBoolean) => (Kind.Boolean, null, b),
                Code c when c.GetType() == typeof(Code) => (Kind.Code, c.Value, false),
                FhirString s when s.GetType() == typeof(FhirString) => (Kind.String, s.Value, false),
                FhirUri u when u.GetType() == typeof(FhirUri) => (Kind.Uri, u.Value, false),
                Canonical c when c.GetType() == typeof(Canonical) => (Kind.Canonical, c.Value, false),
                _ => (Kind.DeepCopy, (string?)null, false),
            };

            return new Item(p.Name, kind, p.Value, text, flag, p.Resource, parts);
        }

        public Parameters.ParameterComponent Copy()
        {
            DataType? value = Kind switch
            {
                Kind.Boolean => new FhirBoolean(Flag),
                Kind.Code => new Code(Text),
                Kind.String => new FhirString(Text),
                Kind.Uri => new FhirUri(Text),
                Kind.Canonical => new Canonical(Text),
                Kind.DeepCopy => (DataType)Value!.DeepCopy(),
                _ => Value,
            };

            var copy = new Parameters.ParameterComponent { Value = value, Resource = Resource };
            if (Name is not null)
            {
                copy.NameElement = new FhirString(Name);
            }

            if (Parts is not null)
            {
                var parts = new List<Parameters.ParameterComponent>(Parts.Length);
                foreach (var part in Parts)
                {
                    parts.Add((Parameters.ParameterComponent)part.DeepCopy());
                }

                copy.Part = parts;
            }

            return copy;
        }
    }

    /// <summary>Appends to a char buffer, growing it (the grown buffer is kept for the thread).</summary>
    private ref struct KeyWriter(char[] buffer)
    {
        private int _length;

        public char[] Buffer { get; private set; } = buffer;

        public readonly ReadOnlySpan<char> Written => Buffer.AsSpan(0, _length);

        public void Append(char c)
        {
            Ensure(1);
            Buffer[_length++] = c;
        }

        public void Append(string? s)
        {
            if (s is null)
            {
                return;
            }

            Ensure(s.Length);
            s.CopyTo(Buffer.AsSpan(_length));
            _length += s.Length;
        }

        public void AppendFormatted(ISpanFormattable f)
        {
            int written;
            while (!f.TryFormat(Buffer.AsSpan(_length), out written, default, CultureInfo.InvariantCulture))
            {
                Ensure(Buffer.Length);
            }

            _length += written;
        }

        private void Ensure(int more)
        {
            if (_length + more > Buffer.Length)
            {
                var bigger = new char[Math.Max(Buffer.Length * 2, _length + more)];
                Buffer.AsSpan(0, _length).CopyTo(bigger);
                Buffer = bigger;
            }
        }
    }
}
