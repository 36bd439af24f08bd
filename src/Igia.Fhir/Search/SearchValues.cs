using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Igia.Fhir.Search;

/// <summary>Text normalisation shared by indexing and searching: diacritics removed, lower case (string search is case- and accent-insensitive).</summary>
internal static class SearchText
{
    /// <summary>Normalises <paramref name="value"/> for string matching.</summary>
    public static string Normalize(string value)
    {
        var ascii = true;
        foreach (var c in value)
        {
            if (c > 0x7f)
            {
                ascii = false;
                break;
            }
        }

        if (ascii)
        {
            return value.ToLowerInvariant();
        }

        string decomposed;
        try
        {
            decomposed = value.Normalize(NormalizationForm.FormD);
        }
        catch (ArgumentException)
        {
            // Invalid UTF-16 (a lone surrogate): compare it as it is, in lower case.
            return value.ToLowerInvariant();
        }

        var sb = new StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
        {
            switch (CharUnicodeInfo.GetUnicodeCategory(c))
            {
                case UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark:
                    continue;
            }

            switch (c)
            {
                case 'ß':
                    sb.Append("ss");
                    break;
                case 'ø' or 'Ø':
                    sb.Append('o');
                    break;
                case 'æ' or 'Æ':
                    sb.Append("ae");
                    break;
                case 'œ' or 'Œ':
                    sb.Append("oe");
                    break;
                case 'đ' or 'Đ':
                    sb.Append('d');
                    break;
                case 'ł' or 'Ł':
                    sb.Append('l');
                    break;
                case 'ı':
                    sb.Append('i');
                    break;
                default:
                    sb.Append(char.ToLowerInvariant(c));
                    break;
            }
        }

        var result = sb.ToString();
        return result.IsNormalized(NormalizationForm.FormC) ? result : result.Normalize(NormalizationForm.FormC);
    }
}

/// <summary>Splitting and unescaping of search parameter values (search.html#escaping: <c>\,</c> <c>\$</c> <c>\|</c> <c>\\</c>).</summary>
internal static class SearchEscaping
{
    /// <summary>Splits at <paramref name="separator"/> where it is not escaped by a backslash; pieces keep their escapes.</summary>
    public static List<string> Split(string value, char separator)
    {
        var parts = new List<string>();
        var start = 0;
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\')
            {
                i++;
                continue;
            }

            if (value[i] == separator)
            {
                parts.Add(value[start..i]);
                start = i + 1;
            }
        }

        parts.Add(value[start..]);
        return parts;
    }

    /// <summary>Removes the escaping backslashes.</summary>
    public static string Unescape(string value)
    {
        if (!value.Contains('\\'))
        {
            return value;
        }

        var sb = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\' && i + 1 < value.Length)
            {
                i++;
            }

            sb.Append(value[i]);
        }

        return sb.ToString();
    }

    /// <summary>Escapes a value for use in a search URL parameter value.</summary>
    public static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(",", "\\,", StringComparison.Ordinal)
            .Replace("$", "\\$", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal);
}

/// <summary>FHIR date/dateTime/instant values as ranges of instants (search.html#date).</summary>
internal static partial class SearchDates
{
    [GeneratedRegex(@"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>Parses a FHIR date, dateTime or instant into the inclusive range of UTC instants it covers at its precision.</summary>
    public static bool TryParseRange(string? text, out DateTimeOffset low, out DateTimeOffset high)
    {
        low = high = default;
        if (string.IsNullOrEmpty(text) || text.Length > 40)
        {
            return false;
        }

        var m = Pattern().Match(text);
        if (!m.Success)
        {
            return false;
        }

        var year = int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
        var month = m.Groups[2].Success ? int.Parse(m.Groups[2].ValueSpan, CultureInfo.InvariantCulture) : 1;
        var day = m.Groups[3].Success ? int.Parse(m.Groups[3].ValueSpan, CultureInfo.InvariantCulture) : 1;
        var hour = m.Groups[4].Success ? int.Parse(m.Groups[4].ValueSpan, CultureInfo.InvariantCulture) : 0;
        var minute = m.Groups[5].Success ? int.Parse(m.Groups[5].ValueSpan, CultureInfo.InvariantCulture) : 0;
        var second = m.Groups[6].Success ? int.Parse(m.Groups[6].ValueSpan, CultureInfo.InvariantCulture) : 0;
        if (year < 1 || month is < 1 or > 12 || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        if (day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }

        var offset = TimeSpan.Zero;
        if (m.Groups[8].Success && m.Groups[8].Value != "Z")
        {
            var z = m.Groups[8].Value;
            var h = int.Parse(z.AsSpan(1, 2), CultureInfo.InvariantCulture);
            var mm = int.Parse(z.AsSpan(4, 2), CultureInfo.InvariantCulture);
            if (h > 14 || mm > 59)
            {
                return false;
            }

            offset = new TimeSpan(h, mm, 0);
            if (z[0] == '-')
            {
                offset = -offset;
            }
        }

        long fractionTicks = 0;
        long precisionTicks;
        if (m.Groups[7].Success)
        {
            var digits = m.Groups[7].Value;
            var seven = digits.Length >= 7 ? digits[..7] : digits.PadRight(7, '0');
            fractionTicks = long.Parse(seven, CultureInfo.InvariantCulture);
            precisionTicks = digits.Length >= 7 ? 1 : (long)Math.Pow(10, 7 - digits.Length);
        }
        else
        {
            precisionTicks = 0;
        }

        DateTimeOffset start;
        try
        {
            start = new DateTimeOffset(year, month, day, hour, minute, second, offset).AddTicks(fractionTicks);
            low = start.ToUniversalTime();
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }

        try
        {
            DateTimeOffset end;
            if (m.Groups[7].Success)
            {
                end = start.AddTicks(precisionTicks);
            }
            else if (m.Groups[6].Success)
            {
                end = start.AddSeconds(1);
            }
            else if (m.Groups[5].Success)
            {
                end = start.AddMinutes(1);
            }
            else if (m.Groups[3].Success)
            {
                end = start.AddDays(1);
            }
            else if (m.Groups[2].Success)
            {
                end = start.AddMonths(1);
            }
            else
            {
                end = start.AddYears(1);
            }

            high = end.ToUniversalTime().AddTicks(-1);
        }
        catch (ArgumentOutOfRangeException)
        {
            // The end of year 9999 and similar edges.
            high = DateTimeOffset.MaxValue;
        }

        return true;
    }
}

/// <summary>Decimal search values with their implicit precision range (search.html#number).</summary>
internal static class SearchNumbers
{
    /// <summary>Parses a number (decimal or exponent form) and the half-open range [<paramref name="low"/>, <paramref name="high"/>) its precision implies.</summary>
    public static bool TryParse(string text, out decimal value, out decimal low, out decimal high)
    {
        value = low = high = 0;
        if (text.Length == 0 || text.Length > 40)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiDigit(c) || c is '.' or '-' or '+' or 'e' or 'E'))
            {
                return false;
            }
        }

        if (!decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        {
            return false;
        }

        var mantissa = text;
        var exponent = 0;
        var e = text.IndexOfAny(['e', 'E']);
        if (e >= 0)
        {
            mantissa = text[..e];
            if (!int.TryParse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent))
            {
                return false;
            }
        }

        var dot = mantissa.IndexOf('.');
        var decimals = dot < 0 ? 0 : mantissa.Length - dot - 1;
        var scale = decimals - exponent;
        decimal half;
        try
        {
            half = scale >= 0 ? 0.5m / Pow10(scale) : 0.5m * Pow10(-scale);
        }
        catch (OverflowException)
        {
            return false;
        }

        try
        {
            low = value - half;
            high = value + half;
        }
        catch (OverflowException)
        {
            return false;
        }

        return true;
    }

    private static decimal Pow10(int n)
    {
        if (n > 27)
        {
            throw new OverflowException();
        }

        var r = 1m;
        for (var i = 0; i < n; i++)
        {
            r *= 10;
        }

        return r;
    }
}
