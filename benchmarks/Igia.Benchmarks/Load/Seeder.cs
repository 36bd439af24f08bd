using System.Diagnostics;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;

namespace Igia.Benchmarks.Load;

/// <summary>
/// Seeds patients and their Observations through the in-process <see cref="IFhirInteractionExecutor"/> as
/// transaction Bundles of PUTs (deterministic ids <c>p{n}</c> / <c>o{n}-{k}</c>), one transaction at a time,
/// so every resource passes the same pipeline, index extraction and store as an HTTP request would.
/// </summary>
internal static class Seeder
{
    public static async Task<(int Resources, TimeSpan Elapsed)> SeedAsync(IFhirInteractionExecutor fhir, string baseUrl, LoadOptions o, Action<string> log, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var resources = 0;
        var nextReport = 0.1;
        for (var first = 1; first <= o.Patients; first += o.PatientsPerTransaction)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
            for (var p = first; p < first + o.PatientsPerTransaction && p <= o.Patients; p++)
            {
                Add(bundle, baseUrl, SampleData.Patient(p));
                for (var k = 0; k < o.ObservationsPerPatient; k++)
                {
                    Add(bundle, baseUrl, SampleData.Observation(p, k));
                }
            }

            var response = await fhir.ExecuteAsync(new FhirInteraction
            {
                Kind = FhirInteractionKind.Transaction,
                Resource = bundle,
                Method = "POST",
                BaseUrl = baseUrl,
                Headers = new FhirRequestHeaders { Return = FhirReturnPreference.Minimal },
                CancellationToken = cancellationToken,
            });
            if (!response.IsSuccess)
            {
                var why = response.Resource is OperationOutcome outcome ? string.Join("; ", outcome.Issue.Select(i => i.Diagnostics)) : "";
                throw new InvalidOperationException($"Seeding transaction failed with HTTP {(int)response.StatusCode}: {why}");
            }

            resources += bundle.Entry.Count;
            var done = (double)(first + o.PatientsPerTransaction - 1) / o.Patients;
            if (done >= nextReport)
            {
                log($"  seeded {resources:N0} resources ({done:P0}) in {stopwatch.Elapsed.TotalSeconds:F1} s");
                nextReport += 0.1;
            }
        }

        return (resources, stopwatch.Elapsed);
    }

    /// <summary>The number of current resources in the store (a reused one).</summary>
    public static async Task<int> CountAsync(IFhirInteractionExecutor fhir, string baseUrl, CancellationToken cancellationToken)
    {
        var total = 0;
        foreach (var type in new[] { "Patient", "Observation" })
        {
            var response = await fhir.ExecuteAsync(new FhirInteraction
            {
                Kind = FhirInteractionKind.Search,
                ResourceType = type,
                Parameters = [new("_summary", "count"), new("_total", "accurate")],
                BaseUrl = baseUrl,
                CancellationToken = cancellationToken,
            });
            total += (response.Resource as Bundle)?.Total ?? 0;
        }

        return total;
    }

    private static void Add(Bundle bundle, string baseUrl, Resource resource)
    {
        var url = $"{resource.TypeName}/{resource.Id}";
        bundle.Entry.Add(new Bundle.EntryComponent
        {
            FullUrl = $"{baseUrl}/{url}",
            Resource = resource,
            Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = url },
        });
    }
}
