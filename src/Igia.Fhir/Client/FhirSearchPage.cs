using Hl7.Fhir.Model;

namespace Igia.Fhir.Client;

/// <summary>
/// One page of search results: the Bundle as the server sent it, with its entries sorted into the resources that matched
/// the search, the resources added by <c>_include</c>/<c>_revinclude</c>, and the OperationOutcomes the server attached.
/// </summary>
/// <typeparam name="TResource">The type searched for.</typeparam>
public sealed class FhirSearchPage<TResource>
    where TResource : Resource
{
    /// <summary>Sorts the entries of <paramref name="bundle"/>.</summary>
    /// <param name="bundle">A searchset Bundle (or any Bundle whose entries carry <c>search.mode</c>).</param>
    /// <param name="pageNumber">The page's position, counted from 0.</param>
    public FhirSearchPage(Bundle bundle, int pageNumber = 0)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        Bundle = bundle;
        PageNumber = pageNumber;
        var matches = new List<TResource>(bundle.Entry.Count);
        var included = new List<Resource>();
        var outcomes = new List<OperationOutcome>();
        foreach (var entry in bundle.Entry)
        {
            switch (entry.Search?.Mode, entry.Resource)
            {
                case (_, null):
                    break;
                case (Bundle.SearchEntryMode.Include, var resource):
                    included.Add(resource);
                    break;
                case (Bundle.SearchEntryMode.Outcome, OperationOutcome outcome):
                    outcomes.Add(outcome);
                    break;
                case (null, OperationOutcome unmarked) when typeof(TResource) != typeof(OperationOutcome):
                    outcomes.Add(unmarked);
                    break;
                case (Bundle.SearchEntryMode.Match or null, TResource match):
                    matches.Add(match);
                    break;
                default:
                    // A match of another type than TResource (possible only in system searches): not part of Matches.
                    break;
            }
        }

        Matches = matches;
        Included = included;
        Outcomes = outcomes;
    }

    /// <summary>The Bundle as received.</summary>
    public Bundle Bundle { get; }

    /// <summary>The page's position, counted from 0.</summary>
    public int PageNumber { get; }

    /// <summary>The resources that matched the search (<c>search.mode = match</c>, or no mode).</summary>
    public IReadOnlyList<TResource> Matches { get; }

    /// <summary>The resources added by <c>_include</c> or <c>_revinclude</c> (<c>search.mode = include</c>).</summary>
    public IReadOnlyList<Resource> Included { get; }

    /// <summary>OperationOutcomes the server put in the page (e.g. warnings about ignored parameters).</summary>
    public IReadOnlyList<OperationOutcome> Outcomes { get; }

    /// <summary>The total number of matches over all pages, when the server says.</summary>
    public int? Total => Bundle.Total;

    /// <summary>The link to the next page, or null on the last page.</summary>
    public Uri? NextLink => Bundle.NextLink;
}
