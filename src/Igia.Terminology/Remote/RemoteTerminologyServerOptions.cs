namespace Igia.Terminology.Remote;

/// <summary>
/// A remote FHIR terminology server and the requests routed to it (<c>AddIgiaTerminology().AddRemoteServer(...)</c>). A request
/// goes to the first remote server whose rules match one of the code systems or value sets it names; all others are answered
/// by the local engine.
/// </summary>
public sealed class RemoteTerminologyServerOptions
{
    /// <summary>
    /// Code systems (canonical URLs) answered by this server, e.g. <c>http://snomed.info/sct</c>. An entry ending in <c>*</c> is
    /// a prefix (<c>http://loinc.org*</c>).
    /// </summary>
    public ISet<string> CodeSystems { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Value sets (canonical URLs, without version; a trailing <c>*</c> is a prefix) answered by this server.</summary>
    public ISet<string> ValueSets { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Send every request to this server (the local engine then only answers when falling back).</summary>
    public bool RouteAll { get; set; }

    /// <summary>
    /// When the server cannot be reached, times out, or answers 5xx, answer from the local engine instead (logged as a
    /// warning). Default true. A 4xx answer is the server's answer and is returned as it is.
    /// </summary>
    public bool FallbackToLocal { get; set; } = true;

    /// <summary>How long a successful answer is cached; zero turns caching off. Default 10 minutes.</summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Cache in the application's <c>IDistributedCache</c> (shared by several instances, e.g. Redis) instead of the in-process
    /// <c>IMemoryCache</c>. The application registers the distributed cache.
    /// </summary>
    public bool UseDistributedCache { get; set; }

    /// <summary>True when <paramref name="system"/> is one of <see cref="CodeSystems"/>.</summary>
    public bool MatchesCodeSystem(string system) => Matches(CodeSystems, system);

    /// <summary>True when <paramref name="valueSet"/> is one of <see cref="ValueSets"/>.</summary>
    public bool MatchesValueSet(string valueSet) => Matches(ValueSets, valueSet);

    private static bool Matches(ISet<string> rules, string value)
    {
        if (rules.Contains(value))
        {
            return true;
        }

        foreach (var rule in rules)
        {
            if (rule.EndsWith('*') && value.StartsWith(rule[..^1], StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
