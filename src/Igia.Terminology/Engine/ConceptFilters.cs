using System.Text.RegularExpressions;
using Hl7.Fhir.Model;

namespace Igia.Terminology.Engine;

/// <summary>
/// The ValueSet compose filters over an indexed code system: <c>=</c>, <c>is-a</c>, <c>descendent-of</c>, <c>is-not-a</c>,
/// <c>regex</c>, <c>in</c>, <c>not-in</c>, <c>generalizes</c>, <c>child-of</c>, <c>descendent-leaf</c> and <c>exists</c>, on
/// <c>concept</c>/<c>code</c>, <c>display</c> and any property (by code, or standard properties by their URI).
/// </summary>
internal static class ConceptFilters
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(250);

    /// <summary>A compiled filter: a predicate and, when the filter narrows the code system to a known set, that set.</summary>
    internal sealed record CompiledFilter(Func<ConceptNode, bool> Matches, IReadOnlyCollection<ConceptNode>? Candidates);

    public static string OpCode(ValueSet.FilterComponent f) =>
        f.OpElement.Text() ?? "";

    /// <summary>Compiles a filter; throws <see cref="TxException"/> when it cannot be evaluated.</summary>
    public static CompiledFilter Compile(CodeSystemModel cs, ValueSet.FilterComponent filter)
    {
        var property = filter.Property ?? "";
        var op = OpCode(filter);
        var value = filter.Value;
        if (value is null && op != "exists")
        {
            throw new TxException(System.Net.HttpStatusCode.BadRequest, new TxIssue(
                OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Invalid, "vs-invalid",
                $"The system {cs.Url} filter with property = {property}, op = {op} has no value", null));
        }

        value ??= "true";
        if (property is "concept" or "code" || IsConceptProperty(cs, property))
        {
            return CompileConcept(cs, property, op, value);
        }

        if (property == "display")
        {
            return op switch
            {
                "=" => new(n => n.Display == value, null),
                "regex" => Regex(value, n => n.Display),
                "in" => InList(value, n => n.Display),
                "not-in" => Negate(InList(value, n => n.Display)),
                "exists" => new(n => (n.Display is not null) == IsTrue(value), null),
                _ => throw Unsupported(cs, property, op),
            };
        }

        return CompileProperty(cs, property, op, value);
    }

    private static bool IsConceptProperty(CodeSystemModel cs, string property) =>
        cs.PropertyDefinitions.TryGetValue(property, out var def) && def.Uri == "http://hl7.org/fhir/concept-properties#concept";

    private static CompiledFilter CompileConcept(CodeSystemModel cs, string property, string op, string value)
    {
        ConceptNode? Target() => cs.Find(value);
        switch (op)
        {
            case "=":
                return new(n => Same(cs, n.Code, value), Target() is { } exact ? [exact] : []);
            case "is-a":
            {
                var t = Target();
                if (t is null)
                {
                    return new(_ => false, []);
                }

                var set = CodeSystemModel.Descendants(t);
                set.Insert(0, t);
                var hash = set.ToHashSet();
                return new(hash.Contains, set);
            }

            case "descendent-of":
            {
                var t1 = Target();
                if (t1 is null)
                {
                    return new(_ => false, []);
                }

                var set = CodeSystemModel.Descendants(t1);
                var hash = set.ToHashSet();
                return new(hash.Contains, set);
            }

            case "is-not-a":
            {
                var t2 = Target();
                if (t2 is null)
                {
                    return new(_ => true, null);
                }

                var set = CodeSystemModel.Descendants(t2).ToHashSet();
                set.Add(t2);
                return new(n => !set.Contains(n), null);
            }

            case "generalizes":
            {
                var t3 = Target();
                if (t3 is null)
                {
                    return new(_ => false, []);
                }

                var set = new HashSet<ConceptNode> { t3 };
                var stack = new Stack<ConceptNode>(t3.Parents);
                while (stack.Count > 0)
                {
                    var p = stack.Pop();
                    if (set.Add(p))
                    {
                        foreach (var pp in p.Parents)
                        {
                            stack.Push(pp);
                        }
                    }
                }

                var list = set.OrderBy(n => n.Order).ToList();
                return new(set.Contains, list);
            }

            case "child-of":
            {
                var t4 = Target();
                if (t4 is null)
                {
                    return new(_ => false, []);
                }

                var list = t4.Children.OrderBy(n => n.Order).ToList();
                var hash = list.ToHashSet();
                return new(hash.Contains, list);
            }

            case "descendent-leaf":
            {
                var t5 = Target();
                if (t5 is null)
                {
                    return new(_ => false, []);
                }

                var list = CodeSystemModel.Descendants(t5).Where(n => n.IsLeaf).ToList();
                var hash = list.ToHashSet();
                return new(hash.Contains, list);
            }

            case "in":
            {
                var codes = SplitList(value);
                var list = codes.Select(cs.Find).Where(n => n is not null).Select(n => n!).Distinct().OrderBy(n => n.Order).ToList();
                var hash = list.ToHashSet();
                return new(hash.Contains, list);
            }

            case "not-in":
            {
                var codes = SplitList(value).Select(cs.Find).Where(n => n is not null).ToHashSet();
                return new(n => !codes.Contains(n), null);
            }

            case "regex":
                return Regex(value, n => n.Code);
            case "exists":
                return new(n => (cs.Find(n.Code) is not null) == IsTrue(value), null);
            default:
                throw Unsupported(cs, property, op);
        }
    }

    private static CompiledFilter CompileProperty(CodeSystemModel cs, string property, string op, string value)
    {
        var isStandard = property is "inactive" or "notSelectable" or "status" or "parent" or "child" or "deprecated";
        if (!cs.PropertyDefinitions.ContainsKey(property) && !isStandard
            && !cs.All.Any(n => n.Properties.Any(p => p.Code == property)))
        {
            throw new TxException(System.Net.HttpStatusCode.BadRequest, new TxIssue(
                OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Invalid, "vs-invalid",
                $"The property '{property}' is not known for the code system {cs.Url}, so the filter cannot be evaluated", null));
        }

        // The property codes this filter name covers: the name itself, or the code a standard URI is declared under.
        var codes = property switch
        {
            "inactive" or "notSelectable" or "status" or "parent" or "child" or "deprecated" => cs.PropertyCodesFor(property).Append(property).ToHashSet(),
            _ => [property],
        };
        IEnumerable<string> Values(ConceptNode n)
        {
            foreach (var p in n.Properties)
            {
                if (codes.Contains(p.Code) && ValueText(p.Value) is { } v)
                {
                    yield return v;
                }
            }

            switch (property)
            {
                case "inactive" when !n.Properties.Any(p => codes.Contains(p.Code)):
                    yield return n.Inactive ? "true" : "false";
                    break;
                // notSelectable has no implied value: a concept without the property matches neither true nor false.
                case "notSelectable" when n.NotSelectable && !n.Properties.Any(p => codes.Contains(p.Code)):
                    yield return "true";
                    break;
                case "parent":
                    foreach (var parent in n.Parents)
                    {
                        yield return parent.Code;
                    }

                    break;
                case "child":
                    foreach (var child in n.Children)
                    {
                        yield return child.Code;
                    }

                    break;
            }
        }

        switch (op)
        {
            case "=":
                return new(n => Values(n).Any(v => string.Equals(v, value, StringComparison.Ordinal)), null);
            case "in":
            {
                var set = SplitList(value).ToHashSet(StringComparer.Ordinal);
                return new(n => Values(n).Any(set.Contains), null);
            }

            case "not-in":
            {
                var set = SplitList(value).ToHashSet(StringComparer.Ordinal);
                return new(n => !Values(n).Any(set.Contains), null);
            }

            case "regex":
            {
                var regex = MakeRegex(value);
                return new(n => Values(n).Any(v => SafeMatch(regex, v)), null);
            }

            case "exists":
                return new(n => Values(n).Any() == IsTrue(value), null);
            default:
                throw Unsupported(cs, property, op);
        }
    }

    private static TxException Unsupported(CodeSystemModel cs, string property, string op) =>
        new(System.Net.HttpStatusCode.BadRequest, new TxIssue(
            OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.NotSupported, "vs-invalid",
            $"The filter '{property} {op}' is not supported for the code system {cs.Url}", null));

    private static bool Same(CodeSystemModel cs, string a, string b) =>
        string.Equals(a, b, cs.CaseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase);

    private static bool IsTrue(string value) => !string.Equals(value, "false", StringComparison.OrdinalIgnoreCase);

    private static List<string> SplitList(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    private static CompiledFilter InList(string value, Func<ConceptNode, string?> field)
    {
        var set = SplitList(value).ToHashSet(StringComparer.Ordinal);
        return new(n => field(n) is { } f && set.Contains(f), null);
    }

    private static CompiledFilter Negate(CompiledFilter f) => new(n => !f.Matches(n), null);

    private static CompiledFilter Regex(string pattern, Func<ConceptNode, string?> field)
    {
        var regex = MakeRegex(pattern);
        return new(n => field(n) is { } s && SafeMatch(regex, s), null);
    }

    /// <summary>
    /// Compiles a filter's regular expression (matched against the whole value). The non-backtracking engine runs in
    /// time linear in the input, so a catastrophic pattern such as <c>(a+)+</c> cannot stall the server; patterns it cannot
    /// run (backreferences, lookarounds) use the backtracking engine with a timeout.
    /// </summary>
    internal static Regex MakeRegex(string pattern)
    {
        var anchored = "^(?:" + pattern + ")$";
        try
        {
            return new Regex(anchored, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }
        catch (NotSupportedException)
        {
        }
        catch (ArgumentException)
        {
        }

        try
        {
            return new Regex(anchored, RegexOptions.CultureInvariant, RegexTimeout);
        }
        catch (ArgumentException e)
        {
            throw new TxException(System.Net.HttpStatusCode.BadRequest, new TxIssue(
                OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Invalid, "vs-invalid",
                $"The regular expression '{pattern}' is not valid: {e.Message}", null));
        }
    }

    private static bool SafeMatch(Regex regex, string input)
    {
        try
        {
            return regex.IsMatch(input);
        }
        catch (RegexMatchTimeoutException)
        {
            throw new TxException(System.Net.HttpStatusCode.UnprocessableEntity, new TxIssue(
                OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.TooCostly, "too-costly",
                $"The regular expression '{regex}' took too long to evaluate", null));
        }
    }

    private static string? ValueText(DataType value) => value.Text();
}
