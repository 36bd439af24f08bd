using System.Globalization;
using Hl7.Fhir.Model;

namespace Igia.Terminology.Engine;

/// <summary>Small helpers over Firely's model.</summary>
internal static class FhirValues
{
    /// <summary>The text of a primitive value (booleans as <c>true</c>/<c>false</c>), the code of a Coding, else null.</summary>
    public static string? Text(this DataType? value) => value switch
    {
        PrimitiveType p => p.JsonValue switch
        {
            null => null,
            bool b => b ? "true" : "false",
            string s => s,
            var o => Convert.ToString(o, CultureInfo.InvariantCulture),
        },
        Coding c => c.Code,
        _ => null,
    };

    /// <summary>The imported value sets of an include (canonicals), skipping empty ones.</summary>
    public static IEnumerable<string> Imports(this ValueSet.ConceptSetComponent include) =>
        include.ValueSetElement.Select(c => c.Value).Where(v => !string.IsNullOrEmpty(v))!;

    public static bool HasImports(this ValueSet.ConceptSetComponent include) => include.ValueSetElement.Any(c => !string.IsNullOrEmpty(c.Value));
}
