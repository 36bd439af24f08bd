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
/// The hit path is the warm path of validation, so it allocates nothing: the key is written into a per-thread buffer and
/// looked up as a span (no key string), and the entry is the immutable <see cref="CodeValidationResult"/>, which the typed
/// API returns as it is and the Parameters API copies (<see cref="CodeValidationResult.ToParameters"/>). Requests of the
/// typed API have keys of their own. Hand-written: IMemoryCache would do, but costs more per hit than the answer it saves.
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

    private sealed record Entry(int Generation, CodeValidationResult Result);

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

    /// <summary>
    /// The key of a request of the typed API (<see cref="IgiaTerminologyService.ValidateCodeAsync"/>), written into the
    /// per-thread buffer (valid until the next call on this thread). Its own prefix keeps it apart from Parameters keys.
    /// </summary>
    public static ReadOnlySpan<char> TypedKey(string valueSetUrl, string system, string code, string? display, string? systemVersion)
    {
        var w = new KeyWriter(t_buffer ??= new char[256]);
        w.Append('t');
        w.Append('\u001f');
        w.Append(valueSetUrl);
        w.Append('\u001e');
        w.Append(system);
        w.Append('\u001e');
        w.Append(code);
        w.Append('\u001e');
        w.Append(display);
        w.Append('\u001e');
        w.Append(systemVersion);
        t_buffer = w.Buffer;
        return w.Written;
    }

    /// <summary>The remembered result, or null.</summary>
    public CodeValidationResult? Get(ReadOnlySpan<char> key, int generation) =>
        _bySpan.TryGetValue(key, out var e) && e.Generation == generation ? e.Result : null;

    /// <summary>Remembers an answer of the engine (a deep copy of it, so the caller may change its own).</summary>
    public void Set(ReadOnlySpan<char> key, int generation, Parameters answer) =>
        Set(key, generation, CodeValidationResult.Of((Parameters)answer.DeepCopy()));

    /// <summary>Remembers a result.</summary>
    public void Set(ReadOnlySpan<char> key, int generation, CodeValidationResult result)
    {
        if (_entries.Count >= _capacity)
        {
            _entries.Clear();
        }

        _bySpan[key] = new Entry(generation, result);
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
