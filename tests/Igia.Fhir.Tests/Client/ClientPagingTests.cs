using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Igia.Fhir.Client;
using Igia.Fhir.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Task = System.Threading.Tasks.Task;

namespace Igia.Fhir.Tests.Client;

/// <summary>Async paging over the Igia FHIR server: thousands of resources, laziness, cancellation, includes.</summary>
public sealed class ClientPagingTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;

    public async Task InitializeAsync() => _host = await FhirTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>Counts the requests that reach the wire (added inside the client's handler chain).</summary>
    private sealed class RequestCounter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public DelegatingHandler Handler() => new CountingHandler(this);

        private sealed class CountingHandler(RequestCounter owner) : DelegatingHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref owner._count);
                return base.SendAsync(request, cancellationToken);
            }
        }
    }

    private static async Task CreatePatientsAsync(IgiaFhirClient client, int count, string tag)
    {
        for (var start = 0; start < count; start += 1000)
        {
            var n = Math.Min(1000, count - start);
            var first = start;
            var response = await client.TransactionAsync(b =>
            {
                for (var i = 0; i < n; i++)
                {
                    b.Create(new Patient
                    {
                        Identifier = [new Identifier("urn:test:seq", (first + i).ToString(System.Globalization.CultureInfo.InvariantCulture))],
                        Meta = new Meta { Tag = [new Coding("urn:test:batch", tag)] },
                        Active = true,
                    });
                }
            });
            Assert.Equal(n, response.Entry.Count);
        }
    }

    [Fact]
    public async Task SearchAllAsync_ThreeThousandPatients_YieldsEachExactlyOnceAcrossPages()
    {
        var counter = new RequestCounter();
        await using var services = ClientTestServices.Build(_host.BaseUrl, build: b => b.HttpClientBuilder.AddHttpMessageHandler(counter.Handler));
        using var client = services.Client();
        await CreatePatientsAsync(client, 3000, "bulk");
        var before = counter.Count;

        var ids = new HashSet<string>();
        var sequence = new HashSet<string>();
        await foreach (var patient in client.SearchAllAsync<Patient>(new SearchParams().LimitTo(250)))
        {
            Assert.True(ids.Add(patient.Id), $"Patient/{patient.Id} was yielded twice");
            sequence.Add(patient.Identifier[0].Value);
        }

        Assert.Equal(3000, ids.Count);
        Assert.Equal(3000, sequence.Count);
        Assert.Equal(12, counter.Count - before);
    }

    [Fact]
    public async Task SearchAllAsync_ConsumerStopsEarly_FetchesOnlyThePagesItNeeds()
    {
        var counter = new RequestCounter();
        await using var services = ClientTestServices.Build(_host.BaseUrl, build: b => b.HttpClientBuilder.AddHttpMessageHandler(counter.Handler));
        using var client = services.Client();
        await CreatePatientsAsync(client, 300, "lazy");
        var before = counter.Count;

        var enumeration = client.SearchAllAsync<Patient>(new SearchParams().LimitTo(50));
        Assert.Equal(before, counter.Count);

        var taken = 0;
        await foreach (var _ in enumeration)
        {
            if (++taken == 60)
            {
                break;
            }
        }

        Assert.Equal(2, counter.Count - before);
    }

    [Fact]
    public async Task SearchAllAsync_Cancelled_StopsWithOperationCanceled()
    {
        await using var services = ClientTestServices.Build(_host.BaseUrl);
        using var client = services.Client();
        await CreatePatientsAsync(client, 200, "cancel");
        using var cts = new CancellationTokenSource();

        var seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.SearchAllAsync<Patient>(new SearchParams().LimitTo(20)).WithCancellation(cts.Token))
            {
                if (++seen == 30)
                {
                    cts.Cancel();
                }
            }
        });

        Assert.InRange(seen, 30, 40);
    }

    [Fact]
    public async Task SearchAllAsync_UsingPost_YieldsTheSameResources()
    {
        await using var services = ClientTestServices.Build(_host.BaseUrl, o => o.SearchUsingPost = true);
        using var client = services.Client();
        await CreatePatientsAsync(client, 120, "post");

        var count = 0;
        await foreach (var _ in client.SearchAllAsync<Patient>(new SearchParams().Where("_tag=urn:test:batch|post").LimitTo(50)))
        {
            count++;
        }

        Assert.Equal(120, count);
    }

    [Fact]
    public async Task SearchPagesAsync_WithInclude_KeepsMatchesAndIncludedApart()
    {
        await using var services = ClientTestServices.Build(_host.BaseUrl);
        using var client = services.Client();
        var patients = new List<Patient>();
        for (var i = 0; i < 3; i++)
        {
            patients.Add((await client.CreateAsync(new Patient { Name = [new HumanName { Family = $"Inc{i}" }] }))!);
        }

        await client.TransactionAsync(b =>
        {
            for (var i = 0; i < 30; i++)
            {
                b.Create(new Observation
                {
                    Status = ObservationStatus.Final,
                    Code = new CodeableConcept("http://loinc.org", "8867-4"),
                    Subject = new ResourceReference($"Patient/{patients[i % 3].Id}"),
                });
            }
        });

        var matches = 0;
        var included = new HashSet<string>();
        var pages = 0;
        await foreach (var page in client.SearchPagesAsync<Observation>(new SearchParams().Include("Observation:subject").LimitTo(10)))
        {
            pages++;
            matches += page.Matches.Count;
            Assert.All(page.Included, r => Assert.IsType<Patient>(r));
            foreach (var r in page.Included)
            {
                included.Add(r.Id);
            }

            Assert.Equal(page.Bundle.Entry.Count, page.Matches.Count + page.Included.Count + page.Outcomes.Count);
        }

        Assert.Equal(30, matches);
        Assert.Equal(3, pages);
        Assert.Equal(patients.Select(p => p.Id).ToHashSet(), included);
    }

    [Fact]
    public async Task SearchAllAsync_AbstractType_AsksForTheTypeName()
    {
        await using var services = ClientTestServices.Build(_host.BaseUrl);
        using var client = services.Client();

        Assert.Throws<ArgumentException>(() => client.SearchAllAsync<Resource>());
        await client.CreateAsync(new Patient { Active = true });
        var any = await client.SearchAllAsync<Resource>("Patient").FirstAsync();
        Assert.IsType<Patient>(any);
    }
}
