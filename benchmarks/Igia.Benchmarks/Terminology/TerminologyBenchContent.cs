using System.Globalization;
using Hl7.Fhir.Model;

namespace Igia.Benchmarks.Terminology;

/// <summary>
/// A generated code system of <see cref="Size"/> concepts (no public package has an open value set that large) and the value
/// set of all its codes. Displays combine a body site, a finding and a number, so a text filter matches a known share.
/// </summary>
internal static class TerminologyBenchContent
{
    public const int Size = 20_000;
    public const string BigSystem = "http://example.org/fhir/CodeSystem/bench-findings";
    public const string BigValueSetUrl = "http://example.org/fhir/ValueSet/bench-findings-all";

    /// <summary>The filter text of the expand benchmark: the word of one site in ten, so 2,000 of 20,000 concepts match.</summary>
    public const string FilterText = "cardiac";

    public const int FilterMatches = Size / 10;

    private static readonly string[] Sites = ["cardiac", "renal", "hepatic", "pulmonary", "gastric", "cerebral", "dermal", "ocular", "splenic", "thyroid"];
    private static readonly string[] Findings = ["lesion", "inflammation", "mass", "stenosis", "hemorrhage", "infarction", "calcification", "cyst"];

    public static string CodeOf(int i) => "F" + i.ToString("D5", CultureInfo.InvariantCulture);

    public static string DisplayOf(int i) =>
        $"{Sites[i % Sites.Length]} {Findings[(i / Sites.Length) % Findings.Length]} type {i.ToString(CultureInfo.InvariantCulture)}";

    public static CodeSystem BigCodeSystem()
    {
        var cs = new CodeSystem
        {
            Url = BigSystem,
            Version = "1.0.0",
            Name = "BenchFindings",
            Status = PublicationStatus.Active,
            Content = CodeSystemContentMode.Complete,
            CaseSensitive = true,
            Count = Size,
        };
        for (var i = 0; i < Size; i++)
        {
            cs.Concept.Add(new CodeSystem.ConceptDefinitionComponent { Code = CodeOf(i), Display = DisplayOf(i) });
        }

        return cs;
    }

    public static ValueSet BigValueSet() => new()
    {
        Url = BigValueSetUrl,
        Version = "1.0.0",
        Name = "BenchFindingsAll",
        Status = PublicationStatus.Active,
        Compose = new ValueSet.ComposeComponent { Include = [new ValueSet.ConceptSetComponent { System = BigSystem }] },
    };
}
