using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;

namespace Igia.Audit.Tests.Infrastructure;

/// <summary>
/// Validates AuditEvents against the IHE BALP profiles in ../shared/balp, with Firely.Fhir.Validation, offline, following
/// the recipe in that folder's README: BALP folder + FHIR core (specification.zip) + HL7 Terminology (hl7.terminology.r4
/// 7.0.1 from tests/fixtures/node_modules), snapshots generated, local terminology service.
/// </summary>
public static class BalpValidator
{
    public const string CoreAuditEvent = "http://hl7.org/fhir/StructureDefinition/AuditEvent";

    private static readonly Lazy<Validator> Instance = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lock Gate = new();

    private static Validator Create()
    {
        if (!Directory.Exists(TestPaths.Balp))
        {
            throw new InvalidOperationException($"The BALP profiles were not found at {TestPaths.Balp}.");
        }

        var terminology = Path.Combine(TestPaths.TerminologyPackage, "package");
        if (!Directory.Exists(terminology))
        {
            terminology = TestPaths.TerminologyPackage;
        }

        if (!File.Exists(Path.Combine(terminology, "package.json")))
        {
            throw new InvalidOperationException($"hl7.terminology.r4 was not found at {TestPaths.TerminologyPackage}: run 'npm ci' in tests/fixtures.");
        }

        var settings = new DirectorySourceSettings { IncludeSubDirectories = false };
        var source = new MultiResolver(
            new DirectorySource(TestPaths.Balp, settings),
            ZipSource.CreateValidationSource(),
            new DirectorySource(terminology, settings));
        var resolver = new CachedResolver(new SnapshotSource(source));
        var terminologyService = LocalTerminologyService.CreateDefaultForCore(resolver);
        return new Validator(resolver, terminologyService);
    }

    /// <summary>The error and fatal issues of validating <paramref name="auditEvent"/> against <paramref name="profile"/>.</summary>
    public static IReadOnlyList<string> Errors(AuditEvent auditEvent, string profile)
    {
        OperationOutcome outcome;
        lock (Gate)
        {
            outcome = Instance.Value.Validate(auditEvent, profile);
        }

        // Validated against the core AuditEvent alone, Firely reports R4's ref-1 ("contained resource if a local reference")
        // on references that have no 'reference' at all (identifier- or display-only, as BALP's own examples use). R4's
        // ref-1 cannot apply to them (R5 states it: reference.exists() implies ...), and with a BALP profile claimed the
        // same references pass; so ref-1 is ignored when the event has no local ('#') reference.
        var hasLocalReference = auditEvent.Agent.Select(a => a.Who?.Reference).Concat(auditEvent.Entity.Select(e => e.What?.Reference)).Any(r => r?.StartsWith('#') == true);
        return outcome.Issue
            .Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)
            .Where(i => hasLocalReference || profile != CoreAuditEvent || !(i.Details?.Text ?? i.Diagnostics ?? "").Contains("ref-1", StringComparison.Ordinal))
            .Select(i => $"{i.Details?.Text ?? i.Diagnostics} @ {string.Join(",", i.Expression ?? [])}")
            .ToList();
    }

    /// <summary>Asserts that <paramref name="auditEvent"/> validates against every profile it claims (or, claiming none, the core AuditEvent).</summary>
    public static void AssertValid(AuditEvent auditEvent, params string[] profiles)
    {
        var claimed = profiles.Length > 0 ? profiles : auditEvent.Meta?.Profile.ToArray() ?? [];
        if (claimed.Length == 0)
        {
            claimed = [CoreAuditEvent];
        }

        foreach (var profile in claimed)
        {
            var errors = Errors(auditEvent, profile);
            Assert.True(errors.Count == 0, $"AuditEvent is not valid against {profile}:\n{string.Join("\n", errors)}\n{System.Text.Json.JsonSerializer.Serialize(auditEvent, AuditTestHost.Json)}");
        }
    }
}
