namespace Igia.Terminology.Tests.TxEcosystem;

/// <summary>
/// The tests of the HL7 terminology suite that do not pass yet, each with the reason, and the number that must pass. When a
/// test starts passing, remove it here and raise <see cref="PassFloor"/>: the floor only ever rises.
/// </summary>
internal static class TxEcosystemKnownFailures
{
    /// <summary>At least this many of the 598 general tests pass.</summary>
    public const int PassFloor = 592;

    private const string DisplayOfOtherVersion =
        "the suite expects, for code2 taken from version 2.0.0 of the 'overload' code system, the display of version 1.0.0 "
        + "('Display 2'; 2.0.0 says 'Display #2'): an artefact of the reference server, which we do not reproduce";

    private const string UnquotedSystem =
        "the suite expects the unknown system unquoted here (\"CodeSystem http://...\"), while its own external messages "
        + "(messages-tx.fhir.org.json) and the other tests quote it (\"CodeSystem 'http://...'\"), as we do; no rule tells "
        + "the two apart: regex-bad/validate-regex-bad is the same situation (a system the value set does not include, "
        + "unknown to the server) and expects the quoted form, and for the very same request given as code+system or as a "
        + "CodeableConcept (validation/simple-code-bad-system, simple-codeableconcept-bad-system) the external messages quote "
        + "the system; only this wording differs";

    public static readonly IReadOnlyDictionary<string, string> Tests = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["overload/expand-all-merged"] = DisplayOfOtherVersion,
        ["overload/expand-enum-good"] = DisplayOfOtherVersion,
        ["overload/expand-enum-bad"] = DisplayOfOtherVersion,
        ["overload/expand-exclude-versioned"] = DisplayOfOtherVersion,
        ["validation/validation-simple-coding-bad-system"] = UnquotedSystem,
        ["errors/unknown-system2"] = UnquotedSystem,
    };
}
