using System.Net;

namespace Igia.Smart.Tests.ResourceServer;

/// <summary>
/// One issuer and one protected FHIR server shared by a test class, seeded (with a <c>system/*.cruds</c> token) with two
/// patients, A (<c>pa</c>) and B (<c>pb</c>), and their data:
/// <list type="bullet">
/// <item>Encounters ea/eb, Conditions ca/cb (ca's evidence points to oa1), Observations oa1/oa2 (A) and ob1/ob2 (B) with
/// categories laboratory/vital-signs, performer Practitioner/dr1 on oa1 and ob1;</item>
/// <item>oa3 (A) whose hasMember points to B's ob1 (an _include path to B);</item>
/// <item>ob3 (B's, subject B) whose focus is Patient/pa (a _revinclude path from A to B's data);</item>
/// <item>omv: version 1 B's, version 2 A's (history must not show version 1 to A);</item>
/// <item>op1/op2 (A's, category survey, code 6666-6) whose performer is Patient/pb (an _include path to B's Patient on every page);</item>
/// <item>Medication med1 and Practitioner dr1 (in no patient compartment).</item>
/// </list>
/// </summary>
public sealed class ResourceServerFixture : IAsyncLifetime
{
    public SmartTestIssuer Issuer { get; private set; } = null!;

    public ProtectedFhirHost Host { get; private set; } = null!;

    /// <summary>A token for everything (backend services).</summary>
    public string SystemToken { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Issuer = await SmartTestIssuer.StartAsync();
        Host = await ProtectedFhirHost.StartAsync(Issuer);
        // Used by the class's tests for as long as they run (a test token's default lifetime is 5 minutes, which a class on
        // a loaded machine may outlast): valid for hours.
        SystemToken = Issuer.Token(Host.BaseUrl, "system/*.cruds", lifetime: TimeSpan.FromHours(3));
        foreach (var (path, body) in Seed())
        {
            var reply = await Host.SendAsync(HttpMethod.Put, path, SystemToken, body);
            if (reply.Status is not (HttpStatusCode.OK or HttpStatusCode.Created))
            {
                throw new InvalidOperationException($"Seeding {path}: {reply}");
            }
        }
    }

    /// <summary>A token for this host's audience.</summary>
    public string Token(string scope, string? patient = null, string? fhirUser = null) => Issuer.Token(Host.BaseUrl, scope, patient, fhirUser);

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Issuer.DisposeAsync();
    }

    private static IEnumerable<(string Path, string Body)> Seed()
    {
        yield return ("Patient/pa", """{"resourceType":"Patient","id":"pa","name":[{"family":"Alpha","given":["Ann"]}],"identifier":[{"system":"urn:mrn","value":"MRN-A"}]}""");
        yield return ("Patient/pb", """{"resourceType":"Patient","id":"pb","name":[{"family":"Bravo","given":["Bob"]}],"identifier":[{"system":"urn:mrn","value":"MRN-B"}]}""");
        yield return ("Practitioner/dr1", """{"resourceType":"Practitioner","id":"dr1","name":[{"family":"Doctor"}]}""");
        yield return ("Medication/med1", """{"resourceType":"Medication","id":"med1","code":{"text":"aspirin"}}""");
        yield return ("Encounter/ea", """{"resourceType":"Encounter","id":"ea","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/pa"}}""");
        yield return ("Encounter/eb", """{"resourceType":"Encounter","id":"eb","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/pb"}}""");
        yield return ("Observation/oa1", Obs("oa1", "pa", "laboratory", "1111-1", performer: "Practitioner/dr1"));
        yield return ("Observation/oa2", Obs("oa2", "pa", "vital-signs", "8867-4"));
        yield return ("Observation/ob1", Obs("ob1", "pb", "laboratory", "2222-2", performer: "Practitioner/dr1", encounter: "Encounter/eb"));
        yield return ("Observation/ob2", Obs("ob2", "pb", "vital-signs", "8867-4"));
        yield return ("Observation/oa3", Obs("oa3", "pa", "laboratory", "3333-3", hasMember: "Observation/ob1"));
        yield return ("Observation/ob3", Obs("ob3", "pb", "laboratory", "4444-4", focus: "Patient/pa"));
        yield return ("Observation/omv", Obs("omv", "pb", "laboratory", "5555-5"));
        yield return ("Observation/omv", Obs("omv", "pa", "laboratory", "5555-5"));
        yield return ("Observation/op1", Obs("op1", "pa", "survey", "6666-6", performer: "Patient/pb"));
        yield return ("Observation/op2", Obs("op2", "pa", "survey", "6666-6", performer: "Patient/pb"));
        yield return ("Condition/ca", """{"resourceType":"Condition","id":"ca","subject":{"reference":"Patient/pa"},"code":{"text":"A's condition"},"evidence":[{"detail":[{"reference":"Observation/oa1"}]}]}""");
        yield return ("Condition/cb", """{"resourceType":"Condition","id":"cb","subject":{"reference":"Patient/pb"},"code":{"text":"B's condition"},"evidence":[{"detail":[{"reference":"Observation/oa1"}]}]}""");
    }

    public static string Obs(string id, string patient, string category, string code, string? performer = null, string? hasMember = null, string? focus = null, string? encounter = null)
    {
        var extra = "";
        if (performer is not null)
        {
            extra += $",\"performer\":[{{\"reference\":\"{performer}\"}}]";
        }

        if (hasMember is not null)
        {
            extra += $",\"hasMember\":[{{\"reference\":\"{hasMember}\"}}]";
        }

        if (focus is not null)
        {
            extra += $",\"focus\":[{{\"reference\":\"{focus}\"}}]";
        }

        if (encounter is not null)
        {
            extra += $",\"encounter\":{{\"reference\":\"{encounter}\"}}";
        }

        var idPart = id.Length == 0 ? "" : $"\"id\":\"{id}\",";
        return $$"""{"resourceType":"Observation",{{idPart}}"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"{{category}}"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"{{code}}"}]},"subject":{"reference":"Patient/{{patient}}"}{{extra}}}""";
    }
}
