using System.Globalization;
using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Tests.Infrastructure;
using static Igia.Fhir.Tests.Server.ServerTestSupport;

namespace Igia.Fhir.Tests.Server;

/// <summary>History at instance, type and system level, with <c>_since</c>, <c>_at</c>, <c>_count</c> and paging links.</summary>
public sealed class HistoryTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;

    public async System.Threading.Tasks.Task InitializeAsync() => _host = await FhirTestHost.StartAsync();

    public async System.Threading.Tasks.Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async System.Threading.Tasks.Task History_Instance_HasEveryVersionWithRequestAndResponse()
    {
        var p = await _host.CreateAsync(new Patient { Active = true });
        p.Active = false;
        await _host.UpsertAsync(p);
        await _host.CreateAsync(new Patient { Active = true });
        using (await _host.Client.DeleteAsync($"Patient/{p.Id}"))
        {
        }

        var history = await _host.GetAsync<Bundle>($"Patient/{p.Id}/_history");
        Assert.Equal(Bundle.BundleType.History, history.Type);
        Assert.Equal(3, history.Total);
        Assert.Equal(["3", "2", "1"], history.Entry.Select(e => e.Response.Etag.Trim('W', '/', '"')));
        Assert.All(history.Entry, e => Assert.Equal($"{_host.BaseUrl}/Patient/{p.Id}", e.FullUrl));
        Assert.Null(history.Entry[0].Resource);
        Assert.Equal("204", history.Entry[0].Response.Status);
        Assert.Equal("2", history.Entry[1].Resource.Meta.VersionId);
        Assert.False(((Patient)history.Entry[1].Resource).Active);
        Assert.Equal("201", history.Entry[2].Response.Status);
        Assert.Equal(Bundle.HTTPVerb.POST, history.Entry[2].Request.Method);
        Assert.Equal("Patient", history.Entry[2].Request.Url);
    }

    [Fact]
    public async System.Threading.Tasks.Task History_Instance_UnknownResource_Returns404()
    {
        using var response = await _host.Client.GetAsync("Patient/none/_history");
        await AssertOutcomeAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async System.Threading.Tasks.Task History_Instance_OfDeletedResource_StillListsItsVersions()
    {
        var p = await _host.CreateAsync(new Patient { Active = true });
        using (await _host.Client.DeleteAsync($"Patient/{p.Id}"))
        {
        }

        var history = await _host.GetAsync<Bundle>($"Patient/{p.Id}/_history");
        Assert.Equal(2, history.Total);
    }

    [Fact]
    public async System.Threading.Tasks.Task History_Type_HasOnlyThatTypeAllVersions()
    {
        var p1 = await _host.CreateAsync(new Patient { Active = true });
        await _host.UpsertAsync(p1);
        await _host.CreateAsync(new Patient { Active = true });
        await _host.CreateAsync(new Practitioner { Active = true });

        var history = await _host.GetAsync<Bundle>("Patient/_history");
        Assert.Equal(3, history.Total);
        Assert.All(history.Entry, e => Assert.IsType<Patient>(e.Resource));
    }

    [Fact]
    public async System.Threading.Tasks.Task History_System_HasEveryTypeNewestFirst()
    {
        await _host.CreateAsync(new Patient { Active = true });
        await _host.CreateAsync(new Practitioner { Active = true });
        await _host.CreateAsync(new Organization { Active = true });

        var history = await _host.GetAsync<Bundle>("_history");
        Assert.Equal(3, history.Total);
        Assert.Equal(["Organization", "Practitioner", "Patient"], history.Entry.Select(e => e.Resource.TypeName));
        var times = history.Entry.Select(e => e.Response.LastModified!.Value).ToList();
        Assert.Equal(times.OrderByDescending(t => t), times);
    }

    [Fact]
    public async System.Threading.Tasks.Task History_Since_OnlyVersionsAtOrAfterThatInstant()
    {
        var p = await _host.CreateAsync(new Patient { BirthDate = "2000" });
        var v2 = await _host.UpsertAsync(p);
        var v3 = await _host.UpsertAsync(p);
        await _host.CreateAsync(new Practitioner { Active = true });

        var since = Uri.EscapeDataString(v2.Meta.LastUpdated!.Value.ToString("o", CultureInfo.InvariantCulture));
        var instance = await _host.GetAsync<Bundle>($"Patient/{p.Id}/_history?_since={since}");
        Assert.Equal(["3", "2"], instance.Entry.Select(e => e.Resource.Meta.VersionId));
        var type = await _host.GetAsync<Bundle>($"Patient/_history?_since={since}");
        Assert.Equal(2, type.Total);
        var system = await _host.GetAsync<Bundle>($"_history?_since={since}");
        Assert.Equal(3, system.Total);
        Assert.True(v3.Meta.LastUpdated > v2.Meta.LastUpdated);
    }

    [Fact]
    public async System.Threading.Tasks.Task History_Since_InTheFuture_IsEmpty()
    {
        await _host.CreateAsync(new Patient { Active = true });
        var history = await _host.GetAsync<Bundle>("_history?_since=2999-01-01T00:00:00Z");
        Assert.Equal(0, history.Total);
        Assert.Empty(history.Entry);
    }

    [Fact]
    public async System.Threading.Tasks.Task History_At_ReturnsTheVersionCurrentAtThatInstant()
    {
        var p = await _host.CreateAsync(new Patient { BirthDate = "2001" });
        var v2 = await _host.UpsertAsync(new Patient { Id = p.Id, BirthDate = "2002" });
        await _host.UpsertAsync(new Patient { Id = p.Id, BirthDate = "2003" });

        var at = Uri.EscapeDataString(v2.Meta.LastUpdated!.Value.ToString("o", CultureInfo.InvariantCulture));
        var history = await _host.GetAsync<Bundle>($"Patient/{p.Id}/_history?_at={at}");
        var entry = Assert.Single(history.Entry);
        Assert.Equal("2002", ((Patient)entry.Resource).BirthDate);

        var beforeAll = await _host.GetAsync<Bundle>($"Patient/{p.Id}/_history?_at=1990-01-01");
        Assert.Empty(beforeAll.Entry);
    }

    [Fact]
    public async System.Threading.Tasks.Task History_Count_PagesWithNextPreviousFirstAndSelfLinks()
    {
        var p = await _host.CreateAsync(new Patient { BirthDate = "1900" });
        for (var i = 1; i < 25; i++)
        {
            p.BirthDate = (1900 + i).ToString(CultureInfo.InvariantCulture);
            await _host.UpsertAsync(p);
        }

        var page1 = await _host.GetAsync<Bundle>($"Patient/{p.Id}/_history?_count=10");
        Assert.Equal(25, page1.Total);
        Assert.Equal(10, page1.Entry.Count);
        Assert.NotNull(page1.SelfLink);
        Assert.NotNull(page1.FirstLink);
        Assert.Null(page1.PreviousLink);

        var versions = new List<string>();
        var page = page1;
        var pages = 0;
        while (true)
        {
            pages++;
            versions.AddRange(page.Entry.Select(e => e.Resource.Meta.VersionId));
            Assert.Equal(25, page.Total);
            if (page.NextLink is null)
            {
                break;
            }

            Assert.StartsWith(_host.BaseUrl + "/", page.NextLink.ToString());
            page = await _host.GetAsync<Bundle>(page.NextLink.OriginalString);
            Assert.NotNull(page.PreviousLink);
        }

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(1, 25).Reverse().Select(v => v.ToString(CultureInfo.InvariantCulture)), versions);

        var previous = await _host.GetAsync<Bundle>(page.PreviousLink!.OriginalString);
        Assert.Equal(["15", "14", "13", "12", "11", "10", "9", "8", "7", "6"], previous.Entry.Select(e => e.Resource.Meta.VersionId));
        var first = await _host.GetAsync<Bundle>(page.FirstLink!.OriginalString);
        Assert.Equal(page1.Entry.Select(e => e.Resource.Meta.VersionId), first.Entry.Select(e => e.Resource.Meta.VersionId));
    }

    [Fact]
    public async System.Threading.Tasks.Task History_CountZero_ReturnsTotalOnlyAndNoNextLink()
    {
        await _host.CreateAsync(new Patient { Active = true });
        await _host.CreateAsync(new Patient { Active = true });
        var history = await _host.GetAsync<Bundle>("_history?_count=0");
        Assert.Equal(2, history.Total);
        Assert.Empty(history.Entry);
        Assert.Null(history.NextLink);
    }

    [Fact]
    public async System.Threading.Tasks.Task History_CountAboveMaximum_IsLoweredToMaxPageSize()
    {
        await using var host = await FhirTestHost.StartAsync(o =>
        {
            o.DefaultPageSize = 2;
            o.MaxPageSize = 3;
        });
        for (var i = 0; i < 5; i++)
        {
            await host.CreateAsync(new Patient { Active = true });
        }

        var defaultPage = await host.GetAsync<Bundle>("_history");
        Assert.Equal(2, defaultPage.Entry.Count);
        var capped = await host.GetAsync<Bundle>("_history?_count=1000");
        Assert.Equal(3, capped.Entry.Count);
        Assert.Equal(5, capped.Total);
    }

    [Fact]
    public async System.Threading.Tasks.Task History_PagingWhileAnotherTaskWrites_NextPagesStayCorrect()
    {
        for (var i = 0; i < 30; i++)
        {
            await _host.CreateAsync(new Patient { BirthDate = (1950 + i).ToString(CultureInfo.InvariantCulture) });
        }

        // The writer adds versions of the same type as fast as it can, so that most first pages are read while a
        // write is in flight; it stops after a while so that the history stays small enough to page through. It never
        // stops before the reader has begun its second round, so that the history is paged while it writes however the
        // two tasks are scheduled (on a loaded machine the writer could otherwise finish during the first round).
        const int MaxWrites = 400;
        var writes = 0;
        var rounds = 0;
        var writer = System.Threading.Tasks.Task.Run(async () =>
        {
            while (Volatile.Read(ref writes) < MaxWrites || Volatile.Read(ref rounds) < 2)
            {
                using var response = await _host.Client.PostAsync("Patient", FhirTestHost.JsonContent(new Patient { Active = true }));
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                Interlocked.Increment(ref writes);
            }
        });

        while (!writer.IsCompleted || rounds == 0)
        {
            Interlocked.Increment(ref rounds);
            var page = await _host.GetAsync<Bundle>("Patient/_history?_count=10");
            var total = page.Total;
            var firstPage = page.Entry.Select(e => e.Resource.Id).ToList();
            var seen = new List<(string Id, DateTimeOffset Time)>();
            while (true)
            {
                Assert.Equal(total, page.Total);
                seen.AddRange(page.Entry.Select(e => (e.Resource.Id, e.Response.LastModified!.Value)));
                if (page.NextLink is null)
                {
                    break;
                }

                page = await _host.GetAsync<Bundle>(page.NextLink.OriginalString);
            }

            // Exactly the versions that existed when the first page was read: each once, newest first.
            Assert.Equal(total, seen.Count);
            Assert.Equal(seen.Count, seen.Select(s => s.Id).Distinct().Count());
            Assert.Equal(seen.OrderByDescending(s => s.Time).Select(s => s.Id), seen.Select(s => s.Id));
            Assert.Equal(firstPage, seen.Take(firstPage.Count).Select(s => s.Id));
        }

        await writer;
        Assert.True(rounds > 1, "The history was never paged while the writer ran.");
        Assert.True(writes >= MaxWrites, $"{writes} writes");
        Assert.Equal(30 + writes, (await _host.GetAsync<Bundle>("Patient/_history?_count=1")).Total);
    }

    [Fact]
    public async System.Threading.Tasks.Task History_WritesInOneMillisecond_HaveDistinctIncreasingTimesEqualToMeta()
    {
        // A transaction writes its entries back to back, many within one millisecond.
        var entries = Enumerable.Range(0, 40).Select(i => Entry(Bundle.HTTPVerb.PUT, $"Patient/burst-{i}", new Patient { Id = $"burst-{i}", Active = true })).ToArray();
        using (var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(NewBundle(Bundle.BundleType.Transaction, entries))))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var history = await _host.GetAsync<Bundle>("_history?_count=100");
        var times = history.Entry.Select(e => e.Response.LastModified!.Value).ToList();
        Assert.Equal(40, times.Distinct().Count());
        Assert.Equal(times.OrderByDescending(t => t), times);
        Assert.All(history.Entry, e => Assert.Equal(e.Response.LastModified, e.Resource.Meta.LastUpdated));
        foreach (var e in history.Entry.Take(5))
        {
            var read = await _host.GetAsync<Patient>($"Patient/{e.Resource.Id}");
            Assert.Equal(e.Response.LastModified, read.Meta.LastUpdated);
        }
    }

    [Theory]
    [InlineData("_count=abc", "_count")]
    [InlineData("_count=-1", "_count")]
    [InlineData("_count=1.5", "_count")]
    [InlineData("_since=yesterday", "_since")]
    [InlineData("_since=2020-13-45", "_since")]
    [InlineData("_since=2020-01-01T00:00:00Z'%20OR%20'1'='1", "_since")]
    [InlineData("_at=not-a-date", "_at")]
    [InlineData("_count=1;DROP%20TABLE%20resource", "_count")]
    public async System.Threading.Tasks.Task History_InvalidParameter_Returns400NamingIt(string query, string name)
    {
        await _host.CreateAsync(new Patient { Active = true });
        foreach (var path in new[] { "_history", "Patient/_history" })
        {
            using var response = await _host.Client.GetAsync($"{path}?{query}");
            await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, name);
        }

        Assert.Equal(1, await _host.CountVersionsAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task History_UnknownParameter_IgnoredWhenLenientAnd400WhenStrict()
    {
        await _host.CreateAsync(new Patient { Active = true });
        using var lenient = await _host.SendAsync(HttpMethod.Get, "_history?foo=bar", null, ("Prefer", "handling=lenient"));
        Assert.Equal(HttpStatusCode.OK, lenient.StatusCode);
        using var byDefault = await _host.Client.GetAsync("_history?foo=bar");
        Assert.Equal(HttpStatusCode.OK, byDefault.StatusCode);
        using var strict = await _host.SendAsync(HttpMethod.Get, "_history?foo=bar", null, ("Prefer", "handling=strict"));
        await AssertOutcomeAsync(strict, HttpStatusCode.BadRequest, "foo");
    }
}
