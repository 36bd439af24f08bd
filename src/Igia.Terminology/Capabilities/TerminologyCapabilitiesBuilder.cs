using Hl7.Fhir.Model;
using Igia.Terminology.Content;
using Igia.Terminology.Engine;
using Microsoft.Extensions.Options;

namespace Igia.Terminology.Capabilities;

/// <summary>
/// Builds the server's <c>TerminologyCapabilities</c> (what <c>/metadata?mode=terminology</c> returns): the code systems the
/// local engine knows with their versions and filter operators, the <c>$expand</c> parameters it takes, and how it validates
/// and translates. Rebuilt when the content changes.
/// </summary>
internal sealed class TerminologyCapabilitiesBuilder(TerminologyResources resources, IOptions<TerminologyOptions> options, TimeProvider time)
{
    /// <summary>The filter operators every code system supports (those on properties apply to the properties it defines).</summary>
    internal static readonly string[] FilterOperators =
        ["=", "is-a", "descendent-of", "is-not-a", "regex", "in", "not-in", "generalizes", "child-of", "descendent-leaf", "exists"];

    /// <summary>The <c>$expand</c> parameters the engine understands.</summary>
    internal static readonly string[] ExpansionParameters =
    [
        "url", "valueSetVersion", "valueSet", "context", "contextDirection", "filter", "date", "offset", "count",
        "includeDesignations", "designation", "includeDefinition", "activeOnly", "useSupplement", "excludeNested",
        "excludeNotForUI", "excludePostCoordinated", "displayLanguage", "property", "exclude-system", "system-version",
        "check-system-version", "force-system-version", "default-valueset-version", "tx-resource",
    ];

    private readonly object _gate = new();
    private (int Generation, TerminologyCapabilities Value)? _cached;

    /// <summary>The capabilities, for a server at <paramref name="baseUrl"/>.</summary>
    public TerminologyCapabilities Build(string? baseUrl)
    {
        var generation = resources.Generation;
        lock (_gate)
        {
            if (_cached is not { } c || c.Generation != generation)
            {
                _cached = (generation, Create());
            }

            var result = (TerminologyCapabilities)_cached.Value.Value.DeepCopy();
            if (!string.IsNullOrEmpty(baseUrl))
            {
                result.Implementation = new TerminologyCapabilities.ImplementationComponent { Description = options.Value.SoftwareName, Url = baseUrl };
            }

            return result;
        }
    }

    private TerminologyCapabilities Create()
    {
        var version = typeof(TerminologyCapabilitiesBuilder).Assembly.GetName().Version?.ToString(3);
        var caps = new TerminologyCapabilities
        {
            Status = PublicationStatus.Active,
            Date = time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ssK", System.Globalization.CultureInfo.InvariantCulture),
            Kind = CapabilityStatementKind.Instance,
            Name = "IgiaTerminologyCapabilities",
            Title = options.Value.SoftwareName + " terminology capabilities",
            Software = new TerminologyCapabilities.SoftwareComponent { Name = options.Value.SoftwareName, Version = version },
            LockedDate = false,
            Expansion = new TerminologyCapabilities.ExpansionComponent
            {
                Hierarchical = true,
                Paging = true,
                Incomplete = false,
                TextFilter = "Matches codes and displays/designations that contain every word of the filter at a word start (case-insensitive).",
            },
            CodeSearch = TerminologyCapabilities.CodeSearchSupport.All,
            ValidateCode = new TerminologyCapabilities.ValidateCodeComponent { Translations = false },
            Translation = new TerminologyCapabilities.TranslationComponent { NeedsMap = true },
            Closure = new TerminologyCapabilities.ClosureComponent { Translation = false },
        };
        foreach (var p in ExpansionParameters)
        {
            caps.Expansion.Parameter.Add(new TerminologyCapabilities.ParameterComponent { Name = p });
        }

        foreach (var url in resources.CodeSystems.Urls.Order(StringComparer.Ordinal))
        {
            var versions = resources.CodeSystems.AllVersions(url)
                .Where(e => e.Resource.Content != CodeSystemContentMode.Supplement)
                .OrderByDescending(e => e.Version, Comparer<string?>.Create(Versions.Compare))
                .ToList();
            if (versions.Count == 0)
            {
                continue;
            }

            var cs = new TerminologyCapabilities.CodeSystemComponent { Uri = url };
            var first = true;
            foreach (var e in versions)
            {
                var v = new TerminologyCapabilities.VersionComponent
                {
                    Code = e.Version,
                    IsDefault = first,
                    Compositional = false,
                };
                first = false;
                v.Filter.Add(new TerminologyCapabilities.FilterComponent { Code = "concept", Op = ["=", "is-a", "descendent-of", "is-not-a", "in", "not-in", "generalizes", "child-of", "descendent-leaf", "regex"] });
                foreach (var prop in e.Resource.Property)
                {
                    if (prop.Code is not null)
                    {
                        v.PropertyElement.Add(new Code(prop.Code));
                        v.Filter.Add(new TerminologyCapabilities.FilterComponent { Code = prop.Code, Op = ["=", "in", "not-in", "regex", "exists"] });
                    }
                }

                if (e.Resource.Language is { } lang)
                {
                    v.LanguageElement.Add(new Code(lang));
                }

                cs.Version.Add(v);
            }

            caps.CodeSystem.Add(cs);
        }

        return caps;
    }
}
