using System.Text.RegularExpressions;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>
/// Computes granted scopes: requested ∩ allowed, with SMART wildcard and permission coverage (SMART v1 <c>.read</c>/<c>.write</c>/<c>.*</c>
/// and v2 <c>.cruds</c> with optional <c>?query</c>). Kept here rather than taken from Igia.Smart so that the server package does
/// not depend on the app-side package.
/// </summary>
internal static partial class ScopeGrant
{
    [GeneratedRegex(@"^(patient|user|system)/([A-Za-z]+|\*)\.(read|write|\*|c?r?u?d?s?)(\?.+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex ResourceScope();

    private sealed record Parsed(string Value, string? Context, string? Type, string Letters, string? Query);

    /// <summary>The requested scopes the client's <paramref name="allowed"/> list covers (order of the request kept, duplicates dropped).</summary>
    public static List<string> Intersect(IEnumerable<string> requested, IEnumerable<string> allowed)
    {
        var allowedScopes = allowed.SelectMany(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Distinct(StringComparer.Ordinal).Select(Parse).ToList();
        return requested.Distinct(StringComparer.Ordinal).Where(r => allowedScopes.Any(a => Covers(a, Parse(r)))).ToList();
    }

    /// <summary>True when the allowed scope <paramref name="allowed"/> permits <paramref name="requested"/>.</summary>
    public static bool Covers(string allowed, string requested) => Covers(Parse(allowed), Parse(requested));

    private static bool Covers(Parsed allowed, Parsed requested)
    {
        if (string.Equals(allowed.Value, requested.Value, StringComparison.Ordinal))
        {
            return true;
        }

        return allowed.Context is not null && requested.Context is not null
            && string.Equals(allowed.Context, requested.Context, StringComparison.Ordinal)
            && (allowed.Type == "*" || string.Equals(allowed.Type, requested.Type, StringComparison.Ordinal))
            && (allowed.Query is null || string.Equals(allowed.Query, requested.Query, StringComparison.Ordinal))
            && requested.Letters.Length > 0 && requested.Letters.All(allowed.Letters.Contains);
    }

    private static Parsed Parse(string value)
    {
        var m = ResourceScope().Match(value);
        if (!m.Success)
        {
            return new Parsed(value, null, null, "", null);
        }

        var letters = m.Groups[3].Value switch { "read" => "rs", "write" => "cud", "*" => "cruds", var v => v };
        return new Parsed(value, m.Groups[1].Value, m.Groups[2].Value, letters, m.Groups[4].Success ? m.Groups[4].Value[1..] : null);
    }
}
