using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Search;

namespace Igia.Terminology.Operations;

/// <summary>
/// Gives FHIR search the codes of a value set for the token modifiers <c>:in</c> and <c>:not-in</c>, by expanding it with the
/// terminology service (page by page, so value sets larger than <see cref="TerminologyOptions.MaxExpansionSize"/> work).
/// An unknown value set is null (search reports it); any other failure is a 4xx for the search, never a 500.
/// </summary>
internal sealed class TerminologyValueSetMembership(IgiaTerminologyService service) : IFhirValueSetMembership
{
    private const int PageSize = 1000;

    public async ValueTask<IReadOnlyCollection<FhirSearchCode>?> ExpandAsync(string valueSet, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(valueSet);
        string? id = null;
        string? url = valueSet;
        string? version = null;
        if (valueSet.StartsWith("ValueSet/", StringComparison.Ordinal))
        {
            id = valueSet["ValueSet/".Length..];
            url = null;
        }
        else if (valueSet.IndexOf('|', StringComparison.Ordinal) is var bar and > 0)
        {
            url = valueSet[..bar];
            version = valueSet[(bar + 1)..];
        }

        var codes = new List<FhirSearchCode>();
        var offset = 0;
        while (true)
        {
            var parameters = new Parameters { { "count", new Integer(PageSize) }, { "offset", new Integer(offset) } };
            if (url is not null)
            {
                parameters.Add("url", new FhirUri(url));
            }

            if (version is not null)
            {
                parameters.Add("valueSetVersion", new FhirString(version));
            }

            ValueSet expansion;
            try
            {
                expansion = (ValueSet)await service.ExecuteAsync(TerminologyOperation.Expand, parameters, id is null ? null : new TerminologyCallContext { Id = id }, cancellationToken).ConfigureAwait(false);
            }
            catch (TerminologyOperationException e) when (IsUnknownValueSet(e))
            {
                return null;
            }
            catch (TerminologyOperationException e)
            {
                var status = (int)e.Status is >= 400 and < 500 ? e.Status : HttpStatusCode.BadRequest;
                throw e.Outcome is { } outcome
                    ? new FhirException(status, outcome)
                    : new FhirException(status, OperationOutcome.IssueType.Processing, $"The value set '{valueSet}' cannot be expanded for this search.");
            }

            var page = 0;
            foreach (var c in Flatten(expansion.Expansion?.Contains ?? []))
            {
                page++;
                if (c.Code is not null)
                {
                    codes.Add(new FhirSearchCode(c.System, c.Code));
                }
            }

            offset += PageSize;
            var total = expansion.Expansion?.Total;
            if (page == 0 || (total is { } t ? offset >= t : page < PageSize))
            {
                return codes;
            }
        }
    }

    private static IEnumerable<ValueSet.ContainsComponent> Flatten(IEnumerable<ValueSet.ContainsComponent> contains)
    {
        foreach (var c in contains)
        {
            yield return c;
            foreach (var child in Flatten(c.Contains))
            {
                yield return child;
            }
        }
    }

    /// <summary>
    /// The engine answers an unknown value set with 422 and a <c>not-found</c> issue (a remote server may answer 404);
    /// both mean "not known here", which search reports as its own 400.
    /// </summary>
    private static bool IsUnknownValueSet(TerminologyOperationException e) =>
        e.Status == HttpStatusCode.NotFound
        || (e.Status == HttpStatusCode.UnprocessableEntity
            && e.Outcome?.Issue is { Count: > 0 } issues
            && issues.TrueForAll(i => i.Code == OperationOutcome.IssueType.NotFound));
}
