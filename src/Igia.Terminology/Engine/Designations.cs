using Hl7.Fhir.Model;

namespace Igia.Terminology.Engine;

/// <summary>One display or designation of a concept, with its language, use and status.</summary>
internal sealed class Designation
{
    public required string Value { get; init; }

    public Language? Language { get; init; }

    public Coding? Use { get; init; }

    public string Status { get; init; } = "active";

    public IReadOnlyList<Extension> Extensions { get; init; } = [];

    /// <summary>The supplement this designation came from (url|version), if any.</summary>
    public string? Source { get; init; }

    public bool IsActive => Status is not ("withdrawn" or "inactive");
}

/// <summary>
/// The displays and designations known for a concept (from the code system, its supplements and the value set), with the
/// language matching the HL7 terminology ecosystem expects: choosing the preferred display for the requested languages,
/// checking a given display, listing the valid ones in messages.
/// </summary>
internal sealed class Designations
{
    public const string DisplayUseSystem = "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra";
    public const string DisplayUseCode = "preferredForLanguage";
    private const string SctSystem = "http://snomed.info/sct";

    private static readonly HashSet<string> AllowedExtensions = new(StringComparer.Ordinal)
    {
        "http://hl7.org/fhir/StructureDefinition/coding-sctdescid",
        "http://hl7.org/fhir/StructureDefinition/rendering-style",
        "http://hl7.org/fhir/StructureDefinition/rendering-xhtml",
        "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status",
        "http://hl7.org/fhir/StructureDefinition/codesystem-alternate",
    };

    public List<Designation> List { get; } = [];

    /// <summary>The language of designations that state none (the code system's, or the value set's).</summary>
    public Language? BaseLanguage { get; set; }

    public static Coding DisplayUse() => new(DisplayUseSystem, DisplayUseCode, "Preferred For Language");

    private static readonly Coding SharedDisplayUse = DisplayUse();

    public void Clear()
    {
        List.Clear();
        BaseLanguage = null;
    }

    public Designation Add(bool isDisplay, string status, string? language, Coding? use, string value, IReadOnlyList<Extension>? extensions = null, string? source = null)
    {
        var d = new Designation
        {
            Value = value,
            Language = Language.Parse(language),
            Use = isDisplay ? DisplayUse() : use,
            Status = status,
            Extensions = extensions ?? [],
            Source = source,
        };
        List.Add(d);
        return d;
    }

    /// <summary>The display and designations of a concept of a code system (supplements included).</summary>
    /// <param name="model">The code system.</param>
    /// <param name="node">The concept.</param>
    /// <param name="sharedDisplayUse">
    /// True to give the display the one shared display-use Coding instead of a new one: for designations that are kept and only
    /// read (their <see cref="Designation.Use"/> is copied by <see cref="ToComponent"/>, never handed out as is).
    /// </param>
    public void AddFromConcept(CodeSystemModel model, ConceptNode node, bool sharedDisplayUse = false)
    {
        if (node.Display is not null)
        {
            if (sharedDisplayUse)
            {
                Add(false, "active", model.Language, SharedDisplayUse, node.Display);
            }
            else
            {
                Add(true, "active", model.Language, null, node.Display);
            }
        }

        foreach (var d in node.Designations)
        {
            var status = d.Extensions?.FirstOrDefault(e => e.Url == "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status")?.Value.Text();
            Add(false, status ?? "active", d.Language, d.Use, d.Value, d.Extensions, d.Source);
        }
    }

    /// <summary>The display and designations a value set gives a concept it lists.</summary>
    public void AddFromValueSetConcept(ValueSet.ConceptReferenceComponent concept, ValueSet vs)
    {
        if (concept.Display is { } display)
        {
            BaseLanguage = Language.Parse(vs.Language);
            Add(true, "active", null, null, display.Trim());
        }

        foreach (var d in concept.Designation)
        {
            if (d.Value is not null)
            {
                Add(false, "active", d.Language, d.Use, d.Value.Trim(), d.Extension);
            }
        }
    }

    public static bool IsDisplay(Designation d) =>
        d.Use is null
        || (d.Use.System == DisplayUseSystem && d.Use.Code == DisplayUseCode)
        || (d.Use.System == SctSystem && d.Use.Code == "900000000000548007");

    private static bool IsPreferred(Designation d) =>
        IsDisplay(d) || (d.Use?.System == SctSystem && d.Use.Code == "900000000000013009");

    private bool LangMatches(Language requested, Language? stated, LanguageMatch depth)
    {
        var actual = stated ?? BaseLanguage;
        if (requested.Quality <= 0)
        {
            return false;
        }

        if (requested.IsWildcard)
        {
            return true;
        }

        return actual is not null && requested.Matches(actual, depth);
    }

    private bool LangsMatch(Languages? list, Language? stated, LanguageMatch depth, Language? defLang)
    {
        if (defLang is not null && stated is not null && stated.Matches(defLang, LanguageMatch.Full))
        {
            return true;
        }

        if (stated is null || list is null)
        {
            return true;
        }

        return list.List.Any(l => LangMatches(l, stated, depth));
    }

    /// <summary>The designation to show for the requested languages (null when none fits).</summary>
    public Designation? Preferred(Languages? languages)
    {
        if (List.Count == 0)
        {
            return null;
        }

        if (languages is null || languages.IsEmpty)
        {
            return List.FirstOrDefault(d => IsPreferred(d) && d.IsActive)
                ?? List.FirstOrDefault(d => IsDisplay(d) && d.IsActive)
                ?? List.FirstOrDefault(IsDisplay)
                ?? List.FirstOrDefault(IsPreferred)
                ?? List[0];
        }

        foreach (var lang in languages.List)
        {
            if (lang.Quality <= 0)
            {
                continue;
            }

            foreach (var activeOnly in new[] { true, false })
            {
                foreach (var depth in new[] { LanguageMatch.Full, LanguageMatch.LanguageRegion, LanguageMatch.Language })
                {
                    var found = List.FirstOrDefault(d => LangMatches(lang, d.Language, depth) && IsPreferred(d) && (!activeOnly || d.IsActive))
                        ?? List.FirstOrDefault(d => LangMatches(lang, d.Language, depth) && IsDisplay(d) && (!activeOnly || d.IsActive))
                        ?? List.FirstOrDefault(d => LangMatches(lang, d.Language, depth) && (!activeOnly || d.IsActive));
                    if (found is not null)
                    {
                        return found;
                    }
                }
            }
        }

        return List.FirstOrDefault(d => d.Language is null && IsDisplay(d) && d.IsActive)
            ?? List.FirstOrDefault(d => d.Language is null && IsDisplay(d));
    }

    public string? PreferredDisplay(Languages? languages) => Preferred(languages)?.Value;

    /// <summary>How a display differs from the closest valid one, when it is not one.</summary>
    public enum DisplayDifference
    {
        None,
        Normalized,
    }

    /// <summary>Whether <paramref name="value"/> is a valid display (case-insensitive) in the languages.</summary>
    public (bool Found, DisplayDifference Difference) HasDisplay(Languages? languages, Language? defLang, string value, bool activeOnly)
    {
        foreach (var d in List)
        {
            if (LangsMatch(languages, d.Language, LanguageMatch.Language, defLang) && (!activeOnly || d.IsActive)
                && string.Equals(value, d.Value, StringComparison.OrdinalIgnoreCase))
            {
                return (true, DisplayDifference.None);
            }
        }

        var normalized = Normalize(value);
        foreach (var d in List)
        {
            if (LangsMatch(languages, d.Language, LanguageMatch.Language, defLang) && (!activeOnly || d.IsActive)
                && string.Equals(normalized, Normalize(d.Value), StringComparison.OrdinalIgnoreCase))
            {
                return (false, DisplayDifference.Normalized);
            }
        }

        return (false, DisplayDifference.None);
    }

    private static string Normalize(string s) => string.Join(' ', s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    public int DisplayCount(Languages? languages, Language? defLang, bool displayOnly)
    {
        foreach (var depth in new[] { LanguageMatch.Full, LanguageMatch.LanguageRegion, LanguageMatch.Language })
        {
            var count = List.Count(d => (!displayOnly || IsDisplay(d)) && LangsMatch(languages, d.Language, depth, defLang));
            if (count > 0)
            {
                return count;
            }
        }

        return 0;
    }

    /// <summary>The valid displays for messages: <c>'A' (en), 'B' (de) or 'C'</c>.</summary>
    public string Present(Languages? languages, bool displayOnly)
    {
        static string One(Designation d) => d.Language is null ? $"'{d.Value}'" : $"'{d.Value}' ({d.Language.Code})";
        var results = List.Where(d => (!displayOnly || IsDisplay(d)) && LangsMatch(languages, d.Language, LanguageMatch.Language, null)).Select(One).ToList();
        if (results.Count == 0)
        {
            results = List.Where(d => !displayOnly || IsDisplay(d)).Select(One).ToList();
        }

        return JoinWithOr(results);
    }

    public static string JoinWithOr(IReadOnlyList<string> items) => items.Count switch
    {
        0 => "",
        1 => items[0],
        2 => $"{items[0]} or {items[1]}",
        _ => string.Join(", ", items.Take(items.Count - 1)) + " or " + items[^1],
    };

    /// <summary>A designation as written in an expansion (only the extensions the ecosystem carries).</summary>
    public static ValueSet.DesignationComponent ToComponent(Designation d)
    {
        var c = new ValueSet.DesignationComponent { Language = d.Language?.Code, Use = (Coding?)d.Use?.DeepCopy(), Value = d.Value };
        foreach (var e in d.Extensions)
        {
            if (e.Url is not null && AllowedExtensions.Contains(e.Url))
            {
                c.Extension.Add((Extension)e.DeepCopy());
            }
        }

        return c;
    }
}
