using System.Net;
using Hl7.Fhir.Model;
using Igia.Workflow.Subscriptions;
using Igia.Workflow.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Workflow.Tests.Security;

/// <summary>The rest-hook endpoint allow-list (SSRF): deny by default, checked on write, before each POST and on the resolved address.</summary>
public sealed class EndpointAllowListTests
{
    private const string RestHookClient = "Igia.Workflow.RestHook";

    private static EndpointPolicy Policy(params AllowedEndpoint[] entries) => new(entries);

    private static AllowedEndpoint Entry(string url, bool allowPrivate = false) => new() { Url = url, AllowPrivateAddresses = allowPrivate };

    [Theory]
    [InlineData("https://hooks.example.org/fhir/notify", true)]
    [InlineData("https://HOOKS.example.org./fhir", true)]
    [InlineData("https://hooks.example.org/fhirx", false)] // path prefix is per segment
    [InlineData("https://hooks.example.org/other", false)]
    [InlineData("http://hooks.example.org/fhir/notify", false)] // https required by the entry
    [InlineData("https://hooks.example.org:8443/fhir/notify", false)] // no port in the entry = default port
    [InlineData("https://evil.example.org/fhir/notify", false)]
    [InlineData("https://hooks.example.org.evil.test/fhir/notify", false)]
    [InlineData("https://user:pw@hooks.example.org/fhir/notify", false)]
    [InlineData("https://a.partners.example.net/x", true)] // *.partners.example.net
    [InlineData("https://partners.example.net/x", false)] // the wildcard is for subdomains only
    [InlineData("http://127.0.0.1:5000/hook", true)] // explicit http + private entry
    [InlineData("http://127.0.0.2:5000/hook", false)]
    public void Policy_Matches_Scheme_Host_Port_And_Path(string endpoint, bool allowed)
    {
        var policy = Policy(Entry("https://hooks.example.org/fhir"), Entry("https://*.partners.example.net"), Entry("http://127.0.0.1:*", allowPrivate: true));
        Assert.Equal(allowed, policy.Allows(new Uri(endpoint), out var reason));
        Assert.Equal(allowed, reason.Length == 0);
    }

    [Theory]
    [InlineData("http://10.0.0.5/hook")]
    [InlineData("http://192.168.1.1/hook")]
    [InlineData("http://172.20.0.1/hook")]
    [InlineData("http://127.0.0.1/hook")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://[::ffff:127.0.0.1]/hook")]
    [InlineData("http://[fd12::1]/hook")]
    [InlineData("http://100.64.0.1/hook")]
    [InlineData("http://0.0.0.0/hook")]
    public void Policy_Refuses_NonPublic_IpLiterals_Unless_The_Entry_Allows_Them(string endpoint)
    {
        var uri = new Uri(endpoint);
        var origin = $"{uri.Scheme}://{uri.Authority}";
        Assert.False(Policy(Entry(origin)).Allows(uri, out var reason));
        Assert.Contains("non-public", reason);
        Assert.True(Policy(Entry(origin, allowPrivate: true)).Allows(uri, out _));
    }

    [Theory]
    [InlineData("169.254.169.254")]
    [InlineData("169.254.170.2")]
    [InlineData("100.100.100.200")]
    [InlineData("fd00:ec2::254")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("64:ff9b::a9fe:a9fe")] // NAT64 form of 169.254.169.254
    public void Metadata_Addresses_Are_Refused_Even_When_Private_Addresses_Are_Allowed(string address)
    {
        Assert.True(EndpointPolicy.Refuses(IPAddress.Parse(address), allowPrivate: true));
    }

    [Theory]
    [InlineData("93.184.216.34", true)]
    [InlineData("2606:2800:220:1:248:1893:25c8:1946", true)]
    [InlineData("10.1.2.3", false)]
    [InlineData("169.254.1.1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("2002:7f00:1::", false)] // 6to4 of 127.0.0.1
    [InlineData("224.0.0.1", false)]
    public void IsPublic(string address, bool expected) => Assert.Equal(expected, EndpointPolicy.IsPublic(IPAddress.Parse(address)));

    [Fact]
    public async Task No_AllowList_Refuses_RestHook_Subscriptions_With_422_Naming_The_Endpoint()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync(o => o.Subscriptions.AllowedEndpoints.Clear());
        var outcome = await RefusedAsync(host, receiver.Url());
        Assert.Contains("allow-list", outcome.Issue[0].Diagnostics);
        Assert.Equal("Subscription.channel.endpoint", Assert.Single(outcome.Issue[0].Expression));
        Assert.Equal(OperationOutcome.IssueType.Forbidden, outcome.Issue[0].Code);

        // Nothing stored, nothing sent.
        var search = await host.GetAsync<Bundle>("Subscription");
        Assert.Empty(search.Entry);
        await Task.Delay(500);
        Assert.Empty(receiver.Notifications);
    }

    [Fact]
    public async Task Refuses_Unlisted_Http_When_Https_Required_And_Metadata_Endpoints_On_Create_And_Update()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync(o =>
        {
            o.Subscriptions.AllowedEndpoints.Clear();
            o.Subscriptions.Allow("https://hooks.example.org");
            o.Subscriptions.Allow("https://localhost:*");
            o.Subscriptions.Allow("http://169.254.169.254", allowPrivateAddresses: true);
        });

        Assert.Contains("not on this server's rest-hook endpoint allow-list", (await RefusedAsync(host, receiver.Url())).Issue[0].Diagnostics);
        Assert.Contains("https only", (await RefusedAsync(host, $"http://localhost:{receiver.Port}/hook")).Issue[0].Diagnostics);
        Assert.Contains("metadata", (await RefusedAsync(host, "http://169.254.169.254/latest/meta-data/")).Issue[0].Diagnostics);

        // An update may not move an allowed Subscription to an unlisted endpoint either.
        var allowed = Infrastructure.Subscriptions.RestHook("https://hooks.example.org/fhir");
        allowed.Status = Subscription.SubscriptionStatus.Off; // stored but not run (no traffic to example.org from tests)
        var stored = await host.CreateAsync(allowed);
        stored.Status = Subscription.SubscriptionStatus.Requested;
        stored.Channel.Endpoint = "https://attacker.example.net/x";
        using var update = await host.Client.PutAsync($"Subscription/{stored.Id}", WorkflowTestHost.JsonContent(stored));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, update.StatusCode);
        Assert.Contains("attacker.example.net", await update.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_Listed_Name_That_Resolves_To_Loopback_Is_Refused_At_Connect_Time_Unless_The_Entry_Allows_Private_Addresses()
    {
        // 'localhost' stands for a name an attacker points at an internal address (DNS rebinding): the name is on the
        // list, the resolved address is not public, and the entry does not allow that, so no connection is made.
        await using var receiver = await NotificationReceiver.StartAsync();
        await using (var host = await WorkflowTestHost.StartAsync(o =>
        {
            o.Subscriptions.AllowedEndpoints.Clear();
            o.Subscriptions.Allow("http://localhost:*");
            o.ErrorAfterFailures = 2;
        }))
        {
            var sub = await host.CreateAsync(Infrastructure.Subscriptions.RestHook($"http://localhost:{receiver.Port}/hook"));
            await WorkflowTestHost.WaitForAsync(async () => (await host.GetAsync<Subscription>($"Subscription/{sub.Id}")).Status == Subscription.SubscriptionStatus.Error, "subscription in error");
            Assert.Empty(receiver.Notifications);

            // The same refusal, seen directly on the named client.
            using var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient(RestHookClient);
            var e = await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.PostAsync($"http://localhost:{receiver.Port}/direct", new StringContent("{}")));
            Assert.Contains("Refused to connect", Messages(e));
            Assert.Empty(receiver.Notifications);
        }

        // Control: the same name with private addresses allowed is delivered to.
        await using (var host = await WorkflowTestHost.StartAsync(o =>
        {
            o.Subscriptions.AllowedEndpoints.Clear();
            o.Subscriptions.Allow("http://localhost:*", allowPrivateAddresses: true);
        }))
        {
            var sub = await host.CreateAsync(Infrastructure.Subscriptions.RestHook($"http://localhost:{receiver.Port}/hook"));
            await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "handshake").Count == 1), "handshake delivered");
            await host.CreateAsync(new FhirTask { Status = FhirTask.TaskStatus.Requested, Intent = FhirTask.TaskIntent.Order });
            await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count == 1), "event delivered");
        }
    }

    [Fact]
    public async Task Each_Request_Is_Checked_Again_And_Redirects_Are_Not_Followed()
    {
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var redirector = await RedirectorAsync(receiver.Url("redirected"));
        await using var host = await WorkflowTestHost.StartAsync();
        using var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient(RestHookClient);

        // Not on the list (another scheme/host): refused before anything is sent.
        var refused = await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.PostAsync($"http://localhost:{receiver.Port}/hook", new StringContent("{}")));
        Assert.Contains("allow-list", Messages(refused));

        // On the list, answering a redirect: the redirect is returned as is (a failed delivery), not followed.
        using var response = await client.PostAsync(Address(redirector) + "/r", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        await Task.Delay(200);
        Assert.Empty(receiver.Notifications);
    }

    [Fact]
    public async Task An_Invalid_AllowList_Entry_Stops_Start_Up()
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => WorkflowTestHost.StartAsync(o => o.Subscriptions.Allow("ftp://files.example.org")));
        Assert.Contains("AllowedEndpoints", e.Message);
    }

    private static async Task<OperationOutcome> RefusedAsync(WorkflowTestHost host, string endpoint)
    {
        using var response = await host.Client.PostAsync("Subscription", WorkflowTestHost.JsonContent(Infrastructure.Subscriptions.RestHook(endpoint)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        return await WorkflowTestHost.ReadAsync<OperationOutcome>(response);
    }

    private static string Messages(Exception e)
    {
        var all = "";
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            all += x.Message + " | ";
        }

        return all;
    }

    private static async Task<WebApplication> RedirectorAsync(string target)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/r", () => Results.Redirect(target, permanent: false, preserveMethod: true));
        await app.StartAsync();
        return app;
    }

    private static string Address(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
}
