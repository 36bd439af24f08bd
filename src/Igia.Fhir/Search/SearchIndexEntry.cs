namespace Igia.Fhir.Search;

/// <summary>
/// One search index row extracted from a resource at write time for one search parameter
/// (the subtypes carry the typed value: string, token, reference, date, number, quantity, uri, composite).
/// </summary>
/// <param name="ParameterCode">The search parameter code, e.g. <c>name</c> or <c>subject</c>.</param>
public abstract record SearchIndexEntry(string ParameterCode);

/// <summary>A string value: normalised (accents removed, lower case) for the default and <c>:contains</c> searches, and as written for <c>:exact</c>.</summary>
/// <param name="ParameterCode">The search parameter code.</param>
/// <param name="Normalized">The value without diacritics, in lower case (see <see cref="SearchText.Normalize"/>).</param>
/// <param name="Exact">The value as it appears in the resource.</param>
public sealed record StringIndexEntry(string ParameterCode, string Normalized, string Exact) : SearchIndexEntry(ParameterCode);

/// <summary>A token: a code with its system (from a Coding, CodeableConcept, Identifier, ContactPoint, code, boolean, …), and text for <c>:text</c>.</summary>
/// <param name="ParameterCode">The search parameter code.</param>
/// <param name="System">The system (namespace) of the code, or null when it has none.</param>
/// <param name="Code">The code (or identifier value); null for a row that only carries text.</param>
/// <param name="Text">Normalised text that goes with the code (display, CodeableConcept.text, Identifier.type.text), or null.</param>
public sealed record TokenIndexEntry(string ParameterCode, string? System, string? Code, string? Text) : SearchIndexEntry(ParameterCode);

/// <summary>A reference to another resource.</summary>
/// <param name="ParameterCode">The search parameter code.</param>
/// <param name="TargetType">The type of the resource referred to, when the reference names one.</param>
/// <param name="TargetId">The logical id of the resource referred to, when the reference names one.</param>
/// <param name="Url">For an absolute or canonical reference, the URL without version (<c>_history</c> or <c>|version</c>); null for a relative reference.</param>
public sealed record ReferenceIndexEntry(string ParameterCode, string? TargetType, string? TargetId, string? Url) : SearchIndexEntry(ParameterCode);

/// <summary>A date, dateTime, instant, Period or Timing event, as the range of instants it covers (both ends inclusive, UTC).</summary>
/// <param name="ParameterCode">The search parameter code.</param>
/// <param name="Low">The earliest instant covered (<see cref="DateTimeOffset.MinValue"/> when open).</param>
/// <param name="High">The latest instant covered (<see cref="DateTimeOffset.MaxValue"/> when open).</param>
public sealed record DateIndexEntry(string ParameterCode, DateTimeOffset Low, DateTimeOffset High) : SearchIndexEntry(ParameterCode);

/// <summary>A number.</summary>
/// <param name="ParameterCode">The search parameter code.</param>
/// <param name="Value">The value.</param>
public sealed record NumberIndexEntry(string ParameterCode, decimal Value) : SearchIndexEntry(ParameterCode);

/// <summary>A quantity, with its UCUM canonical form when the unit allows one.</summary>
/// <param name="ParameterCode">The search parameter code.</param>
/// <param name="Value">The value as written.</param>
/// <param name="System">The unit system (e.g. <c>http://unitsofmeasure.org</c>), or null.</param>
/// <param name="Code">The coded unit, or null.</param>
/// <param name="Unit">The human-readable unit, or null.</param>
/// <param name="CanonicalValue">The value in UCUM base units, when the unit is UCUM and convertible.</param>
/// <param name="CanonicalCode">The UCUM base unit expression of <paramref name="CanonicalValue"/>.</param>
public sealed record QuantityIndexEntry(string ParameterCode, decimal Value, string? System, string? Code, string? Unit, decimal? CanonicalValue, string? CanonicalCode) : SearchIndexEntry(ParameterCode);

/// <summary>A URI.</summary>
/// <param name="ParameterCode">The search parameter code.</param>
/// <param name="Uri">The URI as written.</param>
public sealed record UriIndexEntry(string ParameterCode, string Uri) : SearchIndexEntry(ParameterCode);

/// <summary>
/// One element matched by a composite parameter: for each component, the index rows of that component's values in this element.
/// A store keeps the rows of one composite entry together (same group), so that components are matched within the same element.
/// Component rows carry the code <see cref="ComponentCode"/> of the composite code and the component position.
/// </summary>
/// <param name="ParameterCode">The composite search parameter code.</param>
/// <param name="Components">Per component (in definition order), its index rows; their <see cref="SearchIndexEntry.ParameterCode"/> is <see cref="ComponentCode"/>.</param>
public sealed record CompositeIndexEntry(string ParameterCode, IReadOnlyList<IReadOnlyList<SearchIndexEntry>> Components) : SearchIndexEntry(ParameterCode)
{
    /// <summary>The code under which the rows of component <paramref name="index"/> of composite <paramref name="compositeCode"/> are stored.</summary>
    public static string ComponentCode(string compositeCode, int index) => compositeCode + "$" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
