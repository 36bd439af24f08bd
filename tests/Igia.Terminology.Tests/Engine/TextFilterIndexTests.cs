using Hl7.Fhir.Model;
using Igia.Terminology.Engine;
using Igia.Terminology.Tests.Infrastructure;

namespace Igia.Terminology.Tests.Engine;

/// <summary>
/// The word-prefix index behind the <c>$expand</c> text filter: it must select exactly what the concept-by-concept filter
/// selects (word starts, ignoring case, accents significant, any filter word), and expansions of large code systems that use
/// it must page, count and honour activeOnly as before.
/// </summary>
public sealed class TextFilterIndexTests
{
    private const string BigSystem = "http://example.org/fhir/CodeSystem/index-tests";
    private const string BigValueSet = "http://example.org/fhir/ValueSet/index-tests-all";
    private const string BigFilteredValueSet = "http://example.org/fhir/ValueSet/index-tests-filtered";
    private const int Size = 1_200;

    private static readonly string[] Sites = ["Cardiac", "renal", "HEPATIC", "pulmonary", "gastric", "Éosinophilic", "naïve-cell", "thyroid/neck"];
    private static readonly string[] Findings = ["lesion", "inflammation", "mass", "stenosis", "hemorrhage", "cyst"];

    private static string DisplayOf(int i) => $"{Sites[i % Sites.Length]} {Findings[i / Sites.Length % Findings.Length]} type {i}";

    private static bool IsInactive(int i) => i % 5 == 0;

    /// <summary>Size concepts; every fifth inactive; every third has a German designation; codes X0000...</summary>
    private static CodeSystem BigCodeSystem()
    {
        var cs = new CodeSystem
        {
            Url = BigSystem,
            Version = "1",
            Status = PublicationStatus.Active,
            Content = CodeSystemContentMode.Complete,
            CaseSensitive = true,
            Property = [new CodeSystem.PropertyComponent { Code = "inactive", Uri = "http://hl7.org/fhir/concept-properties#inactive", Type = CodeSystem.PropertyType.Boolean }],
        };
        for (var i = 0; i < Size; i++)
        {
            var c = new CodeSystem.ConceptDefinitionComponent { Code = $"X{i:D4}", Display = DisplayOf(i) };
            if (IsInactive(i))
            {
                c.Property.Add(new CodeSystem.ConceptPropertyComponent { Code = "inactive", Value = new FhirBoolean(true) });
            }

            if (i % 3 == 0)
            {
                c.Designation.Add(new CodeSystem.DesignationComponent { Language = "de", Value = $"Befund Nummer {i}" });
            }

            cs.Concept.Add(c);
        }

        return cs;
    }

    private static ValueSet AllOf() => new()
    {
        Url = BigValueSet,
        Status = PublicationStatus.Active,
        Compose = new ValueSet.ComposeComponent { Include = [new ValueSet.ConceptSetComponent { System = BigSystem }] },
    };

    /// <summary>A value set with a compose filter (codes X0xxx: the first thousand), so the text filter meets a concept filter.</summary>
    private static ValueSet FilteredOf() => new()
    {
        Url = BigFilteredValueSet,
        Status = PublicationStatus.Active,
        Compose = new ValueSet.ComposeComponent
        {
            Include = [new ValueSet.ConceptSetComponent { System = BigSystem, Filter = [new ValueSet.FilterComponent { Property = "code", Op = FilterOperator.Regex, Value = "X0[0-9]{3}" }] }],
        },
    };

    /// <summary>The codes the concept-by-concept filter accepts, in code system order (what the index must reproduce).</summary>
    private static List<string> Linear(CodeSystemModel model, string filter, Func<ConceptNode, bool>? also = null)
    {
        var search = new SearchFilter(filter);
        return model.All.Where(n => (search.PassesNode(n) || search.Passes(n.Code)) && (also is null || also(n))).Select(n => n.Code).ToList();
    }

    private static List<string> Indexed(CodeSystemModel model, string filter)
    {
        var hits = new SearchFilter(filter).Match(model);
        Assert.NotNull(hits);
        return model.All.Where(n => hits[n.Order]).Select(n => n.Code).ToList();
    }

    // ---- the index itself -------------------------------------------------------------------------

    [Theory]
    [InlineData("card")]
    [InlineData("CARDIAC")]
    [InlineData("hepat")]
    [InlineData("éosino")]
    [InlineData("ÉOSINOPHILIC")]
    [InlineData("eosino")]
    [InlineData("naïve")]
    [InlineData("cell")]
    [InlineData("neck")]
    [InlineData("x00")]
    [InlineData("11")]
    [InlineData("befund")]
    [InlineData("nummer 3")]
    [InlineData("cardiac lesions")]
    [InlineData("stenosis, renal")]
    [InlineData("zzz")]
    [InlineData("esion")]
    [InlineData("  ")]
    public void Index_SelectsExactlyWhatTheConceptByConceptFilterSelects(string filter)
    {
        var model = new CodeSystemModel(BigCodeSystem());

        Assert.Equal(Linear(model, filter), Indexed(model, filter));
    }

    [Fact]
    public void Index_MatchesWordStartsOnly_IgnoringCase()
    {
        var model = new CodeSystemModel(BigCodeSystem());

        var card = Indexed(model, "CARD");
        var esion = Indexed(model, "esion");

        Assert.Equal(Size / Sites.Length, card.Count);
        Assert.All(card, c => Assert.StartsWith("Cardiac ", model.Find(c)!.Display, StringComparison.Ordinal));
        Assert.Empty(esion);
    }

    [Fact]
    public void Index_AccentsAreSignificant_CaseIsNot()
    {
        var model = new CodeSystemModel(BigCodeSystem());

        Assert.Equal(Size / Sites.Length, Indexed(model, "éosinophilic").Count);
        Assert.Equal(Size / Sites.Length, Indexed(model, "ÉOSINO").Count);
        Assert.Empty(Indexed(model, "eosinophilic"));
        Assert.Equal(Size / Sites.Length, Indexed(model, "naïve").Count);
        Assert.Empty(Indexed(model, "naive"));
    }

    [Fact]
    public void Index_SplitsWordsOnPunctuation_AndSearchesCodesAndDesignations()
    {
        var model = new CodeSystemModel(BigCodeSystem());

        Assert.Equal(Size / Sites.Length, Indexed(model, "neck").Count);
        Assert.Equal(Size / Sites.Length, Indexed(model, "cell").Count);
        Assert.Equal(Size / 3, Indexed(model, "befund").Count);
        Assert.Equal(["X0012"], Indexed(model, "x0012"));
    }

    [Fact]
    public void Index_MultiWordFilter_SelectsConceptsWithAnyOfTheWords_AndStemsPlurals()
    {
        var model = new CodeSystemModel(BigCodeSystem());

        var either = Indexed(model, "renal lesions");
        var renal = Indexed(model, "renal");
        var lesion = Indexed(model, "lesion");

        Assert.Equal(renal.Union(lesion).OrderBy(c => c, StringComparer.Ordinal), either);
    }

    [Fact]
    public void Index_IsBuiltOnce_AndSharedByThreads()
    {
        var model = new CodeSystemModel(BigCodeSystem());

        var indexes = new ConceptTextIndex[8];
        Parallel.For(0, indexes.Length, i => indexes[i] = model.TextIndex);

        Assert.All(indexes, x => Assert.Same(indexes[0], x));
        Assert.Equal(Size, indexes[0].ConceptCount);
        Assert.True(indexes[0].WordCount > Sites.Length + Findings.Length);
    }

    [Fact]
    public void SmallCodeSystem_IsScannedWithoutAnIndex()
    {
        var model = new CodeSystemModel(TestContent.TestCodeSystem());

        Assert.True(model.Count < SearchFilter.IndexThreshold);
        Assert.Null(new SearchFilter("alpha").Match(model));
    }

    // ---- $expand over the index ---------------------------------------------------------------------

    private static Task<InProcessTerminology> Terminology() =>
        InProcessTerminology.CreateAsync(c => c.AddResource(BigCodeSystem()).AddResource(AllOf()).AddResource(FilteredOf()));

    private static Parameters ExpandRequest(string url, string filter, params (string Name, DataType Value)[] more)
    {
        var p = new Parameters { { "url", new FhirUri(url) }, { "filter", new FhirString(filter) } };
        foreach (var (name, value) in more)
        {
            p.Add(name, value);
        }

        return p;
    }

    private static List<string> InOrder(ValueSet vs) => vs.Expansion!.Contains.Select(c => c.Code!).ToList();

    [Fact]
    public async Task Expand_FilterOnALargeCodeSystem_GivesTheLinearResultWithDisplays()
    {
        await using var tx = await Terminology();
        var model = new CodeSystemModel(BigCodeSystem());

        var vs = (ValueSet)await tx.Service.Expand(ExpandRequest(BigValueSet, "hemorr"));

        var expected = Linear(model, "hemorr");
        Assert.Equal(Size / Findings.Length, expected.Count);
        Assert.Equal(expected.Count, vs.Expansion!.Total);
        Assert.Equal(expected, InOrder(vs));
        Assert.All(vs.Expansion.Contains, c => Assert.Equal(model.Find(c.Code!)!.Display, c.Display));
    }

    [Fact]
    public async Task Expand_FilterWithCountAndOffset_PagesTheFilteredResults()
    {
        await using var tx = await Terminology();
        var expected = Linear(new CodeSystemModel(BigCodeSystem()), "pulmonary");

        var first = (ValueSet)await tx.Service.Expand(ExpandRequest(BigValueSet, "pulmonary", ("count", new Integer(10))));
        var third = (ValueSet)await tx.Service.Expand(ExpandRequest(BigValueSet, "pulmonary", ("offset", new Integer(20)), ("count", new Integer(10))));
        var last = (ValueSet)await tx.Service.Expand(ExpandRequest(BigValueSet, "pulmonary", ("offset", new Integer(expected.Count - 3)), ("count", new Integer(10))));

        Assert.Equal(expected.Count, first.Expansion!.Total);
        Assert.Equal(expected.Take(10), InOrder(first));
        Assert.Equal(expected.Count, third.Expansion!.Total);
        Assert.Equal(20, third.Expansion.Offset);
        Assert.Equal(expected.Skip(20).Take(10), InOrder(third));
        Assert.Equal(expected.Skip(expected.Count - 3), InOrder(last));
    }

    [Fact]
    public async Task Expand_FilterWithActiveOnly_LeavesOutInactiveMatches()
    {
        await using var tx = await Terminology();
        var model = new CodeSystemModel(BigCodeSystem());
        var expected = Linear(model, "gastric", n => !n.Inactive);

        var vs = (ValueSet)await tx.Service.Expand(ExpandRequest(BigValueSet, "gastric", ("activeOnly", new FhirBoolean(true))));
        var all = (ValueSet)await tx.Service.Expand(ExpandRequest(BigValueSet, "gastric"));

        Assert.Equal(expected, InOrder(vs));
        Assert.Equal(expected.Count, vs.Expansion!.Total);
        Assert.True(all.Expansion!.Total > vs.Expansion.Total);
        Assert.Contains(all.Expansion.Contains, c => c.Inactive == true);
        Assert.DoesNotContain(vs.Expansion.Contains, c => c.Inactive == true);
    }

    [Fact]
    public async Task Expand_FilterOnAValueSetWithAComposeFilter_AppliesBoth()
    {
        await using var tx = await Terminology();
        var expected = Linear(new CodeSystemModel(BigCodeSystem()), "thyroid", n => string.CompareOrdinal(n.Code, "X1000") < 0);

        var vs = (ValueSet)await tx.Service.Expand(ExpandRequest(BigFilteredValueSet, "thyroid", ("count", new Integer(1000))));

        Assert.Equal(Size / Sites.Length - 200 / Sites.Length, expected.Count);
        Assert.Equal(expected, InOrder(vs));
        Assert.Equal(expected.Count, vs.Expansion!.Total);
    }

    [Fact]
    public async Task Expand_FilterMatchingNothing_IsAnEmptyExpansion()
    {
        await using var tx = await Terminology();

        var vs = (ValueSet)await tx.Service.Expand(ExpandRequest(BigValueSet, "zebra"));

        Assert.Equal(0, vs.Expansion!.Total);
        Assert.Empty(vs.Expansion.Contains);
    }
}
