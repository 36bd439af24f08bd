using System.Text.RegularExpressions;

namespace Igia.Audit.Internal;

/// <summary>FHIR logical ids.</summary>
internal static partial class FhirId
{
    /// <summary>True when <paramref name="id"/> is a valid FHIR id (<c>[A-Za-z0-9\-\.]{1,64}</c>).</summary>
    public static bool IsValid(string id) => Pattern().IsMatch(id);

    /// <summary>A new id for an AuditEvent: a version-7 GUID (time ordered), 32 hex digits.</summary>
    public static string New() => Guid.CreateVersion7().ToString("N");

    [GeneratedRegex("^[A-Za-z0-9\\-\\.]{1,64}$")]
    private static partial Regex Pattern();
}
