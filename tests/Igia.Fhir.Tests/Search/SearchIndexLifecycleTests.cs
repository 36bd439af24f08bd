using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Igia.Fhir.Tests.Search;

/// <summary>The index follows writes: updates replace rows, deletes remove them, transactions search their own writes.</summary>
public sealed class SearchIndexLifecycleTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;

    public async Task InitializeAsync() => _host = await FhirTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Update_ReplacesIndexRows_OldValuesNoLongerMatch()
    {
        var patient = await _host.CreateAsync(new Patient { Name = [new HumanName { Family = "Before" }], BirthDate = "1970-01-01" });
        patient.Name = [new HumanName { Family = "After" }];
        using var put = await _host.Client.PutAsync($"Patient/{patient.Id}", FhirTestHost.JsonContent(patient));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        Assert.Empty((await _host.GetAsync<Bundle>("Patient?family=before")).Entry);
        Assert.Equal(patient.Id, Assert.Single((await _host.GetAsync<Bundle>("Patient?family=after")).Entry).Resource.Id);
        Assert.Single((await _host.GetAsync<Bundle>("Patient?birthdate=1970")).Entry);
    }

    [Fact]
    public async Task Delete_RemovesFromResultsAndIncludes()
    {
        var org = await _host.CreateAsync(new Organization { Name = "Gone Org" });
        var patient = await _host.CreateAsync(new Patient { Name = [new HumanName { Family = "Orphan" }], ManagingOrganization = new ResourceReference($"Organization/{org.Id}") });
        using (var delete = await _host.Client.DeleteAsync($"Organization/{org.Id}"))
        {
            Assert.True(delete.IsSuccessStatusCode);
        }

        Assert.Empty((await _host.GetAsync<Bundle>("Organization?name=gone")).Entry);
        var withInclude = await _host.GetAsync<Bundle>($"Patient?_id={patient.Id}&_include=Patient:organization");
        Assert.Equal(patient.Id, Assert.Single(withInclude.Entry).Resource.Id);
        Assert.Empty((await _host.GetAsync<Bundle>("Patient?organization.name=gone")).Entry);
    }

    [Fact]
    public async Task Transaction_SearchEntry_SeesTheTransactionsWritesAndPagesLater()
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        for (var i = 0; i < 3; i++)
        {
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = $"urn:uuid:{Guid.NewGuid()}",
                Resource = new Patient { Name = [new HumanName { Family = "Txn" }] },
                Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Patient" },
            });
        }

        using var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(bundle));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        var first = await _host.GetAsync<Bundle>("Patient?family=txn&_count=2");
        Assert.Equal(3, first.Total);
        var next = first.Link.Single(l => l.Relation == "next").Url;
        var second = await _host.GetAsync<Bundle>(next[(_host.BaseUrl.Length + 1)..]);
        Assert.Single(second.Entry);
    }

    [Fact]
    public async Task Batch_WithPagedSearchEntry_ReturnsSearchsetWithLinks()
    {
        for (var i = 0; i < 3; i++)
        {
            await _host.CreateAsync(new Practitioner { Name = [new HumanName { Family = "Batchy" }] });
        }

        var batch = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new Bundle.EntryComponent
                {
                    FullUrl = $"urn:uuid:{Guid.NewGuid()}",
                    Resource = new Practitioner { Name = [new HumanName { Family = "Batchy" }] },
                    Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Practitioner" },
                },
                new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.GET, Url = "Practitioner?family=batchy&_count=2" } },
            ],
        };

        using var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(batch));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var result = await FhirTestHost.ReadAsync<Bundle>(response);
        var searchset = Assert.IsType<Bundle>(result.Entry[1].Resource);
        Assert.Equal(4, searchset.Total);
        Assert.Contains(searchset.Link, l => l.Relation == "next");
    }
}
