using System.Collections.Concurrent;
using System.Text;
using Hl7.Fhir.Model;

namespace Igia.Terminology.Internal;

/// <summary>
/// Remembers the answers of <c>$validate-code</c> requests that name their value set or code system by URL and carry only
/// codes (no <c>tx-resource</c>, no inline value set): the same request against the same content always gets the same
/// answer, so a repeated one is answered with a copy of the first. Entries are tied to the content's generation, so adding or
/// removing a CodeSystem or ValueSet (store sync, <see cref="ITerminologyContent"/>) makes them stale. Bounded: when full it
/// starts over (a request costs a few microseconds to recompute, so a simple policy is enough).
/// </summary>
/// <remarks>Hand-written: IMemoryCache would do, but costs more per hit than the answer it saves on this path.</remarks>
internal sealed class ValidateCodeResultCache(int capacity)
{
    [ThreadStatic]
    private static StringBuilder? t_builder;

    private readonly ConcurrentDictionary<string, (int Generation, Parameters Result)> _entries = new(StringComparer.Ordinal);

    /// <summary>The key of a cacheable request, or null when the request carries anything but primitive values and codes.</summary>
    public static string? KeyOf(TerminologyOperation operation, Parameters parameters, TerminologyCallContext context)
    {
        var b = t_builder ??= new StringBuilder(256);
        b.Clear();
        b.Append((int)operation).Append('\u001f').Append(context.Id).Append('\u001f').Append(context.AcceptLanguage);
        foreach (var p in parameters.Parameter)
        {
            if (p.Resource is not null || p.Part.Count > 0 || p.Name is null)
            {
                return null;
            }

            b.Append('\u001e').Append(p.Name).Append('=');
            switch (p.Value)
            {
                case PrimitiveType primitive when primitive.Extension.Count == 0:
                    b.Append(primitive.GetType().Name).Append(':').Append(primitive.JsonValue switch
                    {
                        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
                        var o => o?.ToString(),
                    });
                    break;
                case Coding c when c.Extension.Count == 0:
                    AppendCoding(b, c);
                    break;
                case CodeableConcept cc when cc.Extension.Count == 0 && cc.Coding.All(c => c.Extension.Count == 0):
                    b.Append("cc:").Append(cc.Text);
                    foreach (var c in cc.Coding)
                    {
                        b.Append('\u001d');
                        AppendCoding(b, c);
                    }

                    break;
                default:
                    return null;
            }
        }

        return b.ToString();
    }

    private static void AppendCoding(StringBuilder b, Coding c) =>
        b.Append("c:").Append(c.System).Append('|').Append(c.Version).Append('|').Append(c.Code).Append('|').Append(c.Display)
            .Append('|').Append(c.UserSelected is { } u ? (u ? "1" : "0") : "");

    /// <summary>A copy of the remembered answer, or null.</summary>
    public Parameters? Get(string key, int generation) =>
        _entries.TryGetValue(key, out var e) && e.Generation == generation ? (Parameters)e.Result.DeepCopy() : null;

    /// <summary>Remembers an answer (a copy of it, so the caller may change its own).</summary>
    public void Set(string key, int generation, Parameters result)
    {
        if (_entries.Count >= capacity)
        {
            _entries.Clear();
        }

        _entries[key] = (generation, (Parameters)result.DeepCopy());
    }
}
