using System.Diagnostics;
using System.Globalization;
using System.Net;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using Hl7.Fhir.Rest;
using Igia.Fhir.Client;
using Microsoft.AspNetCore.Http;

namespace Igia.Fhir.Tests.Client;

/// <summary>The client against a real, misbehaving Kestrel server: what is retried, what never is, and how long it takes to give up.</summary>
public sealed class ClientFaultTests
{
    private static Patient Patient(string id = "p1", string version = "1") => new() { Id = id, Meta = new Meta { VersionId = version }, Active = true };

    [Fact]
    public async Task ReadAsync_503WithRetryAfterSeconds_WaitsAsAskedThenSucceeds()
    {
        await using var server = await FaultServer.StartAsync(async (context, n) =>
        {
            if (n <= 2)
            {
                context.Response.Headers.RetryAfter = "1";
                await FaultServer.WriteOutcomeAsync(context, 503, "busy");
                return;
            }

            await FaultServer.WriteAsync(context, Patient());
        });
        await using var services = ClientTestServices.Build(server.BaseUrl);
        using var client = services.Client();

        var watch = Stopwatch.StartNew();
        var patient = await client.ReadAsync<Patient>("Patient/p1");

        Assert.Equal("p1", patient!.Id);
        Assert.Equal(3, server.Count);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1.8), $"Retry-After: 1 twice should take about 2 s, took {watch.Elapsed}");
    }

    [Fact]
    public async Task ReadAsync_503WithRetryAfterHttpDate_WaitsUntilThatTime()
    {
        await using var server = await FaultServer.StartAsync(async (context, n) =>
        {
            if (n == 1)
            {
                context.Response.Headers.RetryAfter = DateTimeOffset.UtcNow.AddSeconds(2).ToString("R", CultureInfo.InvariantCulture);
                await FaultServer.WriteOutcomeAsync(context, 503, "maintenance");
                return;
            }

            await FaultServer.WriteAsync(context, Patient());
        });
        await using var services = ClientTestServices.Build(server.BaseUrl);
        using var client = services.Client();

        var watch = Stopwatch.StartNew();
        await client.ReadAsync<Patient>("Patient/p1");

        Assert.Equal(2, server.Count);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.9), $"an HTTP-date 2 s ahead (1 s resolution) should delay at least ~1 s, took {watch.Elapsed}");
    }

    [Fact]
    public async Task ReadAsync_RetryAfterLongerThanAllowed_GivesUpAtOnceWithTheDelay()
    {
        await using var server = await FaultServer.StartAsync(async (context, _) =>
        {
            context.Response.Headers.RetryAfter = "120";
            await FaultServer.WriteOutcomeAsync(context, 503, "come back later");
        });
        await using var services = ClientTestServices.Build(server.BaseUrl, o => o.Retry.MaxRetryAfter = TimeSpan.FromSeconds(5));
        using var client = services.Client();

        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/p1"));

        Assert.Equal(1, server.Count);
        Assert.Equal(FhirClientErrorKind.HttpError, e.Kind);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, e.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(120), e.RetryAfter);
        Assert.Contains("come back later", e.Message);
        Assert.Contains("MaxRetryAfter", e.Message);

        // A logical bound, not a timing: honouring Retry-After: 120 would take at least 120 s.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"should not wait the 120 s asked for, took {watch.Elapsed}");
    }

    [Fact]
    public async Task SearchAsync_429ThenOk_RetriedAndSucceeds()
    {
        await using var server = await FaultServer.StartAsync(async (context, n) =>
        {
            if (n == 1)
            {
                context.Response.Headers.RetryAfter = "0";
                await FaultServer.WriteOutcomeAsync(context, 429, "slow down");
                return;
            }

            await FaultServer.WriteAsync(context, new Bundle { Type = Bundle.BundleType.Searchset, Total = 0 });
        });
        await using var services = ClientTestServices.Build(server.BaseUrl);
        using var client = services.Client();

        var bundle = await client.SearchAsync<Patient>(new SearchParams().Where("name=x"));

        Assert.Equal(0, bundle!.Total);
        Assert.Equal(2, server.Count);
    }

    [Fact]
    public async Task ReadAsync_Persistent500_RetriesMaxTimesThenThrowsWithOutcome()
    {
        await using var server = await FaultServer.StartAsync((context, _) => FaultServer.WriteOutcomeAsync(context, 500, "database down"));
        await using var services = ClientTestServices.Build(server.BaseUrl, o => o.Retry.MaxRetryAttempts = 2);
        using var client = services.Client();

        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/p1"));

        Assert.Equal(3, server.Count);
        Assert.Equal(3, e.Attempts);
        Assert.Equal(HttpStatusCode.InternalServerError, e.StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, e.Status);
        Assert.Equal("database down", e.Outcome!.Issue[0].Diagnostics);
        Assert.Equal("read", e.Interaction);
        Assert.Equal("Patient", e.ResourceType);
    }

    [Fact]
    public async Task ReadAsync_ConnectionReset_RetriedAndSucceeds()
    {
        await using var server = await FaultServer.StartAsync(async (context, n) =>
        {
            if (n == 1)
            {
                context.Abort();
                return;
            }

            await FaultServer.WriteAsync(context, Patient());
        });
        await using var services = ClientTestServices.Build(server.BaseUrl);
        using var client = services.Client();

        var patient = await client.ReadAsync<Patient>("Patient/p1");

        Assert.NotNull(patient);
        Assert.Equal(2, server.Count);
    }

    [Fact]
    public async Task CreateAsync_ConnectionReset_SentExactlyOnceAndThrowsTransport()
    {
        await using var server = await FaultServer.StartAsync(async (context, _) =>
        {
            await FaultServer.ReadAsync<Patient>(context);
            context.Abort();
        });
        await using var services = ClientTestServices.Build(server.BaseUrl, o => o.Retry.MaxRetryAttempts = 5);
        using var client = services.Client();

        // Warm the connection pool first so that the POST goes over a reused connection, the case where an HTTP stack is most tempted to resend.
        await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/warm"));
        var before = server.Count;

        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.CreateAsync(new Patient { Active = true }));

        Assert.Equal(1, server.Count - before);
        Assert.Single(server.Requests, r => r.Method == "POST");
        Assert.Equal(FhirClientErrorKind.Transport, e.Kind);
        Assert.Null(e.StatusCode);
        Assert.Equal("create", e.Interaction);
        Assert.Contains("not safe to repeat", e.Message);
    }

    [Fact]
    public async Task CreateAsync_503_NotRetried()
    {
        await using var server = await FaultServer.StartAsync((context, _) => FaultServer.WriteOutcomeAsync(context, 503, "busy"));
        await using var services = ClientTestServices.Build(server.BaseUrl);
        using var client = services.Client();

        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.CreateAsync(new Patient()));

        Assert.Equal(1, server.Count);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, e.StatusCode);
        Assert.Contains("not safe to repeat", e.Message);
    }

    [Fact]
    public async Task CreateIfNoneExistAsync_503ThenCreated_RetriedWithTheCondition()
    {
        await using var server = await FaultServer.StartAsync(async (context, n) =>
        {
            if (n == 1)
            {
                await FaultServer.WriteOutcomeAsync(context, 503, "busy");
                return;
            }

            context.Response.Headers.Location = "http://127.0.0.1/fhir/Patient/new/_history/1";
            await FaultServer.WriteAsync(context, Patient("new"), 201);
        });
        await using var services = ClientTestServices.Build(server.BaseUrl);
        using var client = services.Client();

        var result = await client.CreateIfNoneExistAsync(new Patient(), new SearchParams().Where("identifier=urn:x|1"));

        Assert.True(result.Created);
        Assert.Equal("new", result.Resource!.Id);
        Assert.Equal(2, server.Count);
        Assert.All(server.Requests, r => Assert.StartsWith("identifier=", r.IfNoneExist));
        Assert.Equal(server.Requests.First().IfNoneExist, server.Requests.Last().IfNoneExist);
    }

    [Fact]
    public async Task UpdateAsync_WithIfMatch_RetriedButWithoutIfMatch_NotRetried()
    {
        await using var server = await FaultServer.StartAsync((context, _) => FaultServer.WriteOutcomeAsync(context, 502, "bad gateway"));
        await using var services = ClientTestServices.Build(server.BaseUrl, o => o.Retry.MaxRetryAttempts = 2);
        using var client = services.Client();

        await Assert.ThrowsAsync<FhirClientException>(() => client.UpdateAsync(Patient(), versionAware: true));
        Assert.Equal(3, server.Count);
        Assert.All(server.Requests, r => Assert.Equal("W/\"1\"", r.IfMatch));

        await Assert.ThrowsAsync<FhirClientException>(() => client.UpdateAsync(Patient(), versionAware: false));
        Assert.Equal(4, server.Count);
    }

    [Fact]
    public async Task TransactionAsync_503_NotRetried()
    {
        await using var server = await FaultServer.StartAsync((context, _) => FaultServer.WriteOutcomeAsync(context, 503, "busy"));
        await using var services = ClientTestServices.Build(server.BaseUrl);
        using var client = services.Client();

        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.TransactionAsync(b => b.Create(new Patient())));

        Assert.Equal(1, server.Count);
        Assert.Equal("transaction", e.Interaction);
    }

    [Fact]
    public async Task InvokeOperationAsync_PostOfUnsafeOperation_NotRetriedButSafeOperationIs()
    {
        await using var server = await FaultServer.StartAsync((context, _) => FaultServer.WriteOutcomeAsync(context, 503, "busy"));
        await using var services = ClientTestServices.Build(server.BaseUrl, o => o.Retry.MaxRetryAttempts = 1);
        using var client = services.Client();

        await Assert.ThrowsAsync<FhirClientException>(() => client.InvokeOperationAsync("reindex", new Parameters()));
        Assert.Equal(1, server.Count);

        await Assert.ThrowsAsync<FhirClientException>(() => client.ValidateAsync(new Patient()));
        Assert.Equal(3, server.Count);
    }

    [Fact]
    public async Task ReadAsync_SlowServer_AttemptTimeoutRetriesAndTotalTimeoutBoundsTheWait()
    {
        await using var server = await FaultServer.StartAsync(async (context, _) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(120), context.RequestAborted).ContinueWith(_ => { });
        });
        // The overall timeout (14 s) falls in the middle of the fourth attempt (about 12-16 s), far from where an attempt
        // times out: with a multiple of the attempt timeout both timers come due together, and on a loaded machine either
        // may be seen first. Attempts of 4 s leave room for a request that is slow to reach the server.
        await using var services = ClientTestServices.Build(server.BaseUrl, o =>
        {
            o.AttemptTimeout = TimeSpan.FromSeconds(4);
            o.TotalTimeout = TimeSpan.FromSeconds(14);
            o.Retry.MaxRetryAttempts = 20;
        });
        using var client = services.Client();

        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/p1"));

        Assert.Equal(FhirClientErrorKind.Timeout, e.Kind);
        Assert.Contains("overall timeout", e.Message);
        Assert.True(server.Count >= 2, $"the per-attempt timeout should have led to retries, saw {server.Count} request(s)");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(90), $"the overall timeout of 14 s, not the 120 s server, should end the wait; took {watch.Elapsed}");
    }

    [Fact]
    public async Task CreateAsync_SlowServer_TimesOutOnceWithoutRetry()
    {
        await using var server = await FaultServer.StartAsync(async (context, _) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(120), context.RequestAborted).ContinueWith(_ => { });
        });
        // 10 s per attempt: the request must reach the server before the attempt times out, even on a loaded machine.
        await using var services = ClientTestServices.Build(server.BaseUrl, o =>
        {
            o.AttemptTimeout = TimeSpan.FromSeconds(10);
            o.TotalTimeout = TimeSpan.FromSeconds(60);
        });
        using var client = services.Client();

        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.CreateAsync(new Patient()));

        Assert.Equal(FhirClientErrorKind.Timeout, e.Kind);
        Assert.Contains("per-attempt timeout", e.Message);
        Assert.Contains("may or may not have taken effect", e.Message);
        Assert.Equal(1, server.Count);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(90), $"the per-attempt timeout, not the 120 s server, should end the wait; took {watch.Elapsed}");
    }

    [Fact]
    public async Task ReadAsync_BodyStallsAfterHeaders_AttemptTimeoutCoversTheBody()
    {
        await using var server = await FaultServer.StartAsync(async (context, n) =>
        {
            if (n == 1)
            {
                context.Response.ContentType = "application/fhir+json";
                context.Response.ContentLength = 10_000;
                await context.Response.WriteAsync("{\"resourceType\":\"Patient\",");
                await context.Response.Body.FlushAsync();
                await Task.Delay(TimeSpan.FromSeconds(120), context.RequestAborted).ContinueWith(_ => { });
                return;
            }

            await FaultServer.WriteAsync(context, Patient());
        });
        // 10 s per attempt, so that the second attempt (a new connection) completes within it even on a loaded machine.
        await using var services = ClientTestServices.Build(server.BaseUrl, o => o.AttemptTimeout = TimeSpan.FromSeconds(10));
        using var client = services.Client();

        var watch = Stopwatch.StartNew();
        var patient = await client.ReadAsync<Patient>("Patient/p1");

        Assert.NotNull(patient);
        Assert.Equal(2, server.Count);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(90), $"the per-attempt timeout, not the stalled body (120 s), should end the first attempt; took {watch.Elapsed}");
    }

    [Fact]
    public async Task ReadAsync_HtmlPage_ThrowsInvalidResponseNamingTheContentType()
    {
        await using var server = await FaultServer.StartAsync(async (context, _) =>
        {
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync("<html><body>Welcome to nginx</body></html>");
        });
        await using var services = ClientTestServices.Build(server.BaseUrl);
        using var client = services.Client();

        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/p1"));

        Assert.Equal(FhirClientErrorKind.InvalidResponse, e.Kind);
        Assert.Equal(HttpStatusCode.OK, e.StatusCode);
        Assert.Contains("text/html", e.Message);
        Assert.Contains("nginx", e.ResponseText);
        Assert.Equal(1, server.Count);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"resourceType\":\"Patient\",\"active\":")]
    [InlineData("{\"resourceType\":\"NoSuchType\"}")]
    public async Task ReadAsync_BodyThatIsNotFhir_ThrowsInvalidResponse(string body)
    {
        await using var server = await FaultServer.StartAsync(async (context, _) =>
        {
            context.Response.ContentType = "application/fhir+json";
            await context.Response.WriteAsync(body);
        });
        await using var services = ClientTestServices.Build(server.BaseUrl);
        using var client = services.Client();

        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/p1"));

        Assert.Equal(FhirClientErrorKind.InvalidResponse, e.Kind);
    }

    [Fact]
    public async Task ReadAsync_502WithHtmlBody_ThrowsHttpErrorKeepingTheText()
    {
        await using var server = await FaultServer.StartAsync(async (context, _) =>
        {
            context.Response.StatusCode = 502;
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync("<html>Bad Gateway from the proxy</html>");
        });
        await using var services = ClientTestServices.Build(server.BaseUrl, o => o.Retry.MaxRetryAttempts = 1);
        using var client = services.Client();

        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/p1"));

        Assert.Equal(FhirClientErrorKind.HttpError, e.Kind);
        Assert.Equal(HttpStatusCode.BadGateway, e.StatusCode);
        Assert.Null(e.Outcome);
        Assert.Contains("proxy", e.ResponseText);
        Assert.Contains("text/html", e.Message);
        Assert.Equal(2, server.Count);
    }

    [Fact]
    public async Task ReadAsync_RepeatedFailures_OpenTheCircuitAndFailFastWithoutSending()
    {
        await using var server = await FaultServer.StartAsync((context, _) => FaultServer.WriteOutcomeAsync(context, 500, "down"));
        await using var services = ClientTestServices.Build(server.BaseUrl, o =>
        {
            o.Retry.Enabled = false;
            o.CircuitBreaker.MinimumThroughput = 4;
            o.CircuitBreaker.FailureRatio = 0.5;
            o.CircuitBreaker.BreakDuration = TimeSpan.FromSeconds(30);
        });

        for (var i = 0; i < 4; i++)
        {
            using var c = services.Client();
            await Assert.ThrowsAsync<FhirClientException>(() => c.ReadAsync<Patient>("Patient/p1"));
        }

        var sent = server.Count;
        using var client = services.Client();
        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/p1"));

        Assert.Equal(FhirClientErrorKind.CircuitOpen, e.Kind);
        Assert.Equal(sent, server.Count);
        Assert.Equal(0, e.Attempts);
        Assert.Equal(TimeSpan.FromSeconds(30), e.RetryAfter);
        Assert.Contains("circuit breaker", e.Message);
    }

    [Fact]
    public async Task UpdateWithRetryAsync_AlwaysConflicting_GivesUpAfterMaxAttempts()
    {
        await using var server = await FaultServer.StartAsync(async (context, n) =>
        {
            if (context.Request.Method == "GET")
            {
                await FaultServer.WriteAsync(context, Patient("p1", n.ToString(CultureInfo.InvariantCulture)));
                return;
            }

            await FaultServer.WriteOutcomeAsync(context, 412, "version conflict");
        });
        await using var services = ClientTestServices.Build(server.BaseUrl, o => o.MaxUpdateAttempts = 3);
        using var client = services.Client();
        var calls = 0;

        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.UpdateWithRetryAsync<Patient>("p1", p => { calls++; p.Active = false; }));

        Assert.Equal(HttpStatusCode.PreconditionFailed, e.StatusCode);
        Assert.Equal(3, calls);
        Assert.Equal(3, server.Requests.Count(r => r.Method == "PUT"));
        Assert.Contains("after 3 attempts", e.Message);
        Assert.IsType<FhirClientException>(e.InnerException);
    }

    [Fact]
    public async Task PagesAsync_NextLinkRepeats_ThrowsInsteadOfLoopingForever()
    {
        FaultServer? self = null;
        await using var server = await FaultServer.StartAsync(async (context, _) =>
        {
            var bundle = new Bundle { Type = Bundle.BundleType.Searchset };
            bundle.Link.Add(new Bundle.LinkComponent { Relation = "next", Url = self!.BaseUrl + "/Patient?page=2" });
            await FaultServer.WriteAsync(context, bundle);
        });
        self = server;
        await using var services = ClientTestServices.Build(server.BaseUrl);
        using var client = services.Client();

        var pages = 0;
        var e = await Assert.ThrowsAsync<FhirClientException>(async () =>
        {
            await foreach (var _ in client.SearchPagesAsync<Patient>())
            {
                pages++;
            }
        });

        Assert.Equal(FhirClientErrorKind.InvalidResponse, e.Kind);
        Assert.Equal(2, pages);
    }

    [Fact]
    public async Task ReadAsync_CancelledByCaller_ThrowsOperationCanceledNotFhirClientException()
    {
        // The caller cancels once the server holds the request, not on a timer: on a loaded machine a short timer can
        // fire before the request is even sent.
        using var cts = new CancellationTokenSource();
        await using var server = await FaultServer.StartAsync(async (context, _) =>
        {
            cts.Cancel();
            await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted).ContinueWith(_ => { });
        });
        await using var services = ClientTestServices.Build(server.BaseUrl);
        using var client = services.Client();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ReadAsync<Patient>("Patient/p1", ct: cts.Token));
        Assert.Equal(1, server.Count);
    }
}
