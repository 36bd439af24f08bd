using System.Collections.Concurrent;
using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Igia.Fhir.Tests.Search;

/// <summary>Paging through snapshots: links stay correct while others write; expired and foreign snapshots are refused.</summary>
public sealed class SearchPagingTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;

    public async Task InitializeAsync() => _host = await FhirTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Paging_WhileOthersCreateMatchingResources_SeesEveryOriginalExactlyOnce()
    {
        var originals = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 250; i++)
        {
            originals.Add((await _host.CreateAsync(new Patient { Name = [new HumanName { Family = "Pager", Given = [$"n{i}"] }] })).Id);
        }

        var seen = new List<string>();
        var first = await _host.GetAsync<Bundle>("Patient?family=pager&_count=20&_sort=-_lastUpdated");
        Assert.Equal(250, first.Total);
        Assert.Contains(first.Link, l => l.Relation == "next");

        using var stop = new CancellationTokenSource();
        var created = new ConcurrentBag<string>();
        var firstCreated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writer = Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                created.Add((await _host.CreateAsync(new Patient { Name = [new HumanName { Family = "Pager", Given = [$"late{n++}"] }] })).Id);
                firstCreated.TrySetResult();
            }
        });

        // At least one matching resource is created after the first page, whatever the scheduling: on a loaded machine the
        // writer may otherwise not get to run before the paging ends.
        if (await Task.WhenAny(firstCreated.Task, writer).WaitAsync(TimeSpan.FromMinutes(2)) == writer)
        {
            await writer; // it failed: show why
        }

        var page = first;
        var pages = 0;
        while (true)
        {
            seen.AddRange(page.Entry.Where(e => e.Search.Mode == Bundle.SearchEntryMode.Match).Select(e => e.Resource.Id));
            pages++;
            var next = page.Link.FirstOrDefault(l => l.Relation == "next")?.Url;
            if (next is null)
            {
                break;
            }

            Assert.StartsWith(_host.BaseUrl + "/Patient?", next);
            Assert.True(pages < 50, "paging did not end");
            page = await _host.GetAsync<Bundle>(next[(_host.BaseUrl.Length + 1)..]);
            Assert.Equal(250, page.Total);
        }

        await stop.CancelAsync();
        await writer;

        Assert.Equal(13, pages);
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.True(originals.SetEquals(seen), "every original resource is seen exactly once");
        Assert.NotEmpty(created);

        var fresh = await _host.GetAsync<Bundle>("Patient?family=pager&_summary=count");
        Assert.Equal(250 + created.Count, fresh.Total);
    }

    [Fact]
    public async Task Paging_LinksHaveFirstPreviousNextLast()
    {
        for (var i = 0; i < 5; i++)
        {
            await _host.CreateAsync(new Organization { Name = $"Org {i}" });
        }

        var first = await _host.GetAsync<Bundle>("Organization?_count=2&_sort=name&_elements=name");
        Assert.Equal(["Org 0", "Org 1"], first.Entry.Select(e => ((Organization)e.Resource).Name).ToArray());
        Assert.Equal($"{_host.BaseUrl}/Organization?_sort=name&_count=2&_elements=name", first.Link.Single(l => l.Relation == "self").Url);
        var next = first.Link.Single(l => l.Relation == "next").Url;
        Assert.Contains("_getpages=", next);
        Assert.Contains("_elements=name", next);
        Assert.DoesNotContain(first.Link, l => l.Relation == "previous");
        var last = await _host.GetAsync<Bundle>(first.Link.Single(l => l.Relation == "last").Url[(_host.BaseUrl.Length + 1)..]);
        Assert.Equal(["Org 4"], last.Entry.Select(e => ((Organization)e.Resource).Name).ToArray());
        Assert.Contains(last.Link, l => l.Relation == "previous");
        Assert.DoesNotContain(last.Link, l => l.Relation == "next");
    }

    [Fact]
    public async Task Paging_PageOfSearchWithInclude_IncludesAgain()
    {
        var org = await _host.CreateAsync(new Organization { Name = "Included Org" });
        for (var i = 0; i < 3; i++)
        {
            await _host.CreateAsync(new Patient { Name = [new HumanName { Family = "Inc" }], ManagingOrganization = new ResourceReference($"Organization/{org.Id}") });
        }

        var first = await _host.GetAsync<Bundle>("Patient?family=inc&_count=2&_include=Patient:organization");
        Assert.Single(first.Entry, e => e.Search.Mode == Bundle.SearchEntryMode.Include);
        var second = await _host.GetAsync<Bundle>(first.Link.Single(l => l.Relation == "next").Url[(_host.BaseUrl.Length + 1)..]);
        Assert.Single(second.Entry, e => e.Search.Mode == Bundle.SearchEntryMode.Match);
        Assert.Equal(org.Id, Assert.Single(second.Entry, e => e.Search.Mode == Bundle.SearchEntryMode.Include).Resource.Id);
    }

    [Fact]
    public async Task GetPages_UnknownOrTampered_IsRefused()
    {
        using (var unknown = await _host.Client.GetAsync("Patient?_getpages=0123456789abcdef&_offset=20&_count=20"))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        for (var i = 0; i < 3; i++)
        {
            await _host.CreateAsync(new Patient { Name = [new HumanName { Family = "Tamper" }] });
        }

        var first = await _host.GetAsync<Bundle>("Patient?family=tamper&_count=1");
        var next = first.Link.Single(l => l.Relation == "next").Url[(_host.BaseUrl.Length + 1)..];
        using (var added = await _host.Client.GetAsync(next + "&gender=male"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, added.StatusCode);
        }

        using (var otherType = await _host.Client.GetAsync(next.Replace("Patient?", "Observation?", StringComparison.Ordinal)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, otherType.StatusCode);
        }
    }

    [Fact]
    public async Task GetPages_Expired_Is410()
    {
        await using var host = await FhirTestHost.StartAsync(o => o.SearchSnapshotLifetime = TimeSpan.Zero);
        for (var i = 0; i < 3; i++)
        {
            await host.CreateAsync(new Patient { Active = true });
        }

        var first = await host.GetAsync<Bundle>("Patient?_count=1");
        var next = first.Link.Single(l => l.Relation == "next").Url[(host.BaseUrl.Length + 1)..];
        using var response = await host.Client.GetAsync(next);
        Assert.Equal(HttpStatusCode.Gone, response.StatusCode);
        Assert.Contains("expired", (await FhirTestHost.ReadAsync<OperationOutcome>(response)).Issue[0].Diagnostics);
    }
}
