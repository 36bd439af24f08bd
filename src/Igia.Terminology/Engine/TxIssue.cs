using System.Net;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;

namespace Igia.Terminology.Engine;

/// <summary>
/// One issue of a terminology operation, in the shape the HL7 terminology ecosystem uses: a severity, an issue type, a
/// <c>tx-issue-type</c> code (<c>http://hl7.org/fhir/tools/CodeSystem/tx-issue-type</c>), a message and the element it is about.
/// </summary>
internal sealed record TxIssue(
    OperationOutcome.IssueSeverity Severity,
    OperationOutcome.IssueType Type,
    string TxCode,
    string Text,
    string? Expression,
    bool InMessage = true)
{
    public const string TxIssueTypeSystem = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type";

    public const string MessageIdExtension = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id";

    /// <summary>The message id (<c>operationoutcome-message-id</c>); when null it is recognised from the text.</summary>
    public string? MessageId { get; init; }

    public OperationOutcome.IssueComponent ToComponent()
    {
        var issue = new OperationOutcome.IssueComponent
        {
            Severity = Severity,
            Code = Type,
            Details = TxCode.Length == 0 ? new CodeableConcept { Text = Text } : new CodeableConcept(TxIssueTypeSystem, TxCode) { Text = Text },
        };
        if ((MessageId ?? TxMessageIds.Recognise(Text)) is { } id)
        {
            issue.Extension.Add(new Extension(MessageIdExtension, new FhirString(id)));
        }
        if (Expression is not null)
        {
            issue.ExpressionElement.Add(new FhirString(Expression));
        }

        return issue;
    }

    public static OperationOutcome Outcome(IEnumerable<TxIssue> issues)
    {
        var outcome = new OperationOutcome();
        foreach (var i in issues)
        {
            outcome.Issue.Add(i.ToComponent());
        }

        return outcome;
    }
}

/// <summary>
/// Thrown by the engine to end an operation with an HTTP error and an OperationOutcome (unknown value set, malformed
/// parameters, an expansion too large...). The operation endpoints turn it into the response; the Firely API into a
/// <c>FhirOperationException</c>.
/// </summary>
internal sealed class TxException : Exception
{
    public TxException(HttpStatusCode status, TxIssue issue)
        : this(status, [issue])
    {
    }

    public TxException(HttpStatusCode status, IReadOnlyList<TxIssue> issues)
        : base(issues.FirstOrDefault()?.Text ?? status.ToString())
    {
        Status = status;
        Issues = issues;
    }

    public HttpStatusCode Status { get; }

    public IReadOnlyList<TxIssue> Issues { get; }

    public OperationOutcome ToOutcome() => TxIssue.Outcome(Issues);

    public static TxException NotFound(string text, string txCode = "not-found") =>
        new(HttpStatusCode.NotFound, new TxIssue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.NotFound, txCode, text, null));

    public static TxException Invalid(string text, string txCode = "invalid-data") =>
        new(HttpStatusCode.BadRequest, new TxIssue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Invalid, txCode, text, null));

    public static TxException NotSupported(string text) =>
        new(HttpStatusCode.BadRequest, new TxIssue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.NotSupported, "not-supported", text, null));

    public static TxException TooCostly(string text) =>
        new(HttpStatusCode.UnprocessableEntity, new TxIssue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.TooCostly, "too-costly", text, null));
}

/// <summary>
/// The ids of the messages this engine produces, as the HL7 terminology ecosystem names them (the keys of the FHIR
/// validator's and tx.fhir.org's message bundles), recognised from the message text so that every issue carries one.
/// </summary>
internal static class TxMessageIds
{
    private static readonly (Regex Pattern, string Id)[] Table =
    [
        (R(@"^Code '.*' is abstract, and not allowed in this context$"), "ABSTRACT_CODE_NOT_ALLOWED"),
        (R(@"is a supplement, so can't be used as a value in Coding\.system$"), "CODESYSTEM_CS_NO_SUPPLEMENT"),
        (R(@"^The code '.*' differs from the correct code '.*' by case"), "CODE_CASE_DIFFERENCE"),
        (R(@"^The presence of the concept '.*' in the system '.*' in the value set "), "CONCEPT_DEPRECATED_IN_VALUESET"),
        (R(@"^Coding has no system\. A code with no system has no defined meaning"), "Coding_has_no_system__cannot_validate"),
        (R(@"^The concept '.*' is deprecated and its use should be reviewed$"), "DEPRECATED_CONCEPT_FOUND"),
        (R(@"^The concept '.*' is valid but is not active$"), "STATUS_CODE_WARNING_CODE"),
        (R(@"^The concept '.*' has a status of .* and its use should be reviewed$"), "INACTIVE_CONCEPT_FOUND"),
        (R(@"is no longer considered a correct display for code"), "INACTIVE_DISPLAY_FOUND"),
        (R(@"^Invalid displayLanguage"), "INVALID_DISPLAY_NAME"),
        (R(@"^Reference to deprecated "), "MSG_DEPRECATED"),
        (R(@"^Reference to draft "), "MSG_DRAFT"),
        (R(@"^Reference to experimental "), "MSG_EXPERIMENTAL"),
        (R(@"^Reference to withdrawn "), "MSG_WITHDRAWN"),
        (R(@"^Reference to retired "), "MSG_RETIRED"),
        (R(@"^Wrong Display Name '.*' for .* There are no valid display names found for language"), "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR"),
        (R(@"^There are no valid display names found for the code "), "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK"),
        (R(@"^Wrong whitespace in Display Name "), "Display_Name_WS_for__should_be_one_of__instead_of"),
        (R(@"^Wrong Display Name "), "Display_Name_for__should_be_one_of__instead_of"),
        (R(@"^The provided code .* was not found in the value set "), "None_of_the_provided_codes_are_in_the_value_set_one"),
        (R(@"^No valid coding was found for the value set "), "TX_GENERAL_CC_ERROR_MESSAGE"),
        (R(@"^Coding\.system must be an absolute reference, not a local reference$"), "Terminology_TX_System_Relative"),
        (R(@"^The Coding references a value set, not a code system "), "Terminology_TX_System_ValueSet2"),
        (R(@" filter with property = .*, op = .* has no value$"), "UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE"),
        (R(@"^The System URI could not be determined for the code .*: value set expansion has multiple matches"), "Unable_to_resolve_system__value_set_has_multiple_matches"),
        (R(@"^The System URI could not be determined for the code "), "UNABLE_TO_INFER_CODESYSTEM"),
        (R(@"^A definition for CodeSystem '.*' version '.*' could not be found, so the code cannot be validated\. No versions"), "UNKNOWN_CODESYSTEM_VERSION_NONE"),
        (R(@"^A definition for CodeSystem '.*' version '.*' could not be found, so the value set cannot be expanded\. No versions"), "UNKNOWN_CODESYSTEM_VERSION_EXP_NONE"),
        (R(@"^A definition for CodeSystem '.*' version '.*' could not be found, so the value set cannot be expanded"), "UNKNOWN_CODESYSTEM_VERSION_EXP"),
        (R(@"^A definition for CodeSystem '.*' version '.*' could not be found, so the code cannot be validated"), "UNKNOWN_CODESYSTEM_VERSION"),
        (R(@"^A definition for CodeSystem .* could not be found, so the value set cannot be expanded"), "UNKNOWN_CODESYSTEM_EXP"),
        (R(@"^A definition for CodeSystem .* could not be found, so the code cannot be validated"), "UNKNOWN_CODESYSTEM"),
        (R(@"^Unknown Code '.*' in the CodeSystem '.*' version '.*' - note that the code system is labeled as a fragment"), "UNKNOWN_CODE_IN_FRAGMENT"),
        (R(@"^Unknown code '.*' in the CodeSystem '.*' version '"), "Unknown_Code_in_Version"),
        (R(@"^Unknown code '.*' in the CodeSystem '"), "Unknown_Code_in"),
        (R(@"^A definition for the value Set '.*' could not be found$"), "Unable_to_resolve_value_Set_"),
        (R(@"^Unable to find included value set '.*' version '.*'$"), "VS_EXP_IMPORT_UNK_PINNED"),
        (R(@"^Found a circularity pointing to "), "VALUESET_CIRCULAR_REFERENCE"),
        (R(@"^Required supplement not found"), "VALUESET_SUPPLEMENT_MISSING"),
        (R(@"expansion has too many codes to produce"), "VALUESET_TOO_COSTLY"),
        (R(@"^The code system '.*' version '.*' resulting from the version '.*' in the ValueSet include is different to"), "VALUESET_VALUE_MISMATCH_CHANGED"),
        (R(@"^The code system '.*' version '.*' for the versionless include in the ValueSet include is different to"), "VALUESET_VALUE_MISMATCH_DEFAULT"),
        (R(@"^The code system '.*' version '.*' in the ValueSet include is different to the one in the value"), "VALUESET_VALUE_MISMATCH"),
        (R(@"^The version '.*' is not allowed for system '.*': required to be '.*' by a version-check parameter"), "VALUESET_VERSION_CHECK"),
    ];

    /// <summary>The id of the message <paramref name="text"/> is an instance of, or null when it is not one of the known messages.</summary>
    public static string? Recognise(string text)
    {
        foreach (var (pattern, id) in Table)
        {
            if (pattern.IsMatch(text))
            {
                return id;
            }
        }

        return null;
    }

    private static Regex R(string pattern) => new(pattern, RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1));
}
