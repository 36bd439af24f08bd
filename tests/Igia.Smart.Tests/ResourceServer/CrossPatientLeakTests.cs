using System.Net;
using System.Text.Json.Nodes;

namespace Igia.Smart.Tests.ResourceServer;

/// <summary>
/// The cross-patient leak suite of issue 5: with a token for patient A (<c>pa</c>), every way to reach patient B (<c>pb</c>)
/// is refused or returns nothing of B — over real HTTP, with real signed tokens. See <see cref="ResourceServerFixture"/> for the data.
/// </summary>
public sealed class CrossPatientLeakTests(ResourceServerFixture fx) : IClassFixture<ResourceServerFixture>
{
    private static readonly string[] BKeys = ["Patient/pb", "Observation/ob1", "Observation/ob2", "Observation/ob3", "Encounter/eb", "Condition/cb"];

    private string A => fx.Token("launch/patient patient/*.cruds", "pa");

    private string AReadV1 => fx.Token("launch/patient patient/*.read", "pa");

    /// <summary>Fails when any resource in the reply (entries, nested bundles and parameters included) is B's.</summary>
    private static void AssertNothingOfB(FhirReply reply)
    {
        foreach (var resource in Resources(reply.Json))
        {
            var key = $"{resource["resourceType"]}/{resource["id"]}";
            Assert.DoesNotContain(key, BKeys);
            Assert.NotEqual("Patient/pb", resource["subject"]?["reference"]?.GetValue<string>());
            Assert.NotEqual("Patient/pb", resource["patient"]?["reference"]?.GetValue<string>());
        }

        // The Bundle's links echo the client's own query (which may name B); everything else must not mention B.
        var content = reply.Json is JsonObject o && o.DeepClone() is JsonObject copy && copy.Remove("link") ? copy.ToJsonString() : reply.Text;
        Assert.DoesNotContain("Bravo", content, StringComparison.Ordinal);
        Assert.DoesNotContain("MRN-B", content, StringComparison.Ordinal);
        Assert.DoesNotContain("B's condition", content, StringComparison.Ordinal);
    }

    private static IEnumerable<JsonNode> Resources(JsonNode? node)
    {
        if (node is not JsonObject o || o["resourceType"] is null)
        {
            yield break;
        }

        yield return o;
        foreach (var entry in o["entry"]?.AsArray() ?? [])
        {
            foreach (var r in Resources(entry?["resource"]))
            {
                yield return r;
            }
        }

        foreach (var p in o["parameter"]?.AsArray() ?? [])
        {
            foreach (var r in Resources(p?["resource"]))
            {
                yield return r;
            }
        }
    }

    [Theory]
    [InlineData("Patient/pb")]
    [InlineData("Observation/ob1")]
    [InlineData("Observation/ob3")]
    [InlineData("Encounter/eb")]
    [InlineData("Condition/cb")]
    public async Task Read_of_Bs_resources_is_404_like_a_resource_that_does_not_exist(string path)
    {
        foreach (var token in new[] { A, AReadV1 })
        {
            var reply = await fx.Host.GetAsync(path, token);
            Assert.Equal(HttpStatusCode.NotFound, reply.Status);
            AssertNothingOfB(reply);
            var missing = await fx.Host.GetAsync(path.Split('/')[0] + "/does-not-exist", token);
            Assert.Equal(HttpStatusCode.NotFound, missing.Status);
            Assert.Equal(missing.Json!["issue"]![0]!["code"]!.GetValue<string>(), reply.Json!["issue"]![0]!["code"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Read_of_As_own_and_shared_resources_works()
    {
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Patient/pa", A)).Status);
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Observation/oa1", A)).Status);
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Condition/ca", AReadV1)).Status);
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Practitioner/dr1", A)).Status);
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Medication/med1", A)).Status);
    }

    [Fact]
    public async Task Conditional_reads_and_deleted_resources_of_B_are_404_not_304_or_410()
    {
        var notModified = await fx.Host.SendAsync(HttpMethod.Get, "Observation/ob1", A, headers: new Dictionary<string, string> { ["If-None-Match"] = "W/\"1\"" });
        Assert.Equal(HttpStatusCode.NotFound, notModified.Status);
        var own = await fx.Host.SendAsync(HttpMethod.Get, "Observation/oa1", A, headers: new Dictionary<string, string> { ["If-None-Match"] = "W/\"1\"" });
        Assert.Equal(HttpStatusCode.NotModified, own.Status);

        Assert.Equal(HttpStatusCode.Created, (await fx.Host.SendAsync(HttpMethod.Put, "Observation/obdel", fx.SystemToken, ResourceServerFixture.Obs("obdel", "pb", "laboratory", "6666-6"))).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await fx.Host.SendAsync(HttpMethod.Delete, "Observation/obdel", fx.SystemToken)).Status);
        Assert.Equal(HttpStatusCode.Gone, (await fx.Host.GetAsync("Observation/obdel", fx.SystemToken)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await fx.Host.GetAsync("Observation/obdel", A)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await fx.Host.GetAsync("Observation/obdel/_history/2", A)).Status);
    }

    [Fact]
    public async Task Vread_of_Bs_versions_is_404_even_of_a_resource_that_is_As_now()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await fx.Host.GetAsync("Observation/ob1/_history/1", A)).Status);
        var old = await fx.Host.GetAsync("Observation/omv/_history/1", A);
        Assert.Equal(HttpStatusCode.NotFound, old.Status);
        AssertNothingOfB(old);
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Observation/omv/_history/2", A)).Status);
    }

    [Theory]
    [InlineData("Observation?_id=ob1,ob2,oa1", "Observation/oa1")]
    [InlineData("Patient?_id=pb", null)]
    [InlineData("Patient?identifier=urn:mrn|MRN-B", null)]
    [InlineData("Patient?name=Bravo", null)]
    [InlineData("Observation?subject=Patient/pb", null)]
    [InlineData("Observation?patient=pb", null)]
    [InlineData("Observation?patient=pa", "Observation/oa1")] // confined by its own parameter: not rewritten
    [InlineData("Observation?patient=Patient/pa&_include=Observation:performer", "Observation/oa1")]
    [InlineData("Observation?patient=pa&subject=Patient/pb", null)]
    [InlineData("Observation?patient=pa,pb", "Observation/oa1")]
    [InlineData("Observation?subject=pa", "Observation/oa1")]
    [InlineData("Condition?subject=Patient/pb", null)]
    [InlineData("Encounter", "Encounter/ea")]
    public async Task Search_returns_nothing_of_B(string query, string? expected)
    {
        var reply = await fx.Host.GetAsync(query, A);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        AssertNothingOfB(reply);
        if (expected is not null)
        {
            Assert.Contains(expected, reply.EntryKeys());
        }
        else
        {
            Assert.Empty(reply.EntryKeys());
        }
    }

    [Theory]
    [InlineData("Observation?patient=pa&_count=1")]
    [InlineData("Observation?category=laboratory,vital-signs&_count=1")]
    [InlineData("Observation?patient=pa&_count=1&_include=Observation:performer")]
    public async Task Paging_a_confined_search_reaches_all_of_As_and_nothing_of_B(string query)
    {
        var seen = await PageThroughAsAAsync(query);

        Assert.Contains("Observation/oa1", seen);
        Assert.Contains("Observation/oa2", seen);
    }

    /// <summary>Follows a search's next links (up to 10 pages) with A's token, asserting each page is 200 and holds nothing of B; returns every entry seen.</summary>
    private async Task<List<string>> PageThroughAsAAsync(string query)
    {
        var reply = await fx.Host.GetAsync(query, A);
        var seen = new List<string>();
        for (var page = 0; page < 10; page++)
        {
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            AssertNothingOfB(reply);
            seen.AddRange(reply.EntryKeys());
            var next = reply.Json?["link"]?.AsArray().FirstOrDefault(l => (string?)l?["relation"] == "next")?["url"]?.GetValue<string>();
            if (next is null)
            {
                break;
            }

            reply = await fx.Host.GetAsync(next[(fx.Host.BaseUrl.Length + 1)..], A);
        }

        return seen;
    }

    [Theory]
    [InlineData("Observation?code=6666-6&_count=1&_include=Observation:performer")]
    [InlineData("Observation?patient=pa&code=6666-6&_count=1&_include=Observation:performer")]
    public async Task Later_pages_check_their_included_resources(string query)
    {
        var seen = await PageThroughAsAAsync(query);

        Assert.Contains("Observation/op1", seen);
        Assert.Contains("Observation/op2", seen);
    }

    [Fact]
    public async Task Bs_token_cannot_page_As_search()
    {
        var first = await fx.Host.GetAsync("Observation?patient=pa&_count=1", A);
        var next = first.Json?["link"]?.AsArray().FirstOrDefault(l => (string?)l?["relation"] == "next")?["url"]?.GetValue<string>();
        Assert.NotNull(next);
        var b = fx.Token("launch/patient patient/*.read", "pb");
        var reply = await fx.Host.GetAsync(next[(fx.Host.BaseUrl.Length + 1)..], b);
        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.DoesNotContain("\"oa", reply.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Observation?subject.name=Bravo")]
    [InlineData("Observation?subject:Patient.identifier=urn:mrn|MRN-B")]
    [InlineData("Encounter?patient.name=Bravo")]
    [InlineData("Observation?encounter.status=finished&subject.name=Bravo")]
    [InlineData("Patient?_has:Observation:subject:code=2222-2")]
    [InlineData("Patient?_has:Condition:subject:_id=cb")]
    [InlineData("Patient?_has:Observation:patient:_id=ob1,ob2")]
    public async Task Chained_and_has_searches_reach_nothing_of_B(string query)
    {
        var reply = await fx.Host.GetAsync(query, A);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        AssertNothingOfB(reply);
        Assert.Empty(reply.EntryKeys());
    }

    [Fact]
    public async Task Post_search_is_confined_like_get()
    {
        async Task<FhirReply> PostSearch(string path, string form)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"{fx.Host.BaseUrl}/{path}")
            {
                Content = new StringContent(form, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", A);
            using var response = await fx.Host.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            return new FhirReply(response.StatusCode, JsonNode.Parse(text), text, "", new Dictionary<string, string>());
        }

        var byId = await PostSearch("Observation/_search", "_id=ob1,ob2,oa1&_include=Observation:has-member");
        Assert.Equal(HttpStatusCode.OK, byId.Status);
        AssertNothingOfB(byId);
        Assert.Contains("Observation/oa1", byId.EntryKeys());
        var chained = await PostSearch("Observation/_search", "subject.name=Bravo");
        Assert.Empty(chained.EntryKeys());
        var compartment = await PostSearch("Patient/pb/Observation/_search", "code=2222-2");
        Assert.Equal(HttpStatusCode.Forbidden, compartment.Status);
        AssertNothingOfB(compartment);
    }

    [Fact]
    public async Task Include_of_Bs_resource_is_removed()
    {
        var reply = await fx.Host.GetAsync("Observation?_include=Observation:has-member&_include=Observation:subject&_include=Observation:performer", A);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        AssertNothingOfB(reply);
        Assert.Contains("Observation/oa3", reply.EntryKeys());
        Assert.Contains("Patient/pa", reply.EntryKeys());
        Assert.Contains("Practitioner/dr1", reply.EntryKeys());

        var iterate = await fx.Host.GetAsync("Observation?_id=oa3&_include=Observation:has-member&_include:iterate=Observation:subject", A);
        AssertNothingOfB(iterate);
    }

    [Fact]
    public async Task Revinclude_of_Bs_resources_is_removed()
    {
        var focus = await fx.Host.GetAsync("Patient?_revinclude=Observation:focus&_revinclude=Observation:subject", A);
        Assert.Equal(HttpStatusCode.OK, focus.Status);
        AssertNothingOfB(focus);
        Assert.Contains("Patient/pa", focus.EntryKeys());
        Assert.Contains("Observation/oa1", focus.EntryKeys());

        // Practitioner is shared (in no patient compartment), so the search is not confined; its revincludes are.
        var performer = await fx.Host.GetAsync("Practitioner?_revinclude=Observation:performer", A);
        AssertNothingOfB(performer);
        Assert.Contains("Practitioner/dr1", performer.EntryKeys());
        Assert.Contains("Observation/oa1", performer.EntryKeys());

        var evidence = await fx.Host.GetAsync("Observation?_id=oa1&_revinclude=Condition:evidence-detail", A);
        AssertNothingOfB(evidence);
        Assert.Contains("Condition/ca", evidence.EntryKeys());
    }

    [Fact]
    public async Task History_instance_type_and_system_show_nothing_of_B()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await fx.Host.GetAsync("Observation/ob1/_history", A)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await fx.Host.GetAsync("Patient/pb/_history", A)).Status);

        var moved = await fx.Host.GetAsync("Observation/omv/_history", A);
        Assert.Equal(HttpStatusCode.OK, moved.Status);
        AssertNothingOfB(moved);
        Assert.Single(moved.EntryKeys());

        foreach (var path in new[] { "Observation/_history", "Patient/_history", "_history", "Condition/_history?_count=100" })
        {
            var reply = await fx.Host.GetAsync(path, A);
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            AssertNothingOfB(reply);
        }

        var system = await fx.Host.GetAsync("_history?_count=1000", A);
        Assert.Contains("Observation/oa1", system.EntryKeys());
        Assert.Null(system.Json!["total"]);
    }

    [Theory]
    [InlineData("Patient/pb/Observation")]
    [InlineData("Patient/pb/*")]
    [InlineData("Patient/pb/Condition?_include=Condition:subject")]
    [InlineData("Encounter/eb/Observation")]
    public async Task Compartment_search_on_B_is_refused(string path)
    {
        var reply = await fx.Host.GetAsync(path, A);
        Assert.Equal(HttpStatusCode.Forbidden, reply.Status);
        Assert.Equal("OperationOutcome", reply.Json!["resourceType"]!.GetValue<string>());
        AssertNothingOfB(reply);
    }

    [Fact]
    public async Task Compartment_search_on_A_and_system_search_are_confined_to_A()
    {
        var own = await fx.Host.GetAsync("Patient/pa/*?_count=100", A);
        Assert.Equal(HttpStatusCode.OK, own.Status);
        AssertNothingOfB(own);
        Assert.Contains("Observation/oa1", own.EntryKeys());

        var system = await fx.Host.GetAsync("?_count=100", A);
        Assert.Equal(HttpStatusCode.OK, system.Status);
        AssertNothingOfB(system);
    }

    [Fact]
    public async Task Batch_entries_reach_nothing_of_B()
    {
        var batch = """
        {"resourceType":"Bundle","type":"batch","entry":[
          {"request":{"method":"GET","url":"Patient/pb"}},
          {"request":{"method":"GET","url":"Observation/ob1"}},
          {"request":{"method":"GET","url":"Observation?subject=Patient/pb"}},
          {"request":{"method":"GET","url":"Patient/pb/Condition"}},
          {"request":{"method":"GET","url":"Observation/ob1/_history"}},
          {"request":{"method":"DELETE","url":"Observation/ob2"}},
          {"request":{"method":"GET","url":"Patient/pa"}}
        ]}
        """;
        var reply = await fx.Host.SendAsync(HttpMethod.Post, "", A, batch);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        AssertNothingOfB(reply);
        var statuses = reply.Json!["entry"]!.AsArray().Select(e => e!["response"]!["status"]!.GetValue<string>()[..3]).ToList();
        Assert.Equal(["404", "404", "200", "403", "404", "404", "200"], statuses);
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Observation/ob2", fx.SystemToken)).Status);
    }

    [Fact]
    public async Task Transaction_entries_that_touch_B_fail_the_whole_transaction()
    {
        var hijack = $$$"""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"fullUrl":"urn:uuid:7d3f1c2a-0000-4000-8000-000000000001","resource":{{{ResourceServerFixture.Obs("", "pa", "laboratory", "9999-1")}}},"request":{"method":"POST","url":"Observation"}},
          {"resource":{{{ResourceServerFixture.Obs("ob1", "pa", "laboratory", "2222-2")}}},"request":{"method":"PUT","url":"Observation/ob1"}}
        ]}
        """;
        var reply = await fx.Host.SendAsync(HttpMethod.Post, "", A, hijack);
        Assert.True((int)reply.Status is >= 400 and < 500, reply.ToString());
        AssertNothingOfB(reply);
        var ob1 = await fx.Host.GetAsync("Observation/ob1", fx.SystemToken);
        Assert.Equal("Patient/pb", ob1.Json!["subject"]!["reference"]!.GetValue<string>());
        Assert.Empty((await fx.Host.GetAsync("Observation?code=9999-1", fx.SystemToken)).EntryKeys());

        var pointToB = $$$"""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"resource":{{{ResourceServerFixture.Obs("", "pb", "laboratory", "9999-2")}}},"request":{"method":"POST","url":"Observation"}},
          {"request":{"method":"GET","url":"Observation/ob1"}}
        ]}
        """;
        var second = await fx.Host.SendAsync(HttpMethod.Post, "", A, pointToB);
        Assert.True((int)second.Status is >= 400 and < 500, second.ToString());
        AssertNothingOfB(second);
        Assert.Empty((await fx.Host.GetAsync("Observation?code=9999-2", fx.SystemToken)).EntryKeys());
    }

    [Fact]
    public async Task Transaction_searches_that_would_probe_B_are_refused()
    {
        var conditionalReference = $$$"""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"resource":{"resourceType":"Observation","status":"final","code":{"text":"probe"},"subject":{"reference":"Patient?identifier=urn:mrn|MRN-B"}},"request":{"method":"POST","url":"Observation"}}
        ]}
        """;
        var probe = await fx.Host.SendAsync(HttpMethod.Post, "", A, conditionalReference);
        Assert.Equal(HttpStatusCode.Forbidden, probe.Status);
        var missing = await fx.Host.SendAsync(HttpMethod.Post, "", A, conditionalReference.Replace("MRN-B", "MRN-NOBODY", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, missing.Status);

        var ifNoneExist = $$$"""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"fullUrl":"urn:uuid:7d3f1c2a-0000-4000-8000-000000000009","resource":{{{ResourceServerFixture.Obs("", "pa", "laboratory", "2222-2")}}},"request":{"method":"POST","url":"Observation","ifNoneExist":"code=http://loinc.org|2222-2"}}
        ]}
        """;
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Host.SendAsync(HttpMethod.Post, "", A, ifNoneExist)).Status);
        var conditionalPut = $$$"""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"resource":{{{ResourceServerFixture.Obs("", "pa", "laboratory", "2222-2")}}},"request":{"method":"PUT","url":"Observation?_id=ob1"}}
        ]}
        """;
        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Host.SendAsync(HttpMethod.Post, "", A, conditionalPut)).Status);

        // A system token may (its searches are unrestricted).
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.SendAsync(HttpMethod.Post, "", fx.SystemToken, conditionalReference)).Status);
    }

    [Fact]
    public async Task Everything_on_B_is_404_and_on_A_holds_only_A()
    {
        var b = await fx.Host.GetAsync("Patient/pb/$everything", A);
        Assert.Equal(HttpStatusCode.NotFound, b.Status);
        AssertNothingOfB(b);

        var a = await fx.Host.GetAsync("Patient/pa/$everything", A);
        Assert.Equal(HttpStatusCode.OK, a.Status);
        AssertNothingOfB(a);
        Assert.Contains("Observation/oa1", a.EntryKeys());
        Assert.Contains("Patient/pa", a.EntryKeys());
    }

    [Fact]
    public async Task Output_of_an_operation_that_ignores_security_is_redacted()
    {
        var careless = await fx.Host.GetAsync("Observation/$careless", A);
        Assert.Equal(HttpStatusCode.OK, careless.Status);
        AssertNothingOfB(careless);
        Assert.Contains("Observation/oa1", careless.EntryKeys());

        // The same operation with the system token does see B's data, so the redaction is what keeps it out above.
        var all = await fx.Host.GetAsync("Observation/$careless", fx.SystemToken);
        Assert.Contains("Observation/ob1", all.EntryKeys());
    }

    [Fact]
    public async Task Conditional_update_and_delete_matching_B_change_nothing_of_B()
    {
        var update = await fx.Host.SendAsync(HttpMethod.Put, "Observation?_id=ob2", A, ResourceServerFixture.Obs("", "pa", "vital-signs", "8867-4"));
        Assert.True(update.Status is HttpStatusCode.Created or HttpStatusCode.OK or HttpStatusCode.Forbidden, update.ToString());
        AssertNothingOfB(update);
        Assert.NotEqual("ob2", update.Json?["id"]?.GetValue<string>());

        var delete = await fx.Host.SendAsync(HttpMethod.Delete, "Observation?code=http://loinc.org|2222-2", A);
        Assert.True((int)delete.Status < 500, delete.ToString());
        var deleteByPatient = await fx.Host.SendAsync(HttpMethod.Delete, "Observation?subject=Patient/pb", A);
        Assert.True((int)deleteByPatient.Status < 500, deleteByPatient.ToString());

        var ob2 = await fx.Host.GetAsync("Observation/ob2", fx.SystemToken);
        Assert.Equal(HttpStatusCode.OK, ob2.Status);
        Assert.Equal("Patient/pb", ob2.Json!["subject"]!["reference"]!.GetValue<string>());
        Assert.Equal("1", ob2.Json!["meta"]!["versionId"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await fx.Host.GetAsync("Observation/ob1", fx.SystemToken)).Status);

        // A conditional PATCH is confined to A's compartment like every conditional write: B's ob2 does not match.
        var patch = await fx.Host.SendAsync(HttpMethod.Patch, "Observation?_id=ob2", A, """[{"op":"replace","path":"/status","value":"amended"}]""");
        Assert.True(patch.Status is HttpStatusCode.NotFound or HttpStatusCode.Forbidden or HttpStatusCode.PreconditionFailed, patch.ToString());
        Assert.Equal("1", (await fx.Host.GetAsync("Observation/ob2", fx.SystemToken)).Json!["meta"]!["versionId"]!.GetValue<string>());
    }

    [Fact]
    public async Task Patch_with_patient_scopes_works_inside_the_compartment_and_cannot_move_a_resource_out()
    {
        var created = await fx.Host.SendAsync(HttpMethod.Post, "Observation", A, ResourceServerFixture.Obs("", "pa", "laboratory", "6666-1"));
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var id = created.Json!["id"]!.GetValue<string>();

        var amend = await fx.Host.SendAsync(HttpMethod.Patch, $"Observation/{id}", A, """[{"op":"replace","path":"/status","value":"amended"}]""");
        Assert.Equal(HttpStatusCode.OK, amend.Status);
        Assert.Equal("amended", (await fx.Host.GetAsync($"Observation/{id}", fx.SystemToken)).Json!["status"]!.GetValue<string>());

        // Moving the Observation to B by PATCH is refused inside the write, and nothing is stored.
        var move = await fx.Host.SendAsync(HttpMethod.Patch, $"Observation/{id}", A, """[{"op":"replace","path":"/subject/reference","value":"Patient/pb"}]""");
        Assert.Equal(HttpStatusCode.Forbidden, move.Status);
        Assert.Contains("compartment", move.Text);
        var after = await fx.Host.GetAsync($"Observation/{id}", fx.SystemToken);
        Assert.Equal("Patient/pa", after.Json!["subject"]!["reference"]!.GetValue<string>());
        Assert.Equal("2", after.Json!["meta"]!["versionId"]!.GetValue<string>());

        // The same refusal inside a transaction (a FHIRPath Patch entry) rolls the whole transaction back.
        var ownCreate = ResourceServerFixture.Obs("", "pa", "laboratory", "6666-2");
        const string movePatch = """{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"replace"},{"name":"path","valueString":"Observation.subject"},{"name":"value","valueReference":{"reference":"Patient/pb"}}]}]}""";
        var transaction = "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
            + "{\"resource\":" + ownCreate + ",\"request\":{\"method\":\"POST\",\"url\":\"Observation\"}},"
            + "{\"resource\":" + movePatch + ","
            + "\"request\":{\"method\":\"PATCH\",\"url\":\"Observation/" + id + "\"}}]}";
        var tx = await fx.Host.SendAsync(HttpMethod.Post, "", A, transaction);
        Assert.True((int)tx.Status is >= 400 and < 500, tx.ToString());
        Assert.True(tx.Text.Contains("compartment", StringComparison.Ordinal), tx.Text);
        Assert.Empty((await fx.Host.GetAsync("Observation?code=6666-2", fx.SystemToken)).EntryKeys());
        Assert.Equal("2", (await fx.Host.GetAsync($"Observation/{id}", fx.SystemToken)).Json!["meta"]!["versionId"]!.GetValue<string>());
    }

    [Fact]
    public async Task Conditional_create_does_not_answer_with_Bs_matching_resource()
    {
        var reply = await fx.Host.SendAsync(HttpMethod.Post, "Observation", A, ResourceServerFixture.Obs("", "pa", "laboratory", "2222-2"),
            new Dictionary<string, string> { ["If-None-Exist"] = "code=http://loinc.org|2222-2" });
        Assert.Equal(HttpStatusCode.Created, reply.Status);
        AssertNothingOfB(reply);
    }

    [Fact]
    public async Task Writes_that_point_to_B_or_replace_Bs_resources_are_refused()
    {
        var create = await fx.Host.SendAsync(HttpMethod.Post, "Observation", A, ResourceServerFixture.Obs("", "pb", "laboratory", "7777-1"));
        Assert.Equal(HttpStatusCode.Forbidden, create.Status);
        var createAs = await fx.Host.SendAsync(HttpMethod.Put, "Observation/new-for-b", A, ResourceServerFixture.Obs("new-for-b", "pb", "laboratory", "7777-2"));
        Assert.Equal(HttpStatusCode.Forbidden, createAs.Status);
        var moveAway = await fx.Host.SendAsync(HttpMethod.Put, "Observation/oa2", A, ResourceServerFixture.Obs("oa2", "pb", "vital-signs", "8867-4"));
        Assert.Equal(HttpStatusCode.Forbidden, moveAway.Status);
        var hijack = await fx.Host.SendAsync(HttpMethod.Put, "Observation/ob2", A, ResourceServerFixture.Obs("ob2", "pa", "vital-signs", "8867-4"));
        Assert.Equal(HttpStatusCode.NotFound, hijack.Status);
        var delete = await fx.Host.SendAsync(HttpMethod.Delete, "Observation/ob2", A);
        Assert.Equal(HttpStatusCode.NotFound, delete.Status);
        var patch = await fx.Host.SendAsync(HttpMethod.Patch, "Observation/ob2", A, """[{"op":"replace","path":"/status","value":"amended"}]""");
        Assert.Equal(HttpStatusCode.NotFound, patch.Status);
        var newPatient = await fx.Host.SendAsync(HttpMethod.Post, "Patient", A, """{"resourceType":"Patient","name":[{"family":"Other"}]}""");
        Assert.Equal(HttpStatusCode.Forbidden, newPatient.Status);

        Assert.Empty((await fx.Host.GetAsync("Observation?code=7777-1,7777-2", fx.SystemToken)).EntryKeys());
        var ob2 = await fx.Host.GetAsync("Observation/ob2", fx.SystemToken);
        Assert.Equal("Patient/pb", ob2.Json!["subject"]!["reference"]!.GetValue<string>());
        var oa2 = await fx.Host.GetAsync("Observation/oa2", fx.SystemToken);
        Assert.Equal("Patient/pa", oa2.Json!["subject"]!["reference"]!.GetValue<string>());

        // A's own writes work.
        var own = await fx.Host.SendAsync(HttpMethod.Post, "Observation", A, ResourceServerFixture.Obs("", "pa", "laboratory", "7777-3"));
        Assert.Equal(HttpStatusCode.Created, own.Status);
        var readOnly = await fx.Host.SendAsync(HttpMethod.Post, "Observation", AReadV1, ResourceServerFixture.Obs("", "pa", "laboratory", "7777-4"));
        Assert.Equal(HttpStatusCode.Forbidden, readOnly.Status);
    }

    [Fact]
    public async Task Observation_rs_token_reaches_no_Condition()
    {
        var token = fx.Token("launch/patient patient/Observation.rs", "pa");
        foreach (var path in new[] { "Condition/ca", "Condition?subject=Patient/pa", "Patient/pa/Condition", "Condition/_history", "Condition/ca/_history", "Patient/pa/$everything", "_history", "Patient/pa/*" })
        {
            var reply = await fx.Host.GetAsync(path, token);
            Assert.Equal(HttpStatusCode.Forbidden, reply.Status);
            Assert.DoesNotContain("condition", reply.Text, StringComparison.Ordinal);
        }

        foreach (var path in new[] { "Observation?_revinclude=Condition:evidence-detail", "Observation/_history", "Observation/$careless" })
        {
            var reply = await fx.Host.GetAsync(path, token);
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            Assert.DoesNotContain(reply.EntryKeys(), k => k.StartsWith("Condition/", StringComparison.Ordinal));
            Assert.Contains("Observation/oa1", reply.EntryKeys());
            AssertNothingOfB(reply);
        }

        var batch = await fx.Host.SendAsync(HttpMethod.Post, "", token, """{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Condition/ca"}},{"request":{"method":"GET","url":"Observation/oa1"}}]}""");
        var statuses = batch.Json!["entry"]!.AsArray().Select(e => e!["response"]!["status"]!.GetValue<string>()[..3]).ToList();
        Assert.Equal(["403", "200"], statuses);
        Assert.DoesNotContain("A's condition", batch.Text, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Forbidden, (await fx.Host.SendAsync(HttpMethod.Post, "Observation", token, ResourceServerFixture.Obs("", "pa", "laboratory", "1"))).Status);
    }
}
