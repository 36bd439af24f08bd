using System.Collections.Concurrent;
using Fhir.Metrics;
using Hl7.Fhir.Model;

namespace Igia.Terminology.Engine;

/// <summary>
/// UCUM (<c>http://unitsofmeasure.org</c>): a code system defined by a grammar, not a list. A code is valid when Fhir.Metrics
/// parses it as a unit expression (<c>mg/dL</c>, <c>kg.m-2</c>, <c>{beats}/min</c>, <c>10*3/uL</c>); its display is the code.
/// Its codes can be validated and looked up, and listed in value sets that enumerate them, but not expanded as a whole.
/// </summary>
internal static class Ucum
{
    public const string System = "http://unitsofmeasure.org";

    private const int MaxCached = 10_000;

    private static readonly Lazy<SystemOfUnits> Units = new(UCUM.Load, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly ConcurrentDictionary<string, ConceptNode?> Parsed = new(StringComparer.Ordinal);

    /// <summary>The code system resource the engine knows UCUM by, when no package supplies one.</summary>
    public static CodeSystem CreateCodeSystem() => new()
    {
        Url = System,
        Version = "2.1",
        Name = "UCUM",
        Title = "Unified Code for Units of Measure (UCUM)",
        Status = PublicationStatus.Active,
        Publisher = "Regenstrief Institute, Inc.",
        CaseSensitive = true,
        Content = CodeSystemContentMode.Complete,
        Description = new Markdown("UCUM unit expressions, validated by grammar (Fhir.Metrics)."),
    };

    /// <summary>The concept for a UCUM expression, or null when it is not one.</summary>
    public static ConceptNode? Parse(string code)
    {
        if (Parsed.TryGetValue(code, out var cached))
        {
            return cached;
        }

        ConceptNode? node = null;
        if (code.Length > 0 && code.Trim() == code)
        {
            try
            {
                _ = Units.Value.Metric(code);
                node = new ConceptNode(code, null) { Display = code };
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException)
            {
                node = null;
            }
        }

        if (Parsed.Count < MaxCached)
        {
            Parsed.TryAdd(code, node);
        }

        return node;
    }
}
