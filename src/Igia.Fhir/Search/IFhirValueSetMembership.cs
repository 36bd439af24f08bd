namespace Igia.Fhir.Search;

/// <summary>
/// The codes of a value set, for the token search modifiers <c>:in</c> and <c>:not-in</c> (search.html#token). Search
/// does no terminology itself: register an implementation (Igia.Terminology provides one) as a singleton
/// <see cref="IFhirValueSetMembership"/>; without one, <c>:in</c> and <c>:not-in</c> are reported as unsupported
/// (a warning under lenient handling, 400 under strict).
/// </summary>
public interface IFhirValueSetMembership
{
    /// <summary>
    /// The codes of the value set <paramref name="valueSet"/> (a canonical URL, optionally <c>|version</c>, or a
    /// relative <c>ValueSet/[id]</c>), expanded; null when the value set is not known to this implementation.
    /// </summary>
    /// <param name="valueSet">The value set as given in the search parameter.</param>
    /// <param name="cancellationToken">Cancels the expansion.</param>
    ValueTask<IReadOnlyCollection<FhirSearchCode>?> ExpandAsync(string valueSet, CancellationToken cancellationToken);
}

/// <summary>A code of an expanded value set.</summary>
/// <param name="System">The code system URL (null when the expansion has none).</param>
/// <param name="Code">The code.</param>
public sealed record FhirSearchCode(string? System, string Code);
