using BenchmarkDotNet.Attributes;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;
using Igia.Fhir.Search;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Benchmarks.Micro;

/// <summary>
/// Write-time search index extraction, <see cref="FhirSearchService.Extract"/>, for a typical Observation and
/// Patient. Baseline: Firely's compiled FHIRPath evaluating the R4 SearchParameter expressions of the type as
/// published (a multi-type expression whole) and nothing else — no typing or normalisation of the values.
/// <see cref="UcumCanonicalize"/> is one UCUM canonicalisation of a quantity (the same for both types).
/// </summary>
[MemoryDiagnoser]
public class SearchIndexExtractionBenchmarks
{
    private FhirSearchService _search = null!;
    private Resource _resource = null!;
    private CompiledExpression[] _expressions = [];

    /// <summary>The resource type extracted.</summary>
    [Params("Observation", "Patient")]
    public string ResourceType { get; set; } = "Observation";

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddIgiaFhirServer().UseSqlite(Path.Combine(Path.GetTempPath(), "igia-bench-unused.db"));
        var provider = services.BuildServiceProvider();
        _search = provider.GetRequiredService<FhirSearchService>();
        var registry = provider.GetRequiredService<SearchParameterRegistry>();
        _resource = ResourceType == "Patient" ? SampleData.Patient(17) : SampleData.Observation(17, 23);

        var symbols = new SymbolTable();
        symbols.AddStandardFP();
        symbols.AddFhirExtensions();
        var compiler = new FhirPathCompiler(symbols);
        _expressions = registry.ForType(ResourceType).Concat(registry.Common)
            .Where(p => !string.IsNullOrEmpty(p.Expression) && p.Type != SearchParamType.Composite)
            .Select(p => compiler.Compile(p.Expression!))
            .ToArray();
        var rows = _search.Extract(_resource).Count;
        Console.WriteLine($"// {ResourceType}: Extract gives {rows} index rows; baseline evaluates {_expressions.Length} FHIRPath expressions.");
    }

    [Benchmark(Baseline = true)]
    public int FhirPathOnly()
    {
        var node = _resource.ToPocoNode();
        var context = new FhirEvaluationContext { ElementResolver = _ => null };
        var n = 0;
        foreach (var expression in _expressions)
        {
            foreach (var _ in expression(node, context))
            {
                n++;
            }
        }

        return n;
    }

    [Benchmark]
    public int Extract() => _search.Extract(_resource).Count;

    /// <summary>One UCUM canonicalisation (done for every Quantity index row), to size its share of <see cref="Extract"/>.</summary>
    [Benchmark]
    public decimal? UcumCanonicalize() => SearchIndexer.Canonicalize(72m, SearchIndexer.Ucum, "/min").Value;
}
