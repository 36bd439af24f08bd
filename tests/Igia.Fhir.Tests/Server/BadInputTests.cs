using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Fhir.Tests.Infrastructure;
using static Igia.Fhir.Tests.Server.ServerTestSupport;

namespace Igia.Fhir.Tests.Server;

/// <summary>
/// Bad input of every kind gets a 4xx with an OperationOutcome that names the problem — never a 500 — and nothing
/// is stored (checked through the system history, which records every write).
/// </summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;

    public async System.Threading.Tasks.Task InitializeAsync() => _host = await FhirTestHost.StartAsync(o =>
    {
        o.MaxBodyBytes = 64 * 1024;
        o.MaxBundleEntries = 10;
    });

    public async System.Threading.Tasks.Task DisposeAsync() => await _host.DisposeAsync();

    // ---- malformed JSON -------------------------------------------------------------------------

    [Theory]
    [InlineData("""{"resourceType":"Patient","active":true""", "JSON")]
    [InlineData("""{"resourceType":"Patient","active":true}}""", "JSON")]
    [InlineData("""not json at all""", "JSON")]
    [InlineData("""{"resourceType":"Patient", active:true}""", "JSON")]
    [InlineData("""{"resourceType":"Patient","active":true,}""", "JSON")]
    [InlineData("""[{"resourceType":"Patient"}]""", "")]
    [InlineData("""null""", "")]
    [InlineData("\"Patient\"", "")]
    [InlineData("""{"active":true}""", "resourceType")]
    [InlineData("""{"resourceType":5,"active":true}""", "resourceType")]
    [InlineData("""{"resourceType":"","active":true}""", "")]
    public async System.Threading.Tasks.Task Create_MalformedJson_Returns400AndStoresNothing(string body, string mentions)
    {
        using var response = await _host.Client.PostAsync("Patient", FhirTestHost.JsonContent(body));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, mentions);
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Create_InvalidUtf8_Returns400AndStoresNothing()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"resourceType":"Patient","name":[{"family":"X"}]}""");
        bytes[Array.IndexOf(bytes, (byte)'X')] = 0xC3; // a lead byte without its continuation
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/fhir+json");
        using var response = await _host.Client.PostAsync("Patient", content);
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest);
        await _host.AssertNothingStoredAsync();
    }

    [Theory]
    [InlineData("POST", "Patient")]
    [InlineData("PUT", "Patient/empty")]
    public async System.Threading.Tasks.Task Write_EmptyBody_Returns400AndStoresNothing(string method, string url)
    {
        using var response = await _host.SendAsync(new HttpMethod(method), url, FhirTestHost.JsonContent(""));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "body");
        await _host.AssertNothingStoredAsync();
    }

    // ---- invalid element values, unknown elements ----------------------------------------------

    [Theory]
    [InlineData("""{"resourceType":"Patient","birthDate":"not-a-date"}""", "not-a-date")]
    [InlineData("""{"resourceType":"Patient","birthDate":"1980-02-30"}""", "1980-02-30")]
    [InlineData("""{"resourceType":"Patient","birthDate":19800101}""", "birthDate")]
    [InlineData("""{"resourceType":"Patient","gender":"robot"}""", "robot")]
    [InlineData("""{"resourceType":"Patient","active":"true"}""", "active")]
    [InlineData("""{"resourceType":"Patient","active":1}""", "active")]
    [InlineData("""{"resourceType":"Patient","multipleBirthInteger":"two"}""", "multipleBirth")]
    [InlineData("""{"resourceType":"Patient","multipleBirthInteger":99999999999999999999}""", "multipleBirth")]
    [InlineData("""{"resourceType":"Patient","name":{"family":"NotAnArray"}}""", "name")]
    [InlineData("""{"resourceType":"Patient","name":[{"family":["a","b"]}]}""", "family")]
    [InlineData("""{"resourceType":"Patient","favouriteColour":"blue"}""", "favouriteColour")]
    [InlineData("""{"resourceType":"Patient","name":[{"family":"X","nickname":"Y"}]}""", "nickname")]
    [InlineData("""{"resourceType":"Patient","deceasedBoolean":true,"deceasedDateTime":"2020-01-01"}""", "deceased")]
    [InlineData("""{"resourceType":"Patient","deceasedString":"yes"}""", "deceased")]
    [InlineData("""{"resourceType":"Patient","id":"bad id!"}""", "bad id!")]
    [InlineData("""{"resourceType":"Patient","name":[]}""", "array")]
    [InlineData("""{"resourceType":"Patient","name":[{}]}""", "")]
    [InlineData("""{"resourceType":"Patient","telecom":[{"system":"fax","value":""}]}""", "")]
    [InlineData("""{"resourceType":"Patient","contained":[{"resourceType":"Foo"}],"active":true}""", "Foo")]
    public async System.Threading.Tasks.Task Create_InvalidElementValue_Returns400NamingItAndStoresNothing(string body, string mentions)
    {
        using var response = await _host.Client.PostAsync("Patient", FhirTestHost.JsonContent(body));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, mentions);
        await _host.AssertNothingStoredAsync();
    }

    [Theory]
    [InlineData("""{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"12.5"}}""", "value")]
    [InlineData("""{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1e400}}""", "value")]
    [InlineData("""{"resourceType":"Observation","status":"unheard-of","code":{"text":"x"}}""", "unheard-of")]
    [InlineData("""{"resourceType":"Observation","status":"final","code":{"text":"x"},"effectiveDateTime":"yesterday"}""", "yesterday")]
    [InlineData("""{"resourceType":"Observation","status":"final","code":{"text":"x"},"issued":"2020-01-01"}""", "issued")]
    public async System.Threading.Tasks.Task Create_InvalidObservationValue_Returns400NamingItAndStoresNothing(string body, string mentions)
    {
        using var response = await _host.Client.PostAsync("Observation", FhirTestHost.JsonContent(body));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, mentions);
        await _host.AssertNothingStoredAsync();
    }

    // ---- malformed and hostile XML --------------------------------------------------------------

    [Theory]
    [InlineData("""<Patient xmlns="http://hl7.org/fhir"><active value="true"></Patient>""", "XML")]
    [InlineData("""<Patient xmlns="http://hl7.org/fhir"><active value="true"/>""", "XML")]
    [InlineData("""this is not xml""", "XML")]
    [InlineData("""<Patient><active value="true"/></Patient>""", "namespace")]
    [InlineData("""<Patient xmlns="http://hl7.org/fhir"><birthDate value="not-a-date"/></Patient>""", "not-a-date")]
    [InlineData("""<Patient xmlns="http://hl7.org/fhir"><gender value="robot"/></Patient>""", "robot")]
    [InlineData("""<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>""", "yes")]
    [InlineData("""<Patient xmlns="http://hl7.org/fhir"><favouriteColour value="blue"/></Patient>""", "favouriteColour")]
    [InlineData("""<Foo xmlns="http://hl7.org/fhir"><active value="true"/></Foo>""", "Foo")]
    public async System.Threading.Tasks.Task Create_MalformedXml_Returns400AndStoresNothing(string body, string mentions)
    {
        using var response = await _host.Client.PostAsync("Patient", Content(body, "application/fhir+xml"));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, mentions);
        await _host.AssertNothingStoredAsync();
    }

    [Theory]
    [InlineData("""
        <?xml version="1.0"?>
        <!DOCTYPE Patient [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
        <Patient xmlns="http://hl7.org/fhir"><name><family value="&xxe;"/></name></Patient>
        """)]
    [InlineData("""
        <?xml version="1.0"?>
        <!DOCTYPE Patient [
          <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
          <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
          <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
          <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
          <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
          <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
          <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
          <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
        ]>
        <Patient xmlns="http://hl7.org/fhir"><name><family value="&h;"/></name></Patient>
        """)]
    [InlineData("""
        <?xml version="1.0"?>
        <!DOCTYPE Patient SYSTEM "http://127.0.0.1:1/evil.dtd">
        <Patient xmlns="http://hl7.org/fhir"><active value="true"/></Patient>
        """)]
    public async System.Threading.Tasks.Task Create_XmlWithDtdOrEntities_IsRefusedWith400AndStoresNothing(string body)
    {
        using var response = await _host.Client.PostAsync("Patient", Content(body, "application/fhir+xml"));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "DTD");
        await _host.AssertNothingStoredAsync();
    }

    // ---- type and id mismatches -----------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task Create_BodyTypeDiffersFromUrl_Returns400AndStoresNothing()
    {
        using var response = await _host.Client.PostAsync("Patient", FhirTestHost.JsonContent(new Practitioner { Active = true }));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "Practitioner", "Patient");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Update_BodyTypeDiffersFromUrl_Returns400AndStoresNothing()
    {
        using var response = await _host.Client.PutAsync("Patient/p1", FhirTestHost.JsonContent(new Practitioner { Id = "p1", Active = true }));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "Practitioner", "Patient");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Update_IdInBodyDiffersFromUrl_Returns400AndChangesNothing()
    {
        await _host.UpsertAsync(new Patient { Id = "p1", Active = true });
        await _host.UpsertAsync(new Patient { Id = "p2", Active = true });
        using var response = await _host.Client.PutAsync("Patient/p1", FhirTestHost.JsonContent(new Patient { Id = "p2", Active = false }));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "p1", "p2");
        Assert.Equal(2, await _host.CountVersionsAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task Update_NoIdInBody_Returns400AndStoresNothing()
    {
        using var response = await _host.Client.PutAsync("Patient/p1", FhirTestHost.JsonContent(new Patient { Active = true }));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "id");
        await _host.AssertNothingStoredAsync();
    }

    [Theory]
    [InlineData("POST", "Foo")]
    [InlineData("PUT", "Foo/1")]
    [InlineData("GET", "Foo/1")]
    [InlineData("GET", "Foo/_history")]
    public async System.Threading.Tasks.Task Request_UnknownResourceTypeInUrl_Returns404AndStoresNothing(string method, string url)
    {
        var content = method is "GET" ? null : FhirTestHost.JsonContent("""{"resourceType":"Patient","id":"1","active":true}""");
        using var response = await _host.SendAsync(new HttpMethod(method), url, content);
        await AssertOutcomeAsync(response, HttpStatusCode.NotFound, "Foo");
        await _host.AssertNothingStoredAsync();
    }

    [Theory]
    [InlineData("""{"resourceType":"Foo","active":true}""")]
    [InlineData("""{"resourceType":"patient","active":true}""")]
    [InlineData("""{"resourceType":"Element","id":"x"}""")]
    [InlineData("""{"resourceType":"HumanName","family":"x"}""")]
    public async System.Threading.Tasks.Task Create_UnknownResourceTypeInBody_Returns400AndStoresNothing(string body)
    {
        using var response = await _host.Client.PostAsync("Patient", FhirTestHost.JsonContent(body));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest);
        await _host.AssertNothingStoredAsync();
    }

    // ---- ids with SQL metacharacters ------------------------------------------------------------

    [Theory]
    [InlineData("1' OR '1'='1")]
    [InlineData("1; DROP TABLE resource; --")]
    [InlineData("1\" OR \"\"=\"")]
    [InlineData("x' UNION SELECT json FROM resource_version --")]
    [InlineData("%")]
    [InlineData("_")]
    [InlineData("a*")]
    [InlineData("ä")]
    [InlineData("a b")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123456789")]
    public async System.Threading.Tasks.Task Request_IdWithMetacharacters_Returns400AndTouchesNothing(string id)
    {
        await _host.UpsertAsync(new Patient { Id = "1", Active = true });
        var escaped = Uri.EscapeDataString(id);
        foreach (var (method, url) in new[] { ("GET", $"Patient/{escaped}"), ("DELETE", $"Patient/{escaped}"), ("PUT", $"Patient/{escaped}"), ("GET", $"Patient/{escaped}/_history"), ("GET", $"Patient/{escaped}/_history/1") })
        {
            var content = method == "PUT" ? FhirTestHost.JsonContent($$"""{"resourceType":"Patient","id":{{System.Text.Json.JsonSerializer.Serialize(id)}},"active":false}""") : null;
            using var response = await _host.SendAsync(new HttpMethod(method), url, content);
            await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "id");
        }

        Assert.Equal(1, await _host.CountVersionsAsync());
        Assert.True((await _host.GetAsync<Patient>("Patient/1")).Active);
    }

    [Fact]
    public async System.Threading.Tasks.Task Read_IfNoneMatchWithSqlMetacharacters_IsJustAnEtagThatDoesNotMatch()
    {
        await _host.UpsertAsync(new Patient { Id = "1", Active = true });
        using var response = await _host.SendAsync(HttpMethod.Get, "Patient/1", null, ("If-None-Match", "W/\"1' OR '1'='1\""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // ---- size and depth limits ------------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task Create_BodyOverMaxBodyBytes_Returns413AndStoresNothing()
    {
        var patient = new Patient { Name = [new HumanName { Family = new string('x', 100 * 1024) }] };
        using var response = await _host.Client.PostAsync("Patient", FhirTestHost.JsonContent(patient));
        await AssertOutcomeAsync(response, HttpStatusCode.RequestEntityTooLarge, "larger than");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Create_ChunkedBodyOverMaxBodyBytes_Returns413AndStoresNothing()
    {
        var json = System.Text.Json.JsonSerializer.Serialize(new Patient { Name = [new HumanName { Family = new string('x', 100 * 1024) }] }, new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector));
        using var content = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes(json)));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/fhir+json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "Patient") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await _host.Client.SendAsync(request);
        await AssertOutcomeAsync(response, HttpStatusCode.RequestEntityTooLarge, "larger than");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Create_BodyJustUnderMaxBodyBytes_IsAccepted()
    {
        var patient = new Patient { Name = [new HumanName { Family = new string('x', 60 * 1024) }] };
        using var response = await _host.Client.PostAsync("Patient", FhirTestHost.JsonContent(patient));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Theory]
    [InlineData("array")]
    [InlineData("object")]
    [InlineData("extension")]
    [InlineData("contained")]
    public async System.Threading.Tasks.Task Create_VeryDeepJson_Returns400AndStoresNothing(string shape)
    {
        await using var host = await FhirTestHost.StartAsync();
        const int depth = 10_000;
        var body = new StringBuilder();
        switch (shape)
        {
            case "array":
                body.Append("""{"resourceType":"Patient","name":""").Append('[', depth).Append(']', depth).Append('}');
                break;
            case "object":
                body.Append("""{"resourceType":"Patient","name":[""");
                body.Insert(body.Length, """{"a":""", depth).Append("1").Append('}', depth).Append("]}");
                break;
            case "extension":
                body.Append("""{"resourceType":"Patient",""");
                body.Insert(body.Length, "\"extension\":[{\"url\":\"http://x\",", depth).Append("\"valueBoolean\":true");
                body.Insert(body.Length, "}]", depth).Append('}');
                break;
            case "contained":
                body.Insert(0, """{"resourceType":"Patient","contained":[""", depth).Append("""{"resourceType":"Patient","active":true}""");
                body.Insert(body.Length, "]}", depth);
                break;
        }

        using var response = await host.Client.PostAsync("Patient", FhirTestHost.JsonContent(body.ToString()));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "depth");
        await host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Create_VeryDeepXml_Returns400AndStoresNothing()
    {
        await using var host = await FhirTestHost.StartAsync();
        const int depth = 10_000;
        var body = new StringBuilder("""<Patient xmlns="http://hl7.org/fhir">""");
        body.Insert(body.Length, """<extension url="http://x">""", depth).Append("""<valueBoolean value="true"/>""");
        body.Insert(body.Length, "</extension>", depth).Append("</Patient>");
        using var response = await host.Client.PostAsync("Patient", Content(body.ToString(), "application/fhir+xml"));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "depth");
        await host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Create_ModeratelyNestedValidResource_IsAccepted()
    {
        // Questionnaires nest items; twenty levels are well within what real content needs.
        var root = new Questionnaire { Status = PublicationStatus.Active };
        var items = root.Item;
        for (var i = 0; i < 20; i++)
        {
            var item = new Questionnaire.ItemComponent { LinkId = $"l{i}", Type = Questionnaire.QuestionnaireItemType.Group, Text = $"Level {i}" };
            items.Add(item);
            items = item.Item;
        }

        items.Add(new Questionnaire.ItemComponent { LinkId = "leaf", Type = Questionnaire.QuestionnaireItemType.Boolean });
        using var json = await _host.Client.PostAsync("Questionnaire", FhirTestHost.JsonContent(root));
        Assert.Equal(HttpStatusCode.Created, json.StatusCode);
        var xml = new FhirXmlSerializer().SerializeToString(root);
        using var fromXml = await _host.Client.PostAsync("Questionnaire", Content(xml, "application/fhir+xml"));
        Assert.Equal(HttpStatusCode.Created, fromXml.StatusCode);
    }

    [Fact]
    public async System.Threading.Tasks.Task Batch_OverMaxBundleEntries_IsRefusedAndStoresNothing()
    {
        var entries = Enumerable.Range(0, 11).Select(i => Entry(Bundle.HTTPVerb.PUT, $"Patient/b{i}", new Patient { Id = $"b{i}", Active = true })).ToArray();
        foreach (var type in new[] { Bundle.BundleType.Batch, Bundle.BundleType.Transaction })
        {
            using var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(NewBundle(type, entries)));
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"Expected 4xx, got {(int)response.StatusCode}");
            await AssertOutcomeAsync(response, response.StatusCode, "11", "10");
        }

        await _host.AssertNothingStoredAsync();
    }

    [Theory]
    [InlineData(Bundle.BundleType.Collection)]
    [InlineData(Bundle.BundleType.Document)]
    [InlineData(Bundle.BundleType.Searchset)]
    public async System.Threading.Tasks.Task PostToBase_BundleNotBatchOrTransaction_Returns400AndStoresNothing(Bundle.BundleType type)
    {
        var bundle = NewBundle(type, new Bundle.EntryComponent { FullUrl = "http://example.org/fhir/Patient/1", Resource = new Patient { Id = "1", Active = true } });
        using var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(bundle));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "batch", "transaction");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task PostToBase_NotABundle_Returns400AndStoresNothing()
    {
        using var response = await _host.Client.PostAsync("", FhirTestHost.JsonContent(new Patient { Active = true }));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "Bundle");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task PostSearch_FormOverTheFormReaderLimits_Returns4xxNot500()
    {
        await using var host = await FhirTestHost.StartAsync();
        var manyKeys = string.Join("&", Enumerable.Range(0, 2000).Select(i => $"k{i}=v"));
        var hugeValue = "name=" + new string('x', 5 * 1024 * 1024);
        foreach (var form in new[] { manyKeys, hugeValue })
        {
            using var response = await host.Client.PostAsync("Patient/_search", Content(form, "application/x-www-form-urlencoded"));
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"Expected 4xx, got {(int)response.StatusCode}");
            await AssertOutcomeAsync(response, response.StatusCode, "form");
        }
    }

    [Theory]
    [InlineData("OPTIONS", "Patient")]
    [InlineData("TRACE", "Patient/1")]
    [InlineData("PATCH", "metadata")]
    [InlineData("OPTIONS", "")]
    public async System.Threading.Tasks.Task Request_UnsupportedMethod_Returns405(string method, string url)
    {
        using var response = await _host.SendAsync(new HttpMethod(method), url);
        await AssertOutcomeAsync(response, HttpStatusCode.MethodNotAllowed, method);
    }

    [Fact]
    public async System.Threading.Tasks.Task Read_EncodedSlashInId_Returns400()
    {
        using var response = await _host.Client.GetAsync("Patient/a%2Fb");
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "id");
    }

    [Theory]
    [InlineData("GET", "Patient/1?_summary=nonsense")]
    [InlineData("GET", "Patient/1?_summary=count")]
    [InlineData("GET", "Patient/1?_elements=,,,")]
    [InlineData("GET", "Patient/1?_elements=%00%01,$$$,name.family")]
    [InlineData("GET", "Patient/1?_format=xml&_elements=nonexistent&_summary=text")]
    [InlineData("GET", "Patient/1?_pretty=banana")]
    [InlineData("GET", "Patient/1?_format=")]
    [InlineData("GET", "Patient/1/_history/99999999999")]
    [InlineData("GET", "Patient/1/_history/-1")]
    [InlineData("GET", "_history?_offset=-1")]
    [InlineData("GET", "_history?_offset=99999999999")]
    [InlineData("GET", "_history?_offset=2147483647")]
    [InlineData("GET", "_history?_count=2147483647")]
    [InlineData("GET", "_history?_since=")]
    [InlineData("GET", "_history?_before=9999-12-31T23:59:59Z")]
    [InlineData("GET", "_history?_since=0001-01-01T00:00:00Z")]
    [InlineData("GET", "_history?_at=-0001-01-01")]
    [InlineData("GET", "$")]
    [InlineData("GET", "Patient/$")]
    [InlineData("GET", "Patient/1/$everything%27%3B")]
    [InlineData("GET", "Patient/1/Foo")]
    [InlineData("GET", "Patient/1/_history/1/_history")]
    [InlineData("DELETE", "Patient?")]
    [InlineData("DELETE", "Patient?=")]
    [InlineData("DELETE", "Patient?_format=json")]
    [InlineData("DELETE", "Patient?=&=")]
    [InlineData("DELETE", "Patient?=x")]
    [InlineData("PUT", "Patient?")]
    public async System.Threading.Tasks.Task Request_OddInput_NeverAnswers5xx(string method, string url)
    {
        await _host.UpsertAsync(new Patient { Id = "1", Active = true, Name = [new HumanName { Family = "Odd" }] });
        var content = method is "PUT" ? FhirTestHost.JsonContent(new Patient { Active = false }) : null;
        using var response = await _host.SendAsync(new HttpMethod(method), url, content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode < 500, $"{method} {url} answered {(int)response.StatusCode}: {body}");
        if ((int)response.StatusCode >= 400)
        {
            await AssertOutcomeAsync(response, response.StatusCode);
        }

        Assert.True((await _host.GetAsync<Patient>("Patient/1")).Active);
    }

    [Theory]
    [InlineData("If-Match", "*")]
    [InlineData("If-Match", "W/")]
    [InlineData("If-Match", "\"\"")]
    [InlineData("If-None-Match", "*")]
    [InlineData("If-None-Match", "W/\"\"")]
    [InlineData("If-Modified-Since", "not a date")]
    [InlineData("If-Modified-Since", "Tue, 99 Foo 2020 99:99:99 GMT")]
    [InlineData("If-None-Exist", "")]
    [InlineData("If-None-Exist", "?")]
    [InlineData("If-None-Exist", "&&&")]
    [InlineData("If-None-Exist", "identifier=x'; DROP TABLE resource; --")]
    [InlineData("Prefer", "return=banana; handling=whatever")]
    [InlineData("Prefer", ";;;,,,")]
    [InlineData("Accept", "%%%")]
    [InlineData("Accept", "application/fhir+json;q=abc")]
    [InlineData("Content-Type", "application/fhir+json; charset=\"")]
    public async System.Threading.Tasks.Task Write_OddHeaders_NeverAnswer5xx(string name, string value)
    {
        await _host.UpsertAsync(new Patient { Id = "1", Active = true });
        foreach (var (method, url) in new[] { ("PUT", "Patient/1"), ("POST", "Patient"), ("GET", "Patient/1"), ("DELETE", "Patient/2") })
        {
            var content = method is "PUT" or "POST" ? FhirTestHost.JsonContent(new Patient { Id = "1", Active = false }) : null;
            using var response = await _host.SendAsync(new HttpMethod(method), url, content, (name, value));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"{name}: {value} on {method} {url} answered {(int)response.StatusCode}: {body}");
        }
    }

    /// <summary>A stream without a length, so HttpClient must send it chunked.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
