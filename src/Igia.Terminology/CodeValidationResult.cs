using Hl7.Fhir.Model;

namespace Igia.Terminology;

/// <summary>
/// The answer of a ValueSet (or CodeSystem) <c>$validate-code</c> as a typed, immutable object: whether the code is valid,
/// the code system's display and version, and the message and issues when it is not (or has warnings). Returned by
/// <see cref="IgiaTerminologyService.ValidateCodeAsync"/>; a repeated request gets the same instance, so it costs no
/// allocation. <see cref="ToParameters"/> gives the FHIR <c>Parameters</c> form, which is what the Parameters API returns.
/// </summary>
public sealed class CodeValidationResult
{
    private static readonly IReadOnlyList<CodeValidationIssue> NoIssues = [];

    private readonly Item[] _items;

    private CodeValidationResult(Parameters answer)
    {
        _items = [.. answer.Parameter.Select(Item.Of)];
        Result = answer.GetSingleValue<FhirBoolean>("result")?.Value == true;
        System = Text(answer, "system");
        Code = Text(answer, "code");
        Version = Text(answer, "version");
        Display = Text(answer, "display");
        Message = Text(answer, "message");
        Inactive = answer.GetSingleValue<FhirBoolean>("inactive")?.Value == true;
        Issues = answer.Parameter.FirstOrDefault(p => p.Name == "issues")?.Resource is OperationOutcome outcome && outcome.Issue.Count > 0
            ? [.. outcome.Issue.Select(CodeValidationIssue.Of)]
            : NoIssues;
    }

    /// <summary>True when the code is valid in the value set (warnings, e.g. an inactive concept, may still be in <see cref="Issues"/>).</summary>
    public bool Result { get; }

    /// <summary>The code system of the code (as given, or inferred), or null.</summary>
    public string? System { get; }

    /// <summary>The code, or null (e.g. for a CodeableConcept none of whose codings is valid).</summary>
    public string? Code { get; }

    /// <summary>The version of the code system the code was checked against, or null.</summary>
    public string? Version { get; }

    /// <summary>The code system's display of the code (in the requested language), or null.</summary>
    public string? Display { get; }

    /// <summary>The error (and warning) messages joined with "; ", or null when there is none.</summary>
    public string? Message { get; }

    /// <summary>True when the concept is inactive.</summary>
    public bool Inactive { get; }

    /// <summary>The issues of the answer (errors and warnings), in the order of its <c>issues</c> OperationOutcome; empty when none.</summary>
    public IReadOnlyList<CodeValidationIssue> Issues { get; }

    /// <summary>
    /// The answer as a FHIR <c>Parameters</c> (<c>result</c>, <c>system</c>, <c>code</c>, <c>version</c>, <c>display</c>,
    /// <c>message</c>, <c>issues</c>, ...). The Parameters, its entries and their primitive values are new on every call, so
    /// the caller owns them; complex values and the <c>issues</c> OperationOutcome are shared with this result, so treat
    /// them as read-only (<c>DeepCopy()</c> them to change them).
    /// </summary>
    public Parameters ToParameters()
    {
        var items = _items;
        var to = new List<Parameters.ParameterComponent>(items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            to.Add(items[i].Copy());
        }

        return new Parameters { Parameter = to };
    }

    /// <summary>The result of an answer of the engine or a remote server; the answer becomes this result's (the caller keeps no reference to change it).</summary>
    internal static CodeValidationResult Of(Parameters answer) => new(answer);

    /// <summary>The ValueSet <c>$validate-code</c> request the typed API stands for.</summary>
    internal static Parameters Request(string valueSetUrl, string system, string code, string? display, string? systemVersion)
    {
        var p = new Parameters
        {
            { "url", new FhirUri(valueSetUrl) },
            { "system", new FhirUri(system) },
            { "code", new Code(code) },
        };
        if (!string.IsNullOrEmpty(display))
        {
            p.Add("display", new FhirString(display));
        }

        if (!string.IsNullOrEmpty(systemVersion))
        {
            p.Add("systemVersion", new FhirString(systemVersion));
        }

        return p;
    }

    private static string? Text(Parameters answer, string name) =>
        answer.Parameter.FirstOrDefault(p => p.Name == name)?.Value is PrimitiveType { JsonValue: { } v } ? v.ToString() : null;

    private enum Kind
    {
        /// <summary>No value, or a complex value shared with the result.</summary>
        Shared,

        /// <summary>A primitive that is copied with <c>DeepCopy</c> (a type without a case of its own, or with an id or extensions).</summary>
        DeepCopy,
        Boolean,
        Code,
        String,
        Uri,
        Canonical,
    }

    /// <summary>
    /// One parameter of the answer, prepared once for copying: its name and how to make its value (a new primitive of a
    /// known type from its raw value, or the shared complex value), so that <see cref="ToParameters"/> does no type tests.
    /// </summary>
    private readonly record struct Item(string? Name, Kind Kind, DataType? Value, string? Text, bool Flag, Resource? Resource, Parameters.ParameterComponent[]? Parts)
    {
        public static Item Of(Parameters.ParameterComponent p)
        {
            Parameters.ParameterComponent[]? parts = p.Part.Count > 0 ? [.. p.Part] : null;
            var (kind, text, flag) = p.Value switch
            {
                not PrimitiveType => (Kind.Shared, null, false),
                PrimitiveType x when x.ElementId is not null || x.Extension.Count > 0 => (Kind.DeepCopy, null, false),

                // Exact types only: several FHIR primitives derive from these.
                FhirBoolean { Value: { } b } x when x.GetType() == typeof(FhirBoolean) => (Kind.Boolean, null, b),
                Code c when c.GetType() == typeof(Code) => (Kind.Code, c.Value, false),
                FhirString s when s.GetType() == typeof(FhirString) => (Kind.String, s.Value, false),
                FhirUri u when u.GetType() == typeof(FhirUri) => (Kind.Uri, u.Value, false),
                Canonical c when c.GetType() == typeof(Canonical) => (Kind.Canonical, c.Value, false),
                _ => (Kind.DeepCopy, (string?)null, false),
            };

            return new Item(p.Name, kind, p.Value, text, flag, p.Resource, parts);
        }

        public Parameters.ParameterComponent Copy()
        {
            DataType? value = Kind switch
            {
                Kind.Boolean => new FhirBoolean(Flag),
                Kind.Code => new Code(Text),
                Kind.String => new FhirString(Text),
                Kind.Uri => new FhirUri(Text),
                Kind.Canonical => new Canonical(Text),
                Kind.DeepCopy => (DataType)Value!.DeepCopy(),
                _ => Value,
            };

            var copy = new Parameters.ParameterComponent { Value = value, Resource = Resource };
            if (Name is not null)
            {
                copy.NameElement = new FhirString(Name);
            }

            if (Parts is not null)
            {
                var parts = new List<Parameters.ParameterComponent>(Parts.Length);
                foreach (var part in Parts)
                {
                    parts.Add((Parameters.ParameterComponent)part.DeepCopy());
                }

                copy.Part = parts;
            }

            return copy;
        }
    }
}

/// <summary>One issue of a <see cref="CodeValidationResult"/>.</summary>
/// <param name="Severity">Error, warning or information.</param>
/// <param name="Type">The FHIR issue type (e.g. <c>code-invalid</c>, <c>not-found</c>, <c>invalid</c>).</param>
/// <param name="TxIssueType">The code of <c>http://hl7.org/fhir/tools/CodeSystem/tx-issue-type</c> (e.g. <c>not-in-vs</c>, <c>invalid-display</c>, <c>invalid-code</c>), or null.</param>
/// <param name="Text">The message.</param>
/// <param name="Expression">Where in the request the issue is (e.g. <c>code</c>, <c>Coding.display</c>), or null.</param>
public sealed record CodeValidationIssue(OperationOutcome.IssueSeverity Severity, OperationOutcome.IssueType Type, string? TxIssueType, string? Text, string? Expression)
{
    private const string TxIssueTypeSystem = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type";

    internal static CodeValidationIssue Of(OperationOutcome.IssueComponent issue) => new(
        issue.Severity ?? OperationOutcome.IssueSeverity.Error,
        issue.Code ?? OperationOutcome.IssueType.Unknown,
        issue.Details?.Coding.FirstOrDefault(c => c.System == TxIssueTypeSystem)?.Code,
        issue.Details?.Text,
        issue.Expression.FirstOrDefault());
}
