namespace Igia.Terminology.Tests.TxEcosystem;

/// <summary>
/// The tests of the HL7 terminology suite that do not pass yet, each with the reason, and the number that must pass. When a
/// test starts passing, remove it here and raise <see cref="PassFloor"/>: the floor only ever rises.
/// </summary>
internal static class TxEcosystemKnownFailures
{
    /// <summary>At least this many of the 598 general tests pass.</summary>
    public const int PassFloor = 583;

    private const string StrictBody =
        "the FHIR server refuses the request body with 400 before the operation runs, because a tx-resource in it is invalid "
        + "on purpose (a filter without a value, a resource without status), which the operation should report or tolerate "
        + "itself; needs lenient operation bodies in Igia.Fhir (IFhirOperation.LenientBody, proposed; the terminology "
        + "operations already opt in, and with it these pass)";

    private const string DisplayOfOtherVersion =
        "the suite expects, for code2 taken from version 2.0.0 of the 'overload' code system, the display of version 1.0.0 "
        + "('Display 2'; 2.0.0 says 'Display #2'): an artefact of the reference server, which we do not reproduce";

    private const string UnquotedSystem =
        "the suite expects the unknown system unquoted here (\"CodeSystem http://...\"), while its own external messages "
        + "(messages-tx.fhir.org.json) and the other tests quote it (\"CodeSystem 'http://...'\"), as we do";

    public static readonly IReadOnlyDictionary<string, string> Tests = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["other/dual-filter"] = StrictBody,
        ["other/validation-dual-filter-in"] = StrictBody,
        ["other/validation-dual-filter-out"] = StrictBody,
        ["errors/unknown-system1"] = StrictBody,
        ["errors/unknown-system2"] = StrictBody + "; then also: " + UnquotedSystem,
        ["errors/broken-filter-validate"] = StrictBody,
        ["errors/broken-filter2-validate"] = StrictBody,
        ["errors/broken-filter-expand"] = StrictBody,
        ["errors/combination-ok"] = StrictBody,
        ["errors/combination-bad"] = StrictBody,
        ["overload/expand-all-merged"] = DisplayOfOtherVersion,
        ["overload/expand-enum-good"] = DisplayOfOtherVersion,
        ["overload/expand-enum-bad"] = DisplayOfOtherVersion,
        ["overload/expand-exclude-versioned"] = DisplayOfOtherVersion,
        ["validation/validation-simple-coding-bad-system"] = UnquotedSystem,
    };
}
