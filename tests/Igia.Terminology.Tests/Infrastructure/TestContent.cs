using Hl7.Fhir.Model;

namespace Igia.Terminology.Tests.Infrastructure;

/// <summary>Small terminology resources the tests build on.</summary>
internal static class TestContent
{
    public const string System = "http://example.org/fhir/CodeSystem/tests";
    public const string ValueSetAll = "http://example.org/fhir/ValueSet/tests-all";

    /// <summary>
    /// A (Alpha) ⊃ A1 (Alpha one, prop=x) ⊃ A1a (Alpha one a); A ⊃ A2 (Alpha two, inactive); B (Beta, not selectable) ⊃ B1
    /// (Beta one, German designation "Beta eins").
    /// </summary>
    public static CodeSystem TestCodeSystem()
    {
        var cs = new Hl7.Fhir.Model.CodeSystem
        {
            Url = System,
            Version = "1.0.0",
            Name = "Tests",
            Status = PublicationStatus.Active,
            Content = CodeSystemContentMode.Complete,
            CaseSensitive = true,
            HierarchyMeaning = Hl7.Fhir.Model.CodeSystem.CodeSystemHierarchyMeaning.IsA,
            Property =
            [
                new Hl7.Fhir.Model.CodeSystem.PropertyComponent { Code = "prop", Type = Hl7.Fhir.Model.CodeSystem.PropertyType.Code },
                new Hl7.Fhir.Model.CodeSystem.PropertyComponent { Code = "notSelectable", Uri = "http://hl7.org/fhir/concept-properties#notSelectable", Type = Hl7.Fhir.Model.CodeSystem.PropertyType.Boolean },
                new Hl7.Fhir.Model.CodeSystem.PropertyComponent { Code = "inactive", Uri = "http://hl7.org/fhir/concept-properties#inactive", Type = Hl7.Fhir.Model.CodeSystem.PropertyType.Boolean },
            ],
        };
        var a = new Hl7.Fhir.Model.CodeSystem.ConceptDefinitionComponent { Code = "A", Display = "Alpha" };
        var a1 = new Hl7.Fhir.Model.CodeSystem.ConceptDefinitionComponent { Code = "A1", Display = "Alpha one", Property = [new() { Code = "prop", Value = new Code("x") }] };
        a1.Concept.Add(new Hl7.Fhir.Model.CodeSystem.ConceptDefinitionComponent { Code = "A1a", Display = "Alpha one a" });
        a.Concept.Add(a1);
        a.Concept.Add(new Hl7.Fhir.Model.CodeSystem.ConceptDefinitionComponent { Code = "A2", Display = "Alpha two", Property = [new() { Code = "inactive", Value = new FhirBoolean(true) }] });
        var b = new Hl7.Fhir.Model.CodeSystem.ConceptDefinitionComponent { Code = "B", Display = "Beta", Property = [new() { Code = "notSelectable", Value = new FhirBoolean(true) }] };
        b.Concept.Add(new Hl7.Fhir.Model.CodeSystem.ConceptDefinitionComponent
        {
            Code = "B1",
            Display = "Beta one",
            Designation = [new Hl7.Fhir.Model.CodeSystem.DesignationComponent { Language = "de", Value = "Beta eins" }],
        });
        cs.Concept.Add(a);
        cs.Concept.Add(b);
        return cs;
    }

    /// <summary>A value set of the whole test code system.</summary>
    public static ValueSet AllValueSet() => new()
    {
        Url = ValueSetAll,
        Version = "1.0.0",
        Name = "TestsAll",
        Status = PublicationStatus.Active,
        Compose = new ValueSet.ComposeComponent { Include = [new ValueSet.ConceptSetComponent { System = System }] },
    };

    /// <summary>A value set of the test code system with one filter.</summary>
    public static ValueSet Filtered(string property, FilterOperator op, string value) => new()
    {
        Status = PublicationStatus.Active,
        Compose = new ValueSet.ComposeComponent
        {
            Include = [new ValueSet.ConceptSetComponent { System = System, Filter = [new ValueSet.FilterComponent { Property = property, Op = op, Value = value }] }],
        },
    };

    /// <summary>The codes of an expansion, flattened, sorted.</summary>
    public static List<string> Codes(ValueSet expansion)
    {
        var result = new List<string>();
        void Walk(IEnumerable<ValueSet.ContainsComponent> contains)
        {
            foreach (var c in contains)
            {
                if (c.Code is not null)
                {
                    result.Add(c.Code);
                }

                Walk(c.Contains);
            }
        }

        Walk(expansion.Expansion!.Contains);
        result.Sort(StringComparer.Ordinal);
        return result;
    }
}
