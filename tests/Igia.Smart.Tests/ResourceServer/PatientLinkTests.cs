using System.Net;
using Igia.Smart.Tests.Infrastructure;

namespace Igia.Smart.Tests.ResourceServer;

/// <summary>
/// Decided (docs/smart-server.md): <c>Patient.link</c> does not widen a <c>patient/</c> token. A Patient whose <c>link</c>
/// points to the token's patient is in the R4 Patient compartment, but the token sees only its own Patient record.
/// </summary>
public sealed class PatientLinkTests : IAsyncLifetime
{
    private SmartTestIssuer _issuer = null!;
    private ProtectedFhirHost _host = null!;

    public async Task InitializeAsync()
    {
        _issuer = await SmartTestIssuer.StartAsync();
        _host = await ProtectedFhirHost.StartAsync(_issuer);
        var system = _issuer.Token(_host.BaseUrl, "system/*.cruds");
        Assert.Equal(HttpStatusCode.Created, (await _host.SendAsync(HttpMethod.Put, "Patient/pa", system, """{"resourceType":"Patient","id":"pa","name":[{"family":"Alpha"}]}""")).Status);
        Assert.Equal(HttpStatusCode.Created, (await _host.SendAsync(HttpMethod.Put, "Patient/pl", system,
            """{"resourceType":"Patient","id":"pl","name":[{"family":"Linked"}],"link":[{"other":{"reference":"Patient/pa"},"type":"seealso"}]}""")).Status);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _issuer.DisposeAsync();
    }

    [Fact]
    public async Task A_patient_linked_to_the_tokens_patient_stays_hidden()
    {
        var token = _issuer.Token(_host.BaseUrl, "launch/patient patient/*.rs", "pa");
        Assert.Equal(HttpStatusCode.OK, (await _host.GetAsync("Patient/pa", token)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await _host.GetAsync("Patient/pl", token)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await _host.GetAsync("Patient/pl/_history/1", token)).Status);

        foreach (var query in new[] { "Patient", "Patient?link=Patient/pa", "Patient?_id=pl", "Patient?name=Linked", "Patient?_id=pa&_revinclude=Patient:link" })
        {
            var reply = await _host.GetAsync(query, token);
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            var entries = reply.Json?["entry"]?.ToJsonString() ?? "";
            Assert.False(entries.Contains("Linked", StringComparison.Ordinal), query + " → " + reply.Text);
            Assert.DoesNotContain("Patient/pl", reply.EntryKeys(), StringComparer.Ordinal);
        }

        // The system scope sees the link (so the data is there; it is the patient scope that hides it).
        var all = await _host.GetAsync("Patient?link=Patient/pa", _issuer.Token(_host.BaseUrl, "system/*.rs"));
        Assert.Contains("Patient/pl", all.EntryKeys());
    }
}
