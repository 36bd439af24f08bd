using System.Net;
using Hl7.Fhir.Model;
using Igia.Terminology.Content;
using Severity = Hl7.Fhir.Model.OperationOutcome.IssueSeverity;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;

namespace Igia.Terminology.Engine;

/// <summary>A code system as an operation uses it: the resource entry and its index with the supplements that apply.</summary>
internal sealed record CodeSystemUse(CanonicalEntry<CodeSystem> Entry, CodeSystemModel Model)
{
    public string Url => Model.Url;

    public string? Version => Entry.Version;

    public string VersionedUrl => Entry.VersionedUrl;

    public CodeSystemContentMode? Content => Model.Content;

    public string DefaultLanguage => Model.Language ?? "en";
}

/// <summary>
/// What one operation works with: the resources it sees, its parameters, and the code system lookups under the version
/// rules and supplements (the equivalent of a terminology worker).
/// </summary>
internal sealed class TxContext
{
    public TxContext(TxScope scope, TxRequest request, TerminologyOptions options)
    {
        Scope = scope;
        Request = request;
        Options = options;
        foreach (var s in request.Supplements)
        {
            RequiredSupplements.Add(s);
        }
    }

    public TxScope Scope { get; }

    public TxRequest Request { get; }

    public TerminologyOptions Options { get; }

    /// <summary>Supplements that must be applied (from <c>useSupplement</c> and <c>valueset-supplement</c>).</summary>
    public HashSet<string> RequiredSupplements { get; } = new(StringComparer.Ordinal);

    /// <summary>Required supplements that were found and applied.</summary>
    public HashSet<string> UsedSupplements { get; } = new(StringComparer.Ordinal);

    /// <summary>The value sets being processed, to detect circular imports.</summary>
    public List<string> Stack { get; } = [];

    /// <summary>
    /// Finds a code system (not a supplement). <paramref name="applyRules"/> applies the version rules first. Only complete and
    /// fragment content is usable unless <paramref name="anyContent"/>.
    /// </summary>
    public CodeSystemUse? FindCodeSystem(string? url, string? version, bool applyRules = true, bool anyContent = false)
    {
        if (string.IsNullOrEmpty(url))
        {
            return null;
        }

        if (applyRules)
        {
            version = Request.DetermineVersion(url, version);
        }

        var entry = Scope.FindCodeSystem(url, version);
        if (entry is null)
        {
            return null;
        }

        if (!anyContent && entry.Resource.Content is CodeSystemContentMode.NotPresent or CodeSystemContentMode.Supplement)
        {
            return null;
        }

        var supplements = SupplementsFor(url, entry.Version);
        var model = supplements.Count == 0 || !Scope.HasLocal
            ? TxScope.Model(entry, supplements)
            : new CodeSystemModel(entry.Resource, supplements);
        return new CodeSystemUse(entry, model);
    }

    /// <summary>The supplements to apply to a code system: those required (by canonical) that supplement it.</summary>
    public List<CodeSystem> SupplementsFor(string url, string? version)
    {
        var result = new List<CodeSystem>();
        foreach (var candidate in Scope.SupplementsOf(url))
        {
            var canonical = candidate.Url + "|" + candidate.Version;
            if ((candidate.Url is not null && RequiredSupplements.Contains(candidate.Url)) || RequiredSupplements.Contains(canonical))
            {
                var (_, supplementedVersion) = Versions.SplitCanonical(candidate.Supplements ?? "");
                if (supplementedVersion is null || version is null || Versions.Matches(supplementedVersion, version))
                {
                    result.Add(candidate);
                    UsedSupplements.Add(RequiredSupplements.Contains(canonical) ? canonical : candidate.Url!);
                }
            }
        }

        return result;
    }

    /// <summary>Every version known for a code system, sorted.</summary>
    public List<string> ListVersions(string url)
    {
        var versions = Scope.CodeSystemVersions(url).Select(e => e.Version).Where(v => v is not null).Select(v => v!).Distinct().ToList();
        versions.Sort(StringComparer.Ordinal);
        return versions;
    }

    /// <summary>"a", "a or b", "a, b and c".</summary>
    public static string PresentVersionList(List<string> items) => items.Count switch
    {
        0 => "",
        1 => items[0],
        2 => $"{items[0]} or {items[1]}",
        _ => string.Join(", ", items.Take(items.Count - 1)) + " and " + items[^1],
    };

    /// <summary>The check-system-version rule a version breaks, as an issue (null when none).</summary>
    public TxIssue? CheckVersion(string url, string? version, string? path)
    {
        foreach (var rule in Request.BrokenChecks(url, version))
        {
            return new TxIssue(Severity.Error, IssueType.Exception, "version-error",
                $"The version '{version}' is not allowed for system '{url}': required to be '{rule.Version}' by a version-check parameter", path);
        }

        return null;
    }

    /// <summary>A value set by reference (<c>#id</c> for a contained one), applying the value set version rules.</summary>
    /// <remarks>
    /// <paramref name="versionedUrl"/> is the canonical and version found or, when none is found, the canonical and the
    /// version that was looked for (after the version rules), if any.
    /// </remarks>
    public ValueSet? FindValueSet(string canonical, ValueSet? source, out string? versionedUrl, out bool contained)
    {
        contained = false;
        versionedUrl = null;
        if (canonical.StartsWith('#'))
        {
            contained = true;
            var c = source?.Contained.OfType<ValueSet>().FirstOrDefault(v => v.Id == canonical[1..]);
            versionedUrl = c?.Url is null ? null : c.Url + (c.Version is null ? "" : "|" + c.Version);
            return c;
        }

        var (url, version) = Versions.SplitCanonical(canonical);
        version = Request.DetermineVersion(url, version, forValueSet: true);
        var entry = Scope.FindValueSet(url, version);
        versionedUrl = entry?.VersionedUrl ?? (version is null ? null : url + "|" + version);
        return entry?.Resource;
    }

    /// <summary>The error for supplements that were asked for but not found.</summary>
    public void ThrowIfSupplementsMissing()
    {
        var unused = RequiredSupplements.Where(s => !UsedSupplements.Contains(s) && !UsedSupplements.Contains(Versions.SplitCanonical(s).Url)).ToList();
        if (unused.Count > 0)
        {
            throw new TxException(HttpStatusCode.UnprocessableEntity, new TxIssue(Severity.Error, IssueType.NotFound, "not-found",
                unused.Count == 1 ? $"Required supplement not found: {unused[0]}" : $"Required supplements not found: {string.Join(",", unused)}", null));
        }
    }

    /// <summary>Every required supplement that exists at all (regardless of which code system uses it).</summary>
    public void CheckSupplementsExist()
    {
        foreach (var s in RequiredSupplements)
        {
            if (Scope.FindSupplement(s) is null)
            {
                throw new TxException(HttpStatusCode.UnprocessableEntity, new TxIssue(Severity.Error, IssueType.NotFound, "not-found",
                    $"Required supplement not found: {s}", null));
            }
        }
    }
}
