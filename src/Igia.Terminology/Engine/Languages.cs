using System.Globalization;

namespace Igia.Terminology.Engine;

/// <summary>How closely two language tags must agree.</summary>
internal enum LanguageMatch
{
    /// <summary>The whole tag (case-insensitive).</summary>
    Full,

    /// <summary>Language and region.</summary>
    LanguageRegion,

    /// <summary>The primary language only.</summary>
    Language,
}

/// <summary>A BCP 47 language tag, split into the parts matching needs.</summary>
internal sealed class Language
{
    public Language(string code, double quality = 1.0)
    {
        Code = code.Trim();
        Quality = quality;
        var parts = Code.Split('-', '_');
        Primary = parts[0].ToLowerInvariant();
        Region = parts.Skip(1).FirstOrDefault(p => p.Length == 2 || (p.Length == 3 && p.All(char.IsDigit)))?.ToUpperInvariant();
    }

    public string Code { get; }

    public string Primary { get; }

    public string? Region { get; }

    public double Quality { get; }

    public bool IsWildcard => Code == "*";

    public bool Matches(Language actual, LanguageMatch depth) => depth switch
    {
        LanguageMatch.Full => string.Equals(Code, actual.Code, StringComparison.OrdinalIgnoreCase),
        LanguageMatch.LanguageRegion => Primary == actual.Primary && Region == actual.Region,
        _ => Primary == actual.Primary,
    };

    public override string ToString() => Code;

    public static Language? Parse(string? code) => string.IsNullOrWhiteSpace(code) ? null : new Language(code);
}

/// <summary>
/// A list of languages in order of preference, as given by <c>displayLanguage</c> or an <c>Accept-Language</c> header
/// (quality values honoured, <c>*</c> allowed).
/// </summary>
internal sealed class Languages
{
    private Languages(IReadOnlyList<Language> list, string source)
    {
        List = list;
        Source = source;
    }

    public IReadOnlyList<Language> List { get; }

    /// <summary>The languages in the order given.</summary>
    private IReadOnlyList<Language> _given = [];

    public string Source { get; }

    public bool IsEmpty => List.Count == 0;

    public static Languages? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var entries = new List<(Language Lang, int Index)>();
        var i = 0;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pieces = part.Split(';', StringSplitOptions.TrimEntries);
            var q = 1.0;
            foreach (var p in pieces.Skip(1))
            {
                if (p.StartsWith("q=", StringComparison.OrdinalIgnoreCase)
                    && double.TryParse(p[2..], NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
                {
                    q = parsed;
                }
            }

            if (pieces[0].Length > 0)
            {
                entries.Add((new Language(pieces[0], q), i++));
            }
        }

        var ordered = entries.OrderByDescending(e => e.Lang.Quality).ThenBy(e => e.Index).Select(e => e.Lang).ToList();
        return new Languages(ordered, text) { _given = entries.Select(e => e.Lang).ToList() };
    }

    /// <summary>False when other languages are ruled out (<c>*; q=0</c>), so no display is better than one in another language.</summary>
    public bool AllowsOthers => !List.Any(l => l.Code == "*" && l.Quality <= 0);

    /// <summary>True when the only languages asked for are English (or none).</summary>
    public bool IsEnglishOrNothing => List.All(l => l.Quality <= 0 || l.Primary == "en");

    /// <summary>The summary used in messages, e.g. <c>de,en</c>.</summary>
    public string Summary => Canonical;

    /// <summary>The value echoed as the <c>displayLanguage</c> expansion parameter.</summary>
    /// <remarks>As given, unless it weights languages: then in the canonical form (<c>de, *; q=0</c>), in the order given.</remarks>
    public string AsParameter => _given.All(l => l.Quality == 1.0) ? Source : Canonical;

    /// <summary>The languages in the order given, in the canonical form: <c>en, en-AU; q=0.4</c>.</summary>
    public string Canonical =>
        string.Join(", ", _given.Select(l => l.Quality == 1.0 ? l.Code : l.Code + "; q=" + l.Quality.ToString("0.###", CultureInfo.InvariantCulture)));

    public override string ToString() => Source;
}
