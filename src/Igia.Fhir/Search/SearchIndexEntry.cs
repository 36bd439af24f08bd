namespace Igia.Fhir.Search;

/// <summary>
/// One search index row extracted from a resource at write time for one search parameter
/// (the subtypes carry the typed value: string, token, reference, date, number, quantity, uri, composite).
/// </summary>
/// <param name="ParameterCode">The search parameter code, e.g. <c>name</c> or <c>subject</c>.</param>
public abstract record SearchIndexEntry(string ParameterCode);
