using System.Globalization;
using Hl7.Fhir.Model;

namespace Igia.Terminology.Engine;

/// <summary>How a version rule applies: <c>default</c> (system-version), <c>override</c> (force-...), <c>check</c> (check-...).</summary>
internal enum VersionRuleMode
{
    Default,
    Override,
    Check,
}

/// <summary>A version rule: a parameter <c>system-version</c>, <c>force-system-version</c>, <c>check-system-version</c> (or the value set variants).</summary>
internal sealed record VersionRule(string System, string Version, VersionRuleMode Mode, bool ForValueSet)
{
    public string ParameterName => (Mode, ForValueSet) switch
    {
        (VersionRuleMode.Default, false) => "system-version",
        (VersionRuleMode.Override, false) => "force-system-version",
        (VersionRuleMode.Check, false) => "check-system-version",
        (VersionRuleMode.Default, true) => "default-valueset-version",
        (VersionRuleMode.Override, true) => "force-valueset-version",
        _ => "check-valueset-version",
    };

    public string Canonical => System + "|" + Version;
}

/// <summary>
/// The input of a terminology operation, read from its Parameters (and the value set's own expansion parameters): the
/// request's resources (<c>tx-resource</c>), languages, version rules and expansion options. Parameters from the request
/// win over those a value set declares.
/// </summary>
internal sealed class TxRequest
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    public TxRequest(Parameters parameters, string? acceptLanguage)
    {
        Parameters = parameters;
        if (!string.IsNullOrWhiteSpace(acceptLanguage))
        {
            HttpLanguages = Languages.Parse(acceptLanguage);
        }

        foreach (var p in parameters.Parameter)
        {
            if (p.Name == "tx-resource" && p.Resource is not null)
            {
                TxResources.Add(p.Resource);
            }
            else
            {
                See(p.Name, p.Value, p.Resource, overwrite: true);
            }
        }
    }

    public Parameters Parameters { get; }

    public List<Resource> TxResources { get; } = [];

    public Languages? HttpLanguages { get; set; }

    public Languages? DisplayLanguages { get; private set; }

    /// <summary>The languages displays are chosen in: <c>displayLanguage</c>, else the HTTP / value set language.</summary>
    public Languages? WorkingLanguages => DisplayLanguages ?? HttpLanguages;

    /// <summary>The languages as written in messages (<c>--</c> for none).</summary>
    public string LanguageSummary => WorkingLanguages is { IsEmpty: false } l ? l.Summary : "--";

    public List<VersionRule> VersionRules { get; } = [];

    /// <summary>The version rules that were applied, in the order they were (echoed in expansions).</summary>
    public List<VersionRule> AppliedRules { get; } = [];

    public List<string> Properties { get; } = [];

    public List<string> Designations { get; } = [];

    public List<string> Supplements { get; } = [];

    public bool ActiveOnly { get; private set; }

    public bool HasActiveOnly { get; private set; }

    public bool ExcludeNested { get; private set; }

    public bool HasExcludeNested { get; private set; }

    public bool IncludeDesignations { get; private set; }

    public bool HasIncludeDesignations { get; private set; }

    public bool IncludeDefinition { get; private set; }

    public bool HasIncludeDefinition { get; private set; }

    public bool ExcludeNotForUi { get; private set; }

    public bool HasExcludeNotForUi { get; private set; }

    public bool ExcludePostCoordinated { get; private set; }

    public bool HasExcludePostCoordinated { get; private set; }

    /// <summary><c>lenient-display-validation</c>: a wrong display is a warning, not an error.</summary>
    public bool DisplayWarning { get; private set; }

    public bool MembershipOnly { get; private set; }

    public bool VersionsMatch { get; set; }

    public bool HasVersionsMatch { get; private set; }

    public bool InferSystem { get; set; }

    /// <summary>Abstract (not selectable) codes are acceptable unless <c>abstract=false</c>.</summary>
    public bool AbstractOk { get; private set; } = true;

    public string? Filter { get; private set; }

    public int Count { get; private set; } = -1;

    public int Offset { get; private set; } = -1;

    public int Limit { get; private set; } = -1;

    /// <summary>Reads one parameter. <paramref name="overwrite"/> is false for a value set's own expansion parameters.</summary>
    public void See(string? name, DataType? value, Resource? resource, bool overwrite)
    {
        if (name is null)
        {
            return;
        }

        bool Claim(string key)
        {
            if (!overwrite && _seen.Contains(key))
            {
                return false;
            }

            _seen.Add(key);
            return true;
        }

        var text = value.Text();
        bool AsBool() => string.Equals(text, "true", StringComparison.OrdinalIgnoreCase);
        int AsInt() => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) && i >= 0
            ? i
            : throw TxException.Invalid($"The parameter '{name}' must be a whole number of zero or more, not '{text}'", "invalid-data");
        switch (name)
        {
            case "system-version":
                AddRule(text, VersionRuleMode.Default, false);
                break;
            case "check-system-version":
                AddRule(text, VersionRuleMode.Check, false);
                break;
            case "force-system-version":
                AddRule(text, VersionRuleMode.Override, false);
                break;
            case "default-valueset-version":
                AddRule(text, VersionRuleMode.Default, true);
                break;
            case "force-valueset-version":
                AddRule(text, VersionRuleMode.Override, true);
                break;
            case "check-valueset-version":
                AddRule(text, VersionRuleMode.Check, true);
                break;
            case "designation" when text is not null:
                Designations.Add(text);
                break;
            case "property" when text is not null && !Properties.Contains(text):
                Properties.Add(text);
                break;
            case "useSupplement" when text is not null && !Supplements.Contains(text):
                Supplements.Add(text);
                break;
            case "displayLanguage":
                if (Claim(name))
                {
                    DisplayLanguages = Languages.Parse(text);
                    if (text is not null && (DisplayLanguages is null || DisplayLanguages.List.Any(l => !IsValidLanguage(l.Code))))
                    {
                        throw new TxException(System.Net.HttpStatusCode.BadRequest, new TxIssue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Processing,
                            "invalid-display", $"Invalid displayLanguage: '{text}'", null));
                    }
                }

                break;
            case "includeDesignations":
                if (Claim(name))
                {
                    IncludeDesignations = AsBool();
                    HasIncludeDesignations = true;
                }

                break;
            case "includeDefinition":
                if (Claim(name))
                {
                    IncludeDefinition = AsBool();
                    HasIncludeDefinition = true;
                }

                break;
            case "activeOnly":
                if (Claim(name))
                {
                    ActiveOnly = AsBool();
                    HasActiveOnly = true;
                }

                break;
            case "excludeNested":
                if (Claim(name))
                {
                    ExcludeNested = AsBool();
                    HasExcludeNested = true;
                }

                break;
            case "excludeNotForUI":
                if (Claim(name))
                {
                    ExcludeNotForUi = AsBool();
                    HasExcludeNotForUi = true;
                }

                break;
            case "excludePostCoordinated":
                if (Claim(name))
                {
                    ExcludePostCoordinated = AsBool();
                    HasExcludePostCoordinated = true;
                }

                break;
            case "lenient-display-validation":
                if (Claim(name))
                {
                    DisplayWarning = AsBool();
                }

                break;
            case "valueset-membership-only":
                if (Claim(name))
                {
                    MembershipOnly = AsBool();
                }

                break;
            case "versionsMatch":
                if (Claim(name))
                {
                    VersionsMatch = AsBool();
                    HasVersionsMatch = true;
                }

                break;
            case "inferSystem":
                if (Claim(name))
                {
                    InferSystem = AsBool();
                }

                break;
            case "abstract":
                if (text is "true" or "false" && Claim(name))
                {
                    AbstractOk = text == "true";
                }

                break;
            case "filter" or "term":
                if (Claim("filter"))
                {
                    Filter = string.IsNullOrEmpty(text) ? null : text;
                }

                break;
            case "count":
                if (Claim(name))
                {
                    Count = AsInt();
                }

                break;
            case "offset":
                if (Claim(name))
                {
                    Offset = AsInt();
                }

                break;
            case "limit":
                if (Claim(name))
                {
                    Limit = AsInt();
                }

                break;
            case "profile" when resource is Parameters profile:
                foreach (var p in profile.Parameter)
                {
                    See(p.Name, p.Value, p.Resource, overwrite);
                }

                break;
            case "exclude-system":
                throw TxException.NotSupported("The parameter 'exclude-system' is not supported by this server");
        }
    }

    private static bool IsValidLanguage(string code) =>
        code == "*" || System.Text.RegularExpressions.Regex.IsMatch(code, "^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$");

    private void AddRule(string? canonical, VersionRuleMode mode, bool forValueSet)
    {
        var bar = canonical?.IndexOf('|') ?? -1;
        if (canonical is null || bar <= 0 || bar == canonical.Length - 1)
        {
            throw TxException.Invalid($"Unable to understand the version rule '{canonical}': expected url|version");
        }

        VersionRules.Add(new VersionRule(canonical[..bar], canonical[(bar + 1)..], mode, forValueSet));
    }

    /// <summary>Applies a value set's expansion parameters (<c>valueset-expansion-parameter</c>) and language.</summary>
    public void SeeValueSet(ValueSet vs)
    {
        foreach (var ext in vs.Compose?.Extension ?? [])
        {
            if (ext.Url is "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter" or "http://hl7.org/fhir/tools/StructureDefinition/valueset-expansion-parameter")
            {
                var name = ext.Extension.FirstOrDefault(e => e.Url == "name")?.Value.Text();
                var value = ext.Extension.FirstOrDefault(e => e.Url == "value")?.Value;
                if (name is not null && value is not null)
                {
                    See(name, value, null, overwrite: false);
                }
            }
        }

        if (HttpLanguages is null && vs.Language is { Length: > 0 } lang)
        {
            HttpLanguages = Languages.Parse(lang);
        }
    }

    /// <summary>The version a code system (or value set) reference resolves to under the rules: override, else the given one, else default, else check.</summary>
    public string? DetermineVersion(string url, string? version, bool forValueSet = false)
    {
        var result = version;
        var rules = VersionRules.Where(r => r.System == url && r.ForValueSet == forValueSet).ToList();
        foreach (var r in rules.Where(r => r.Mode == VersionRuleMode.Override))
        {
            result = r.Version;
            Applied(r);
            break;
        }

        if (string.IsNullOrEmpty(result))
        {
            foreach (var r in rules.Where(r => r.Mode == VersionRuleMode.Default))
            {
                result = r.Version;
                Applied(r);
                break;
            }
        }

        if (string.IsNullOrEmpty(result))
        {
            foreach (var r in rules.Where(r => r.Mode == VersionRuleMode.Check))
            {
                result = r.Version;
                Applied(r);
                break;
            }
        }

        return string.IsNullOrEmpty(result) ? null : result;
    }

    private void Applied(VersionRule rule)
    {
        if (!AppliedRules.Contains(rule))
        {
            AppliedRules.Add(rule);
        }
    }

    /// <summary>The check rules a version breaks.</summary>
    public IEnumerable<VersionRule> BrokenChecks(string url, string? version) =>
        VersionRules.Where(r => r.System == url && !r.ForValueSet && r.Mode == VersionRuleMode.Check && (version is null || !Versions.Matches(r.Version, version)));

    public Parameters.ParameterComponent? Get(string name) => Parameters.Parameter.FirstOrDefault(p => p.Name == name);

    public string? String(string name) => Get(name)?.Value.Text();
}
