using System.Collections.Concurrent;
using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Tests.Infrastructure;
using static Igia.Fhir.Tests.Server.ServerTestSupport;

namespace Igia.Fhir.Tests.Server;

/// <summary>No update is lost under concurrency, and many tasks creating and reading at once see no errors.</summary>
public sealed class ConcurrencyTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;

    public async System.Threading.Tasks.Task InitializeAsync() => _host = await FhirTestHost.StartAsync();

    public async System.Threading.Tasks.Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async System.Threading.Tasks.Task Update_32ParallelIfMatchOnTheSameVersion_ExactlyOneSucceedsPerRound()
    {
        const int Parallel = 32;
        const int Rounds = 5;
        var patient = await _host.CreateAsync(new Patient { Active = true, BirthDate = "1970" });
        var successes = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var current = await _host.GetAsync<Patient>($"Patient/{patient.Id}");
            var version = current.Meta.VersionId;
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var tasks = Enumerable.Range(0, Parallel).Select(i => System.Threading.Tasks.Task.Run(async () =>
            {
                await start.Task;
                var body = new Patient { Id = patient.Id, Active = true, BirthDate = (1900 + i).ToString(System.Globalization.CultureInfo.InvariantCulture) };
                using var response = await _host.PutAsync(body, IfMatch(version));
                var text = await response.Content.ReadAsStringAsync();
                return (response.StatusCode, response.ETag(), text);
            })).ToArray();
            start.SetResult();
            var results = await System.Threading.Tasks.Task.WhenAll(tasks);

            var ok = results.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
            Assert.True(ok.Count == 1, $"Round {round}: {ok.Count} successes: {string.Join(", ", results.Select(r => (int)r.StatusCode))}");
            Assert.All(results.Where(r => r.StatusCode != HttpStatusCode.OK), r => Assert.True(r.StatusCode == HttpStatusCode.PreconditionFailed, $"Round {round}: {(int)r.StatusCode} {r.text}"));
            var expectedVersion = int.Parse(version, System.Globalization.CultureInfo.InvariantCulture) + 1;
            Assert.Equal($"W/\"{expectedVersion}\"", ok[0].Item2);
            successes += ok.Count;
        }

        var final = await _host.GetAsync<Patient>($"Patient/{patient.Id}");
        Assert.Equal((successes + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), final.Meta.VersionId);
        var history = await _host.GetAsync<Bundle>($"Patient/{patient.Id}/_history?_count=100");
        Assert.Equal(successes + 1, history.Total);
    }

    [Fact]
    public async System.Threading.Tasks.Task Update_ParallelWithoutIfMatch_EveryUpdateIsKeptAsItsOwnVersion()
    {
        const int Parallel = 32;
        var patient = await _host.CreateAsync(new Patient { Active = true });
        var results = await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(0, Parallel).Select(i => System.Threading.Tasks.Task.Run(async () =>
        {
            using var response = await _host.PutAsync(new Patient { Id = patient.Id, Active = i % 2 == 0 });
            return response.StatusCode;
        })));
        Assert.All(results, s => Assert.Equal(HttpStatusCode.OK, s));
        var final = await _host.GetAsync<Patient>($"Patient/{patient.Id}");
        Assert.Equal((Parallel + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), final.Meta.VersionId);
        var history = await _host.GetAsync<Bundle>($"Patient/{patient.Id}/_history?_count=100");
        Assert.Equal(Enumerable.Range(1, Parallel + 1).Reverse().Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)), history.Entry.Select(e => e.Resource.Meta.VersionId));
    }

    [Fact]
    public async System.Threading.Tasks.Task Create_8TasksTimes50WhileOthersRead_AllSucceedWithDistinctIds()
    {
        const int Writers = 8;
        const int PerWriter = 50;
        var ids = new ConcurrentBag<string>();
        var errors = new ConcurrentQueue<string>();
        var readerCount = 0;
        using var stop = new CancellationTokenSource();

        var seeded = await _host.UpsertAsync(new Patient { Id = "read-me", Active = true });
        // Each reader reads at least once (do-while), however late it is scheduled.
        var readers = Enumerable.Range(0, 8).Select(_ => System.Threading.Tasks.Task.Run(async () =>
        {
            do
            {
                using var response = await _host.Client.GetAsync("Patient/read-me");
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    errors.Enqueue($"read {(int)response.StatusCode}");
                }

                using var history = await _host.Client.GetAsync("Patient/_history?_count=5");
                if (history.StatusCode != HttpStatusCode.OK)
                {
                    errors.Enqueue($"history {(int)history.StatusCode}");
                }

                Interlocked.Increment(ref readerCount);
            }
            while (!stop.IsCancellationRequested);
        })).ToArray();

        var writers = Enumerable.Range(0, Writers).Select(w => System.Threading.Tasks.Task.Run(async () =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                using var response = await _host.Client.PostAsync("Patient", FhirTestHost.JsonContent(new Patient { Active = true, Name = [new HumanName { Family = $"W{w}-{i}" }] }));
                if (response.StatusCode != HttpStatusCode.Created)
                {
                    errors.Enqueue($"create {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    continue;
                }

                ids.Add((await FhirTestHost.ReadAsync<Patient>(response)).Id);
            }
        })).ToArray();

        await System.Threading.Tasks.Task.WhenAll(writers);
        stop.Cancel();
        await System.Threading.Tasks.Task.WhenAll(readers);

        Assert.Empty(errors);
        Assert.Equal(Writers * PerWriter, ids.Count);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.True(readerCount > 0);
        var history = await _host.GetAsync<Bundle>("Patient/_history?_count=1");
        Assert.Equal(Writers * PerWriter + 1, history.Total);

        // Every created resource reads back, from many tasks at once.
        var reads = await System.Threading.Tasks.Task.WhenAll(ids.Chunk(50).Select(chunk => System.Threading.Tasks.Task.Run(async () =>
        {
            var ok = 0;
            foreach (var id in chunk)
            {
                using var response = await _host.Client.GetAsync($"Patient/{id}");
                ok += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
            }

            return ok;
        })));
        Assert.Equal(Writers * PerWriter, reads.Sum());
        Assert.Equal("1", seeded.Meta.VersionId);
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_ParallelWithCreatesAndReads_EachIsAtomic()
    {
        const int Parallel = 16;
        var results = await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(0, Parallel).Select(i => System.Threading.Tasks.Task.Run(async () =>
        {
            var urn = $"urn:uuid:{Guid.NewGuid()}";
            var bundle = NewBundle(
                Bundle.BundleType.Transaction,
                Entry(Bundle.HTTPVerb.POST, "Patient", new Patient { Active = true }, urn),
                Entry(Bundle.HTTPVerb.POST, "Observation", new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "8867-4"), Subject = new ResourceReference(urn) }));
            if (i % 4 == 3)
            {
                // Every fourth transaction fails at its last entry and must leave nothing behind.
                bundle.Entry.Add(Entry(Bundle.HTTPVerb.PUT, "Patient/mismatch", new Patient { Id = "other", Active = true }));
            }

            using var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(bundle));
            return response.StatusCode;
        })));

        Assert.Equal(Parallel / 4 * 3, results.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(Parallel / 4, results.Count(s => s == HttpStatusCode.BadRequest));
        Assert.Equal(Parallel / 4 * 3, (await _host.GetAsync<Bundle>("Patient/_history?_count=1")).Total);
        Assert.Equal(Parallel / 4 * 3, (await _host.GetAsync<Bundle>("Observation/_history?_count=1")).Total);
    }
}
