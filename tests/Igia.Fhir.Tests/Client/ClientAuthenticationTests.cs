using System.Net;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using Hl7.Fhir.Rest;
using Igia.Fhir.Client;
using Igia.Fhir.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Igia.Fhir.Tests.Client;

/// <summary>Access tokens: sent per request, refreshed once after a 401, never sent elsewhere, never logged.</summary>
public sealed class ClientAuthenticationTests
{
    /// <summary>Hands out token-1, token-2, … ; each refresh moves to the next. Counts refreshes.</summary>
    private sealed class CountingTokenProvider : CachingAccessTokenProvider
    {
        private int _issued;

        public int Issued => Volatile.Read(ref _issued);

        protected override async ValueTask<FhirAccessToken> AcquireTokenAsync(CancellationToken cancellationToken)
        {
            await Task.Delay(20, cancellationToken);
            var n = Interlocked.Increment(ref _issued);
            return new FhirAccessToken($"secret-token-{n}", DateTimeOffset.UtcNow.AddHours(1));
        }
    }

    private static Func<HttpContext, int, Task> AcceptOnly(string token) => async (context, _) =>
    {
        if (context.Request.Headers.Authorization != $"Bearer {token}")
        {
            await FaultServer.WriteOutcomeAsync(context, 401, "token expired");
            return;
        }

        if (context.Request.Method == "POST")
        {
            var body = await FaultServer.ReadAsync<Patient>(context);
            body.Id = "created";
            await FaultServer.WriteAsync(context, body, 201);
            return;
        }

        if (context.Request.Path.Value!.Contains("_history"))
        {
            await FaultServer.WriteOutcomeAsync(context, 404, $"{context.Request.Path} is not known.");
            return;
        }

        if (context.Request.Path == "/fhir/Patient")
        {
            await FaultServer.WriteAsync(context, new Bundle { Type = Bundle.BundleType.Searchset, Total = 0 });
            return;
        }

        await FaultServer.WriteAsync(context, new Patient { Id = "p-4711", Active = true });
    };

    [Fact]
    public async Task ReadAsync_TokenRejected_RefreshesOnceAndSendsOnceMore()
    {
        await using var server = await FaultServer.StartAsync(AcceptOnly("secret-token-2"));
        var provider = new CountingTokenProvider();
        await using var services = ClientTestServices.Build(server.BaseUrl, build: b => b.AddAccessTokenProvider(_ => provider));
        using var client = services.Client();

        var patient = await client.ReadAsync<Patient>("Patient/p-4711");

        Assert.Equal("p-4711", patient!.Id);
        Assert.Equal(2, provider.Issued);
        Assert.Equal(["Bearer secret-token-1", "Bearer secret-token-2"], server.Requests.Select(r => r.Authorization));
    }

    [Fact]
    public async Task ReadAsync_ManyConcurrentRequestsWithExpiredToken_RefreshOnlyOnce()
    {
        await using var server = await FaultServer.StartAsync(AcceptOnly("secret-token-2"));
        var provider = new CountingTokenProvider();
        await using var services = ClientTestServices.Build(server.BaseUrl, build: b => b.AddAccessTokenProvider(_ => provider));
        await provider.GetTokenAsync(CancellationToken.None); // token-1 is now cached for everyone

        await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
        {
            using var client = services.Client();
            Assert.NotNull(await client.ReadAsync<Patient>("Patient/p-4711"));
        }));

        Assert.Equal(2, provider.Issued);
    }

    [Fact]
    public async Task CreateAsync_TokenRejected_ResentOnceAfterRefreshAndCreatesOnce()
    {
        await using var server = await FaultServer.StartAsync(AcceptOnly("secret-token-2"));
        var provider = new CountingTokenProvider();
        await using var services = ClientTestServices.Build(server.BaseUrl, build: b => b.AddAccessTokenProvider(_ => provider));
        using var client = services.Client();

        var created = await client.CreateAsync(new Patient { Active = true });

        Assert.Equal("created", created!.Id);
        Assert.Equal(2, server.Count);
        Assert.Equal(["Bearer secret-token-1", "Bearer secret-token-2"], server.Requests.Select(r => r.Authorization));
    }

    [Fact]
    public async Task ReadAsync_StaticTokenRejected_Throws401WithoutResending()
    {
        await using var server = await FaultServer.StartAsync(AcceptOnly("the-right-one"));
        await using var services = ClientTestServices.Build(server.BaseUrl, build: b => b.UseStaticToken("the-wrong-one"));
        using var client = services.Client();

        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/p1"));

        Assert.Equal(HttpStatusCode.Unauthorized, e.StatusCode);
        Assert.Equal(1, server.Count);
        Assert.Equal("Bearer the-wrong-one", server.Requests.Single().Authorization);
    }

    [Fact]
    public async Task ReadAsync_RefreshedTokenAlsoRejected_Throws401SayingSo()
    {
        await using var server = await FaultServer.StartAsync(AcceptOnly("never"));
        var provider = new CountingTokenProvider();
        await using var services = ClientTestServices.Build(server.BaseUrl, build: b => b.AddAccessTokenProvider(_ => provider));
        using var client = services.Client();

        var e = await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/p1"));

        Assert.Equal(HttpStatusCode.Unauthorized, e.StatusCode);
        Assert.Equal(2, server.Count);
        Assert.Contains("refreshed once", e.Message);
    }

    [Fact]
    public async Task PagesAsync_NextLinkToAnotherServer_SendsNoTokenThere()
    {
        await using var elsewhere = await FaultServer.StartAsync((context, _) =>
            FaultServer.WriteAsync(context, new Bundle { Type = Bundle.BundleType.Searchset }));
        await using var server = await FaultServer.StartAsync(async (context, _) =>
        {
            var bundle = new Bundle { Type = Bundle.BundleType.Searchset };
            bundle.Link.Add(new Bundle.LinkComponent { Relation = "next", Url = elsewhere.BaseUrl + "/Patient?page=2" });
            await FaultServer.WriteAsync(context, bundle);
        });
        await using var services = ClientTestServices.Build(server.BaseUrl, build: b => b.UseStaticToken("secret-token-x"));
        using var client = services.Client();

        var pages = 0;
        await foreach (var _ in client.SearchPagesAsync<Patient>())
        {
            pages++;
        }

        Assert.Equal(2, pages);
        Assert.Equal("Bearer secret-token-x", server.Requests.Single().Authorization);
        Assert.Null(elsewhere.Requests.Single().Authorization);
    }

    [Fact]
    public async Task ReadAsync_WithTokenRefreshAndErrors_NeverLogsTokensOrIds()
    {
        await using var server = await FaultServer.StartAsync(AcceptOnly("secret-token-2"));
        var provider = new CountingTokenProvider();
        var logs = new LogCollector();
        await using var services = ClientTestServices.Build(server.BaseUrl, build: b => b.AddAccessTokenProvider(_ => provider), logs: logs);
        using var client = services.Client();

        await client.ReadAsync<Patient>("Patient/p-4711");
        await client.SearchAsync<Patient>(new SearchParams().Where("family=Smith4711"));
        await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/p-4711/_history/4711"));

        Assert.NotEmpty(logs.Messages);
        Assert.Contains(logs.Messages, m => m.Contains("401"));
        Assert.DoesNotContain(logs.Messages, m => m.Contains("secret-token", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains("4711", StringComparison.Ordinal));
    }
}
