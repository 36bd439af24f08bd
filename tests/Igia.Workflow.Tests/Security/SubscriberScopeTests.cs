using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using Claim = System.Security.Claims.Claim;
using Hl7.Fhir.Model;
using Igia.Smart.ResourceServer;
using Igia.Smart.Tests.ResourceServer;
using Igia.Workflow.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Igia.Workflow.Tests.Security;

/// <summary>
/// Notification content follows the subscriber's authorization: a real SMART resource server (signed tokens from a test
/// issuer); the Subscription's writer has patient scopes for patient A only. Events about patient B still arrive with
/// their event numbers (no gaps) but carry no resource and no id (sent as <c>empty</c>).
/// </summary>
public sealed class SubscriberScopeTests
{
    private const string Audience = "https://fhir.test/fhir";

    [Fact]
    public async Task Full_Resource_And_Id_Only_Notifications_Carry_Only_What_The_Subscriber_May_Read()
    {
        await using var issuer = await SmartTestIssuer.StartAsync();
        await using var receiver = await NotificationReceiver.StartAsync();
        await using var host = await WorkflowTestHost.StartAsync(
            o =>
            {
                o.SystemUser = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "igia-workflow"), new Claim("scope", "system/*.cruds")], SmartResourceServerDefaults.AuthenticationScheme));
                o.Subscriptions.AuthenticationScheme = SmartResourceServerDefaults.AuthenticationScheme;
            },
            configureServices: s => s.AddIgiaSmartResourceServer(o =>
            {
                o.Authority = new Uri(issuer.Issuer);
                o.Audience = Audience;
            }));

        // Tokens that outlive the test: it can take minutes on a loaded machine (core validation below), and the issuer's
        // default of 5 minutes once expired before the deletions at the end (401).
        var lifetime = TimeSpan.FromHours(1);
        var system = issuer.Token(Audience, "system/*.cruds", lifetime: lifetime);
        var a = await SendAsync<Patient>(host, HttpMethod.Post, "Patient", system, new Patient { Active = true });
        var b = await SendAsync<Patient>(host, HttpMethod.Post, "Patient", system, new Patient { Active = true });
        var subscriber = issuer.Token(Audience, "user/Subscription.cruds patient/Observation.rs", patient: a.Id, lifetime: lifetime);

        // Without a token the write is refused by the resource server (the workflow adds no way around it).
        using (var anonymous = await host.Client.PostAsync("Subscription", WorkflowTestHost.JsonContent(Infrastructure.Subscriptions.RestHook(receiver.Url("x"), "Observation"))))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        var full = await SendAsync<Subscription>(host, HttpMethod.Post, "Subscription", subscriber, Infrastructure.Subscriptions.RestHook(receiver.Url("full"), "Observation", payload: "full-resource"));
        var idOnly = await SendAsync<Subscription>(host, HttpMethod.Post, "Subscription", subscriber, Infrastructure.Subscriptions.RestHook(receiver.Url("id"), "Observation", payload: "id-only"));
        var all = await SendAsync<Subscription>(host, HttpMethod.Post, "Subscription", system, Infrastructure.Subscriptions.RestHook(receiver.Url("all"), "Observation", payload: "full-resource"));

        // Written inside a transaction Bundle: the writer is recorded the same way.
        var tx = new Bundle { Type = Bundle.BundleType.Transaction };
        tx.Entry.Add(new Bundle.EntryComponent
        {
            FullUrl = "urn:uuid:" + Guid.NewGuid(),
            Resource = Infrastructure.Subscriptions.RestHook(receiver.Url("tx"), "Observation", payload: "full-resource"),
            Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Subscription" },
        });
        var txResponse = await SendAsync<Bundle>(host, HttpMethod.Post, "", subscriber, tx);
        var viaTx = await SendAsync<Subscription>(host, HttpMethod.Get, txResponse.Entry[0].Response.Location.Split("/_history")[0], system);
        foreach (var sub in new[] { full, idOnly, all, viaTx })
        {
            await WorkflowTestHost.WaitForAsync(async () => (await SendAsync<Subscription>(host, HttpMethod.Get, $"Subscription/{sub.Id}", system)).Status == Subscription.SubscriptionStatus.Active, "subscription active");
        }

        var ofA = await SendAsync<Observation>(host, HttpMethod.Post, "Observation", system, Observation(a.Id, "A-1"));
        var ofB = await SendAsync<Observation>(host, HttpMethod.Post, "Observation", system, Observation(b.Id, "B-1"));
        var ofA2 = await SendAsync<Observation>(host, HttpMethod.Post, "Observation", system, Observation(a.Id, "A-2"));

        foreach (var sub in new[] { full, idOnly, all, viaTx })
        {
            await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(sub.Id, "event-notification").Count >= 3), "three events");
        }

        // Full-resource, patient A's scopes: A's Observations in full, B's withheld — event numbers 1, 2, 3 all the same.
        var events = receiver.For(full.Id, "event-notification");
        Assert.Equal([1L, 2L, 3L], events.Select(e => e.EventNumber!.Value));
        Assert.Equal("A-1", FocusOf(events[0])!.Identifier[0].Value);
        AssertWithheld(events[1]);
        Assert.Equal("A-2", FocusOf(events[2])!.Identifier[0].Value);
        Assert.DoesNotContain(ofB.Id, string.Join("\n", events.Select(e => WorkflowTestHost.Serialize(e.Bundle))));

        // Id-only: the same decision; the allowed events carry the reference only.
        var ids = receiver.For(idOnly.Id, "event-notification");
        Assert.Equal([1L, 2L, 3L], ids.Select(e => e.EventNumber!.Value));
        Assert.EndsWith($"Observation/{ofA.Id}", ids[0].Bundle.Entry[1].FullUrl);
        Assert.Null(ids[0].Bundle.Entry[1].Resource);
        AssertWithheld(ids[1]);
        Assert.EndsWith($"Observation/{ofA2.Id}", ids[2].Bundle.Entry[1].FullUrl);

        var fromTx = receiver.For(viaTx.Id, "event-notification");
        Assert.Equal("A-1", FocusOf(fromTx[0])!.Identifier[0].Value);
        AssertWithheld(fromTx[1]);

        // A Subscription written with system scopes gets everything.
        var everything = receiver.For(all.Id, "event-notification");
        Assert.Equal(["A-1", "B-1", "A-2"], everything.Select(e => FocusOf(e)!.Identifier[0].Value));
        foreach (var n in events.Concat(ids).Concat(everything))
        {
            CoreValidator.AssertValid(n.Bundle);
        }

        // Deletions are judged on the version before them: A's shows its id, B's is withheld.
        await SendAsync(host, HttpMethod.Delete, $"Observation/{ofA2.Id}", system);
        await SendAsync(host, HttpMethod.Delete, $"Observation/{ofB.Id}", system);
        await WorkflowTestHost.WaitForAsync(() => Task.FromResult(receiver.For(idOnly.Id, "event-notification").Count >= 5), "two deletion events");
        ids = receiver.For(idOnly.Id, "event-notification");
        Assert.Equal([1L, 2L, 3L, 4L, 5L], ids.Select(e => e.EventNumber!.Value));
        Assert.Equal(Bundle.HTTPVerb.DELETE, ids[3].Bundle.Entry[1].Request.Method);
        Assert.EndsWith($"Observation/{ofA2.Id}", ids[3].Bundle.Entry[1].FullUrl);
        AssertWithheld(ids[4]);
    }

    private static Observation Observation(string patientId, string marker) => new()
    {
        Status = ObservationStatus.Final,
        Code = new CodeableConcept("http://loinc.org", "4548-4"),
        Subject = new ResourceReference($"Patient/{patientId}"),
        Identifier = [new Identifier("urn:test", marker)],
    };

    private static Observation? FocusOf(NotificationReceiver.Received n) => n.Bundle.Entry.Count > 1 ? n.Bundle.Entry[1].Resource as Observation : null;

    private static void AssertWithheld(NotificationReceiver.Received n)
    {
        Assert.Single(n.Bundle.Entry); // only the status Parameters
        var ev = n.Status.Parameter.Single(p => p.Name == "notification-event");
        Assert.DoesNotContain(ev.Part, p => p.Name == "focus");
    }

    private static async Task SendAsync(WorkflowTestHost host, HttpMethod method, string url, string token)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await host.Client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{method} {url}: {(int)response.StatusCode}");
    }

    private static async Task<T> SendAsync<T>(WorkflowTestHost host, HttpMethod method, string url, string token, Resource? body = null)
        where T : Resource
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = WorkflowTestHost.JsonContent(body);
        }

        using var response = await host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {url}: {(int)response.StatusCode} {text}");
        return WorkflowTestHost.Parse<T>(text);
    }
}
