namespace Igia.Terminology.Engine;

/// <summary>Version strings of code systems and value sets: comparison (semver where it applies) and wildcard matching.</summary>
internal static class Versions
{
    /// <summary>True when <paramref name="pattern"/> contains a wildcard segment (<c>x</c>, <c>X</c> or <c>*</c>), e.g. <c>1.0.x</c>.</summary>
    public static bool IsWildcard(string? pattern) =>
        pattern is not null && pattern.Split('.').Any(s => s is "x" or "X" or "*");

    /// <summary>True when <paramref name="version"/> matches <paramref name="pattern"/> (exactly, or segment by segment with wildcards).</summary>
    public static bool Matches(string? pattern, string? version)
    {
        if (pattern is null)
        {
            return true;
        }

        if (version is null)
        {
            return false;
        }

        if (pattern == version)
        {
            return true;
        }

        if (!IsWildcard(pattern))
        {
            return false;
        }

        var p = pattern.Split('.');
        var v = version.Split('.', '-', '+');
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i] is "x" or "X" or "*")
            {
                continue;
            }

            if (i >= v.Length || p[i] != v[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Orders versions: numerically segment by segment when both look like (semantic) versions, else ordinally.</summary>
    public static int Compare(string? a, string? b)
    {
        if (a == b)
        {
            return 0;
        }

        if (a is null)
        {
            return -1;
        }

        if (b is null)
        {
            return 1;
        }

        var pa = a.Split('.', '-', '+');
        var pb = b.Split('.', '-', '+');
        for (var i = 0; i < Math.Max(pa.Length, pb.Length); i++)
        {
            if (i >= pa.Length)
            {
                return -1;
            }

            if (i >= pb.Length)
            {
                return 1;
            }

            var na = long.TryParse(pa[i], out var la);
            var nb = long.TryParse(pb[i], out var lb);
            int c;
            if (na && nb)
            {
                c = la.CompareTo(lb);
            }
            else
            {
                c = string.CompareOrdinal(pa[i], pb[i]);
            }

            if (c != 0)
            {
                return c;
            }
        }

        return string.CompareOrdinal(a, b);
    }

    /// <summary>Splits <c>url|version</c>.</summary>
    public static (string Url, string? Version) SplitCanonical(string canonical)
    {
        var bar = canonical.IndexOf('|');
        return bar < 0 ? (canonical, null) : (canonical[..bar], canonical[(bar + 1)..] is { Length: > 0 } v ? v : null);
    }
}
