using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;

namespace Igia.Workflow.Subscriptions;

/// <summary>
/// Backport filter criteria (<c>Task?status=requested&amp;owner=Organization/1</c>) evaluated in memory on the changed
/// resource, using the core SearchParameters' FHIRPath expressions (Firely FHIRPath). Supports token, reference and
/// string parameters and <c>_id</c>, with comma meaning OR and repeated parameters AND; anything else is refused when
/// the Subscription is written. Written here because no library evaluates FHIR search criteria against one resource.
/// </summary>
internal sealed class SubscriptionFilter
{
    private readonly List<(string Name, SearchParamType Type, string? Expression, string[] Values)> _clauses = [];

    public static SubscriptionFilter Parse(string resourceType, IEnumerable<string> criteria)
    {
        var filter = new SubscriptionFilter();
        foreach (var raw in criteria)
        {
            var query = raw;
            var q = raw.IndexOf('?');
            if (q >= 0)
            {
                if (q > 0 && raw[..q] != resourceType)
                {
                    throw Invalid($"The filter criteria '{raw}' is not about {resourceType}, the topic's resource type.");
                }

                query = raw[(q + 1)..];
            }

            foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=');
                if (eq <= 0)
                {
                    throw Invalid($"Filter criteria '{pair}' is not name=value.");
                }

                var name = Uri.UnescapeDataString(pair[..eq]);
                var values = Uri.UnescapeDataString(pair[(eq + 1)..]).Split(',');
                if (name == "_id")
                {
                    filter._clauses.Add((name, SearchParamType.Token, null, values));
                    continue;
                }

                var definition = ModelInfo.SearchParameters.FirstOrDefault(p => p.Resource == resourceType && p.Name == name)
                    ?? throw Invalid($"'{name}' is not a search parameter of {resourceType}.");
                if (definition.Type is not (SearchParamType.Token or SearchParamType.Reference or SearchParamType.String) || string.IsNullOrEmpty(definition.Expression))
                {
                    throw Invalid($"Filter parameter '{name}' is a {definition.Type} parameter; subscription filters support token, reference and string parameters.");
                }

                filter._clauses.Add((name, definition.Type, definition.Expression, values));
            }
        }

        return filter;
    }

    public bool IsEmpty => _clauses.Count == 0;

    public bool Matches(Resource? resource)
    {
        if (_clauses.Count == 0)
        {
            return true;
        }

        if (resource is null)
        {
            return false;
        }

        foreach (var (name, type, expression, values) in _clauses)
        {
            if (name == "_id")
            {
                if (!values.Contains(resource.Id))
                {
                    return false;
                }

                continue;
            }

            var found = resource.Select(expression!).OfType<Base>().ToList();
            if (!values.Any(v => found.Any(f => Match(type, f, v))))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Match(SearchParamType type, Base value, string wanted) => type switch
    {
        SearchParamType.Reference => value is ResourceReference r && r.Reference is { } reference
            && (reference == wanted || reference.EndsWith("/" + wanted, StringComparison.Ordinal) || (wanted.Contains('/') && reference.EndsWith(wanted, StringComparison.Ordinal))),
        SearchParamType.String => value is PrimitiveType { JsonValue: { } o } && (o.ToString() ?? "").StartsWith(wanted, StringComparison.OrdinalIgnoreCase)
            || value is HumanName n && (n.Family?.StartsWith(wanted, StringComparison.OrdinalIgnoreCase) == true || n.Given.Any(g => g is not null && g.StartsWith(wanted, StringComparison.OrdinalIgnoreCase))),
        _ => Token(value, wanted),
    };

    private static bool Token(Base value, string wanted)
    {
        var bar = wanted.IndexOf('|');
        var system = bar >= 0 ? wanted[..bar] : null;
        var code = bar >= 0 ? wanted[(bar + 1)..] : wanted;
        bool Is(string? s, string? c) => c == code && (system is null || s == system);
        return value switch
        {
            Coding c => Is(c.System, c.Code),
            CodeableConcept cc => cc.Coding.Any(c => Is(c.System, c.Code)),
            Identifier i => Is(i.System, i.Value),
            FhirBoolean b => system is null && b.Value?.ToString().Equals(code, StringComparison.OrdinalIgnoreCase) == true,
            PrimitiveType p => system is null && p.JsonValue?.ToString() == code,
            _ => false,
        };
    }

    private static FhirException Invalid(string message) => new(System.Net.HttpStatusCode.UnprocessableEntity, OperationOutcome.IssueType.Invalid, message);
}
