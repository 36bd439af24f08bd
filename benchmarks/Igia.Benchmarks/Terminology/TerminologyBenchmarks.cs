using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;
using Igia.Terminology;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Igia.Benchmarks.Terminology;

/// <summary>
/// In-process terminology, side by side in one run: ValueSet <c>$validate-code</c> by Igia (the Parameters API, as the
/// Firely validator calls it, and the typed <see cref="IgiaTerminologyService.ValidateCodeAsync"/>) and by Firely's
/// <see cref="LocalTerminologyService"/> (the baseline) on requests both answer correctly, and <c>$expand</c> of a value set of
/// 20,000 concepts with a text filter. Both services read the same content: the FHIR core specification
/// (<c>specification.zip</c> of Hl7.Fhir.Specification.Data.R4) plus <see cref="TerminologyBenchContent"/>.
/// </summary>
/// <remarks>
/// "Warmed": every request is answered once in the global setup, so the value sets are loaded and prepared (Igia keeps its
/// per-value-set structures; Firely's resolver caches the resources). The results are checked there too, so a benchmark never
/// measures a wrong answer.
/// </remarks>
[MemoryDiagnoser]
[MedianColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class TerminologyBenchmarks
{
    private ServiceProvider _provider = null!;
    private IgiaTerminologyService _igia = null!;
    private ITerminologyService _firely = null!;

    private readonly Parameters _coreValid = ValidateCode("http://hl7.org/fhir/ValueSet/observation-status", "http://hl7.org/fhir/observation-status", "final");
    private readonly Parameters _coreInvalid = ValidateCode("http://hl7.org/fhir/ValueSet/observation-status", "http://hl7.org/fhir/observation-status", "done");
    private static readonly string BigCode = TerminologyBenchContent.CodeOf(12_345);
    private readonly Parameters _bigValid = ValidateCode(TerminologyBenchContent.BigValueSetUrl, TerminologyBenchContent.BigSystem, BigCode);
    private readonly Parameters _expandFilter = new() { { "url", new FhirUri(TerminologyBenchContent.BigValueSetUrl) }, { "filter", new FhirString(TerminologyBenchContent.FilterText) } };
    private readonly Parameters _expandFilterPage = new() { { "url", new FhirUri(TerminologyBenchContent.BigValueSetUrl) }, { "filter", new FhirString(TerminologyBenchContent.FilterText) }, { "count", new Integer(20) } };
    private readonly Parameters _expandAll = new() { { "url", new FhirUri(TerminologyBenchContent.BigValueSetUrl) } };

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddIgiaTerminology(o => o.MaxExpansionSize = 100_000)
            .AddFhirCorePackage()
            .AddResource(TerminologyBenchContent.BigCodeSystem())
            .AddResource(TerminologyBenchContent.BigValueSet());
        _provider = services.BuildServiceProvider();
        foreach (var hosted in _provider.GetServices<IHostedService>())
        {
            hosted.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        }

        _igia = _provider.GetRequiredService<IgiaTerminologyService>();
        _igia.Content.WhenLoadedAsync().WaitAsync(TimeSpan.FromMinutes(5)).GetAwaiter().GetResult();

        var resolver = new CachedResolver(new MultiResolver(
            new InMemoryResourceResolver(TerminologyBenchContent.BigCodeSystem(), TerminologyBenchContent.BigValueSet()),
            ZipSource.CreateValidationSource()));
        _firely = new LocalTerminologyService(resolver, new ValueSetExpanderSettings { MaxExpansionSize = 100_000 });

        // Warm up and check every answer once.
        Check(Igia_ValidateCode_CoreValueSet_Valid(), true);
        Check(Igia_ValidateCode_CoreValueSet_Invalid(), false);
        Check(Igia_ValidateCode_BigValueSet_Valid(), true);
        Check(Igia_Typed_ValidateCode_CoreValueSet_Valid(), true);
        Check(Igia_Typed_ValidateCode_CoreValueSet_Invalid(), false);
        Check(Igia_Typed_ValidateCode_BigValueSet_Valid(), true);
        Check(Firely_ValidateCode_CoreValueSet_Valid(), true);
        Check(Firely_ValidateCode_CoreValueSet_Invalid(), false);
        Check(Firely_ValidateCode_BigValueSet_Valid(), true);
        var filtered = (ValueSet)Igia_Expand_Filter();
        if (filtered.Expansion!.Total != TerminologyBenchContent.FilterMatches || filtered.Expansion.Contains.Count != TerminologyBenchContent.FilterMatches)
        {
            throw new InvalidOperationException($"Filtered expansion has {filtered.Expansion.Total} (expected {TerminologyBenchContent.FilterMatches}).");
        }

        if (((ValueSet)Igia_Expand_All()).Expansion!.Contains.Count != TerminologyBenchContent.Size)
        {
            throw new InvalidOperationException("The full expansion does not hold every concept.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _provider.Dispose();

    [Benchmark(Baseline = true), BenchmarkCategory("ValidateCode_CoreValid")]
    public Parameters Firely_ValidateCode_CoreValueSet_Valid() => _firely.ValueSetValidateCode(_coreValid).GetAwaiter().GetResult();

    [Benchmark, BenchmarkCategory("ValidateCode_CoreValid")]
    public Parameters Igia_ValidateCode_CoreValueSet_Valid() => _igia.ValueSetValidateCode(_coreValid).GetAwaiter().GetResult();

    /// <summary>The same request through the typed API (<see cref="IgiaTerminologyService.ValidateCodeAsync"/>).</summary>
    [Benchmark, BenchmarkCategory("ValidateCode_CoreValid")]
    public CodeValidationResult Igia_Typed_ValidateCode_CoreValueSet_Valid() =>
        _igia.ValidateCodeAsync("http://hl7.org/fhir/ValueSet/observation-status", "http://hl7.org/fhir/observation-status", "final").GetAwaiter().GetResult();

    [Benchmark(Baseline = true), BenchmarkCategory("ValidateCode_CoreInvalid")]
    public Parameters Firely_ValidateCode_CoreValueSet_Invalid() => _firely.ValueSetValidateCode(_coreInvalid).GetAwaiter().GetResult();

    [Benchmark, BenchmarkCategory("ValidateCode_CoreInvalid")]
    public Parameters Igia_ValidateCode_CoreValueSet_Invalid() => _igia.ValueSetValidateCode(_coreInvalid).GetAwaiter().GetResult();

    [Benchmark, BenchmarkCategory("ValidateCode_CoreInvalid")]
    public CodeValidationResult Igia_Typed_ValidateCode_CoreValueSet_Invalid() =>
        _igia.ValidateCodeAsync("http://hl7.org/fhir/ValueSet/observation-status", "http://hl7.org/fhir/observation-status", "done").GetAwaiter().GetResult();

    [Benchmark(Baseline = true), BenchmarkCategory("ValidateCode_Big")]
    public Parameters Firely_ValidateCode_BigValueSet_Valid() => _firely.ValueSetValidateCode(_bigValid).GetAwaiter().GetResult();

    [Benchmark, BenchmarkCategory("ValidateCode_Big")]
    public Parameters Igia_ValidateCode_BigValueSet_Valid() => _igia.ValueSetValidateCode(_bigValid).GetAwaiter().GetResult();

    [Benchmark, BenchmarkCategory("ValidateCode_Big")]
    public CodeValidationResult Igia_Typed_ValidateCode_BigValueSet_Valid() =>
        _igia.ValidateCodeAsync(TerminologyBenchContent.BigValueSetUrl, TerminologyBenchContent.BigSystem, BigCode).GetAwaiter().GetResult();

    /// <summary>
    /// The whole 20,000-concept expansion is the baseline of the category. Firely's expansion is not measured: its
    /// <c>LocalTerminologyService</c> keeps the expansion in the (cached) ValueSet it expanded, so a repeated call costs
    /// nothing, and it ignores <c>filter</c>.
    /// </summary>
    [Benchmark(Baseline = true), BenchmarkCategory("Expand_20k")]
    public Resource Igia_Expand_All() => _igia.Expand(_expandAll).GetAwaiter().GetResult();

    [Benchmark, BenchmarkCategory("Expand_20k")]
    public Resource Igia_Expand_Filter() => _igia.Expand(_expandFilter).GetAwaiter().GetResult();

    [Benchmark, BenchmarkCategory("Expand_20k")]
    public Resource Igia_Expand_FilterFirstPage() => _igia.Expand(_expandFilterPage).GetAwaiter().GetResult();

    private static Parameters ValidateCode(string url, string system, string code) => new()
    {
        { "url", new FhirUri(url) },
        { "system", new FhirUri(system) },
        { "code", new Code(code) },
    };

    private static void Check(CodeValidationResult result, bool expected)
    {
        if (result.Result != expected)
        {
            throw new InvalidOperationException($"Expected result={expected}: {result.Message}");
        }
    }

    private static void Check(Parameters result, bool expected)
    {
        if (result.GetSingleValue<FhirBoolean>("result")?.Value != expected)
        {
            throw new InvalidOperationException($"Expected result={expected}: {string.Join("; ", result.Parameter.Select(p => p.Name + "=" + p.Value))}");
        }
    }
}
