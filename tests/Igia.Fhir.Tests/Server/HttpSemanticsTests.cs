using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Fhir.Tests.Infrastructure;
using static Igia.Fhir.Tests.Server.ServerTestSupport;

namespace Igia.Fhir.Tests.Server;

/// <summary>HTTP rules of R4 http.html: versions and ETags, conditional requests, Prefer, status codes, formats.</summary>
public sealed class HttpSemanticsTests : IAsyncLifetime
{
    private const string PatientXml = """
        <Patient xmlns="http://hl7.org/fhir">
          <id value="xml-1"/>
          <active value="true"/>
          <name><family value="Xmlson"/><given value="Ann"/></name>
          <birthDate value="1980-05-06"/>
        </Patient>
        """;

    private FhirTestHost _host = null!;

    public async System.Threading.Tasks.Task InitializeAsync() => _host = await FhirTestHost.StartAsync();

    public async System.Threading.Tasks.Task DisposeAsync() => await _host.DisposeAsync();

    // ---- versions, ETag, If-Match ---------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task Write_EachVersion_CarriesMetaVersionIdLastUpdatedAndMatchingETag()
    {
        var before = DateTimeOffset.UtcNow.AddMinutes(-5);
        using var created = await _host.Client.PostAsync("Patient", FhirTestHost.JsonContent(new Patient { Active = true }));
        var v1 = await FhirTestHost.ReadAsync<Patient>(created);
        Assert.Equal("W/\"1\"", created.ETag());
        Assert.True(v1.Meta.LastUpdated > before);

        using var updated = await _host.PutAsync(v1);
        var v2 = await FhirTestHost.ReadAsync<Patient>(updated);
        Assert.Equal("W/\"2\"", updated.ETag());
        Assert.Equal("2", v2.Meta.VersionId);
        Assert.True(v2.Meta.LastUpdated > v1.Meta.LastUpdated);
        Assert.NotNull(updated.Content.Headers.LastModified);
    }

    [Theory]
    [InlineData("W/\"1\"")]
    [InlineData("\"1\"")]
    [InlineData("W/\"99\"")]
    [InlineData("W/\"abc\"")]
    [InlineData("W/\"2' OR '1'='1\"")]
    public async System.Threading.Tasks.Task Update_IfMatchNotCurrentVersion_Returns412AndChangesNothing(string ifMatch)
    {
        var p = await _host.CreateAsync(new Patient { Active = true });
        await _host.UpsertAsync(p);
        using var response = await _host.PutAsync(new Patient { Id = p.Id, Active = false }, ("If-Match", ifMatch));
        await AssertOutcomeAsync(response, HttpStatusCode.PreconditionFailed, "If-Match");
        var current = await _host.GetAsync<Patient>($"Patient/{p.Id}");
        Assert.Equal("2", current.Meta.VersionId);
        Assert.True(current.Active);
    }

    [Fact]
    public async System.Threading.Tasks.Task Update_IfMatchOnMissingResource_Returns412AndCreatesNothing()
    {
        using var response = await _host.PutAsync(new Patient { Id = "not-there", Active = true }, IfMatch("1"));
        await AssertOutcomeAsync(response, HttpStatusCode.PreconditionFailed, "does not exist");
        await _host.AssertNothingStoredAsync();
    }

    // ---- If-None-Match / If-Modified-Since -------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task Read_IfNoneMatchCurrentVersion_Returns304WithoutBody()
    {
        var p = await _host.CreateAsync(new Patient { Active = true });
        using var response = await _host.SendAsync(HttpMethod.Get, $"Patient/{p.Id}", null, ("If-None-Match", "W/\"1\""));
        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal("W/\"1\"", response.ETag());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task Read_IfNoneMatchOlderVersion_Returns200WithCurrent()
    {
        var p = await _host.CreateAsync(new Patient { Active = true });
        await _host.UpsertAsync(p);
        using var response = await _host.SendAsync(HttpMethod.Get, $"Patient/{p.Id}", null, ("If-None-Match", "W/\"1\""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("2", (await FhirTestHost.ReadAsync<Patient>(response)).Meta.VersionId);
    }

    [Fact]
    public async System.Threading.Tasks.Task Read_IfModifiedSinceAfterLastUpdate_Returns304_AndBefore_Returns200()
    {
        var p = await _host.CreateAsync(new Patient { Active = true });
        var later = p.Meta.LastUpdated!.Value.AddSeconds(2).ToString("R", CultureInfo.InvariantCulture);
        using var notModified = await _host.SendAsync(HttpMethod.Get, $"Patient/{p.Id}", null, ("If-Modified-Since", later));
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        var earlier = p.Meta.LastUpdated!.Value.AddMinutes(-1).ToString("R", CultureInfo.InvariantCulture);
        using var modified = await _host.SendAsync(HttpMethod.Get, $"Patient/{p.Id}", null, ("If-Modified-Since", earlier));
        Assert.Equal(HttpStatusCode.OK, modified.StatusCode);
    }

    [Fact]
    public async System.Threading.Tasks.Task Read_IfModifiedSinceGarbage_IsIgnoredAnd200()
    {
        var p = await _host.CreateAsync(new Patient { Active = true });
        using var response = await _host.SendAsync(HttpMethod.Get, $"Patient/{p.Id}", null, ("If-Modified-Since", "'; DROP TABLE resource; --"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // ---- Location, Content-Location -------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task Create_Returns201WithLocationOfTheVersionAndNoContentLocationMismatch()
    {
        using var response = await _host.Client.PostAsync("Patient", FhirTestHost.JsonContent(new Patient { Active = true }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await FhirTestHost.ReadAsync<Patient>(response)).Id;
        var location = response.Headers.Location!.ToString();
        Assert.Equal($"{_host.BaseUrl}/Patient/{id}/_history/1", location);
        using var follow = await _host.Client.GetAsync(location);
        Assert.Equal(HttpStatusCode.OK, follow.StatusCode);
    }

    // ---- Prefer: return= ------------------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task Create_PreferReturnMinimal_Returns201WithHeadersAndNoBody()
    {
        using var response = await _host.SendAsync(HttpMethod.Post, "Patient", FhirTestHost.JsonContent(new Patient { Active = true }), ("Prefer", "return=minimal"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.NotNull(response.Headers.Location);
        Assert.Equal("W/\"1\"", response.ETag());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task Update_PreferReturnMinimal_Returns200WithNoBody()
    {
        var p = await _host.CreateAsync(new Patient { Active = true });
        using var response = await _host.PutAsync(p, ("Prefer", "return=minimal"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("W/\"2\"", response.ETag());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task Create_PreferReturnRepresentation_ReturnsTheStoredResource()
    {
        using var response = await _host.SendAsync(HttpMethod.Post, "Patient", FhirTestHost.JsonContent(new Patient { Active = true }), ("Prefer", "return=representation"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var p = await FhirTestHost.ReadAsync<Patient>(response);
        Assert.True(p.Active);
        Assert.Equal("1", p.Meta.VersionId);
    }

    [Fact]
    public async System.Threading.Tasks.Task Create_PreferReturnOperationOutcome_ReturnsAnInformationalOutcome()
    {
        using var response = await _host.SendAsync(HttpMethod.Post, "Patient", FhirTestHost.JsonContent(new Patient { Active = true }), ("Prefer", "return=OperationOutcome"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.NotNull(response.Headers.Location);
        var outcome = await FhirTestHost.ReadAsync<OperationOutcome>(response);
        Assert.All(outcome.Issue, i => Assert.Equal(OperationOutcome.IssueSeverity.Information, i.Severity));
    }

    // ---- status codes ---------------------------------------------------------------------------

    [Theory]
    [InlineData("DELETE", "metadata")]
    [InlineData("PUT", "metadata")]
    [InlineData("POST", "metadata")]
    [InlineData("DELETE", "_history")]
    [InlineData("PUT", "")]
    [InlineData("DELETE", "Patient/_history")]
    [InlineData("POST", "Patient/p1")]
    [InlineData("PUT", "Patient/p1/_history/1")]
    [InlineData("DELETE", "Patient/p1/_history")]
    public async System.Threading.Tasks.Task Request_MethodNotAllowedOnPath_Returns405(string method, string url)
    {
        await _host.UpsertAsync(new Patient { Id = "p1", Active = true });
        var content = method is "PUT" or "POST" ? FhirTestHost.JsonContent(new Patient { Id = "p1", Active = false }) : null;
        using var response = await _host.SendAsync(new HttpMethod(method), url, content);
        await AssertOutcomeAsync(response, HttpStatusCode.MethodNotAllowed, method);
        Assert.Equal("1", (await _host.GetAsync<Patient>("Patient/p1")).Meta.VersionId);
        Assert.Equal(1, await _host.CountVersionsAsync());
    }

    [Theory]
    [InlineData("Foo/1")]
    [InlineData("patient/1")]
    [InlineData("Foo")]
    [InlineData("Patient/1/Bar")]
    [InlineData("Patient/1/_history/1/extra")]
    public async System.Threading.Tasks.Task Read_UnknownTypeOrPath_Returns404WithOutcome(string url)
    {
        using var response = await _host.Client.GetAsync(url);
        await AssertOutcomeAsync(response, HttpStatusCode.NotFound);
    }

    // ---- formats --------------------------------------------------------------------------------

    [Theory]
    [InlineData("text/html")]
    [InlineData("image/png")]
    [InlineData("text/html, application/xhtml+xml")]
    public async System.Threading.Tasks.Task Read_AcceptOnlyUnsupportedTypes_Returns406(string accept)
    {
        var p = await _host.CreateAsync(new Patient { Active = true });
        using var response = await _host.SendAsync(HttpMethod.Get, $"Patient/{p.Id}", null, ("Accept", accept));
        await AssertOutcomeAsync(response, HttpStatusCode.NotAcceptable, "Accept");
    }

    [Theory]
    [InlineData("html")]
    [InlineData("text/plain")]
    [InlineData("turtle")]
    [InlineData("json' OR '1'='1")]
    public async System.Threading.Tasks.Task Read_BadFormatParameter_Returns406(string format)
    {
        var p = await _host.CreateAsync(new Patient { Active = true });
        using var response = await _host.Client.GetAsync($"Patient/{p.Id}?_format={Uri.EscapeDataString(format)}");
        await AssertOutcomeAsync(response, HttpStatusCode.NotAcceptable, "_format");
    }

    [Fact]
    public async System.Threading.Tasks.Task Create_BadFormatParameter_Returns406AndStoresNothing()
    {
        using var response = await _host.Client.PostAsync("Patient?_format=html", FhirTestHost.JsonContent(new Patient { Active = true }));
        await AssertOutcomeAsync(response, HttpStatusCode.NotAcceptable, "_format");
        await _host.AssertNothingStoredAsync();
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("text/html")]
    [InlineData("application/octet-stream")]
    public async System.Threading.Tasks.Task Create_UnsupportedContentType_Returns415AndStoresNothing(string contentType)
    {
        var json = System.Text.Json.JsonSerializer.Serialize(new Patient { Active = true }, new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector));
        using var response = await _host.Client.PostAsync("Patient", new StringContent(json, Encoding.UTF8, contentType));
        await AssertOutcomeAsync(response, HttpStatusCode.UnsupportedMediaType, "Content-Type");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Create_NoContentType_Returns415AndStoresNothing()
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"resourceType":"Patient","active":true}"""));
        using var response = await _host.Client.PostAsync("Patient", content);
        await AssertOutcomeAsync(response, HttpStatusCode.UnsupportedMediaType, "Content-Type");
        await _host.AssertNothingStoredAsync();
    }

    [Theory]
    [InlineData("application/fhir+json")]
    [InlineData("application/json")]
    [InlineData("application/fhir+json; fhirVersion=4.0")]
    [InlineData("application/json; charset=utf-8")]
    public async System.Threading.Tasks.Task Create_JsonMediaTypes_AreAccepted(string contentType)
    {
        using var response = await _host.Client.PostAsync("Patient", new StringContent("""{"resourceType":"Patient","active":true}""", Encoding.UTF8) { Headers = { ContentType = MediaTypeHeaderValue.Parse(contentType) } });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("application/fhir+json", response.MediaType());
    }

    [Theory]
    [InlineData("application/fhir+xml")]
    [InlineData("application/xml")]
    [InlineData("text/xml")]
    public async System.Threading.Tasks.Task Update_XmlBody_IsStoredAndReadBackAsJson(string contentType)
    {
        using var response = await _host.SendAsync(HttpMethod.Put, "Patient/xml-1", Content(PatientXml, contentType));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var p = await _host.GetAsync<Patient>("Patient/xml-1");
        Assert.Equal("Xmlson", p.Name[0].Family);
        Assert.Equal("1980-05-06", p.BirthDate);
    }

    [Theory]
    [InlineData("_format=xml", null)]
    [InlineData("_format=application/fhir%2Bxml", null)]
    [InlineData("_format=application/fhir+xml", null)]
    [InlineData("_format=application/xml", null)]
    [InlineData("_format=text/xml", null)]
    [InlineData(null, "application/fhir+xml")]
    [InlineData(null, "application/xml")]
    [InlineData(null, "text/html;q=0.9, application/fhir+xml;q=0.8")]
    public async System.Threading.Tasks.Task Read_XmlRequested_ReturnsFhirXml(string? query, string? accept)
    {
        await _host.SendAsync(HttpMethod.Put, "Patient/xml-1", Content(PatientXml, "application/fhir+xml"));
        var url = "Patient/xml-1" + (query is null ? "" : "?" + query);
        using var response = accept is null ? await _host.Client.GetAsync(url) : await _host.SendAsync(HttpMethod.Get, url, null, ("Accept", accept));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/fhir+xml", response.MediaType());
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("<Patient xmlns=\"http://hl7.org/fhir\">", text);
        var p = (Patient)new FhirXmlDeserializer().DeserializeResource(text);
        Assert.Equal("Xmlson", p.Name[0].Family);
        Assert.Equal("1", p.Meta.VersionId);
    }

    [Theory]
    [InlineData("_format=json", null)]
    [InlineData("_format=application/fhir%2Bjson", null)]
    [InlineData("_format=application/fhir+json", null)]
    [InlineData("_format=application/json", null)]
    [InlineData(null, "application/json")]
    [InlineData(null, "application/fhir+json")]
    [InlineData(null, "*/*")]
    [InlineData(null, "application/fhir+xml;q=0.5, application/fhir+json")]
    public async System.Threading.Tasks.Task Read_JsonRequested_ReturnsFhirJson(string? query, string? accept)
    {
        await _host.SendAsync(HttpMethod.Put, "Patient/xml-1", Content(PatientXml, "application/fhir+xml"));
        var url = "Patient/xml-1" + (query is null ? "" : "?" + query);
        using var response = accept is null ? await _host.Client.GetAsync(url) : await _host.SendAsync(HttpMethod.Get, url, null, ("Accept", accept));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/fhir+json", response.MediaType());
        Assert.Equal("Xmlson", (await FhirTestHost.ReadAsync<Patient>(response)).Name[0].Family);
    }

    [Fact]
    public async System.Threading.Tasks.Task Create_FormatXml_AnswersInXmlAndErrorsToo()
    {
        using var created = await _host.Client.PostAsync("Patient?_format=xml", FhirTestHost.JsonContent(new Patient { Active = true }));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("application/fhir+xml", created.MediaType());
        Assert.IsType<Patient>(await ReadAnyAsync<Patient>(created));

        using var missing = await _host.Client.GetAsync("Patient/none?_format=xml");
        Assert.Equal("application/fhir+xml", missing.MediaType());
        await AssertOutcomeAsync(missing, HttpStatusCode.NotFound);
    }

    [Fact]
    public async System.Threading.Tasks.Task Read_Pretty_IndentsJsonAndXml()
    {
        var p = await _host.CreateAsync(new Patient { Active = true, Name = [new HumanName { Family = "Pretty" }] });
        var compact = await _host.Client.GetStringAsync($"Patient/{p.Id}");
        Assert.DoesNotContain("\n", compact);
        var pretty = await _host.Client.GetStringAsync($"Patient/{p.Id}?_pretty=true");
        Assert.Contains("\n  ", pretty);
        var prettyXml = await _host.Client.GetStringAsync($"Patient/{p.Id}?_pretty=true&_format=xml");
        Assert.Contains("\n  <", prettyXml);
        var compactXml = await _host.Client.GetStringAsync($"Patient/{p.Id}?_format=xml");
        Assert.DoesNotContain("\n", compactXml.Trim());
    }

    [Fact]
    public async System.Threading.Tasks.Task Transaction_XmlBundle_IsProcessedAndAnsweredInXml()
    {
        const string bundle = """
            <Bundle xmlns="http://hl7.org/fhir">
              <type value="transaction"/>
              <entry>
                <fullUrl value="urn:uuid:2a4d7f2e-4c4c-4b8e-9d89-6b3a1c7e0f11"/>
                <resource><Patient><active value="true"/></Patient></resource>
                <request><method value="POST"/><url value="Patient"/></request>
              </entry>
              <entry>
                <resource>
                  <Observation>
                    <status value="final"/>
                    <code><coding><system value="http://loinc.org"/><code value="8867-4"/></coding></code>
                    <subject><reference value="urn:uuid:2a4d7f2e-4c4c-4b8e-9d89-6b3a1c7e0f11"/></subject>
                  </Observation>
                </resource>
                <request><method value="POST"/><url value="Observation"/></request>
              </entry>
            </Bundle>
            """;
        using var request = new HttpRequestMessage(HttpMethod.Post, "") { Content = Content(bundle, "application/fhir+xml") };
        request.Headers.Accept.Add(Accept("application/fhir+xml"));
        using var response = await _host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/fhir+xml", response.MediaType());
        var result = await ReadAnyAsync<Bundle>(response);
        var patientId = result.Entry[0].Resource.Id;
        Assert.Equal($"Patient/{patientId}", ((Observation)result.Entry[1].Resource).Subject.Reference);
    }

    [Fact]
    public async System.Threading.Tasks.Task Capabilities_ReflectOptionsAndAreServedInBothFormats()
    {
        await using var host = await FhirTestHost.StartAsync(o =>
        {
            o.ResourceTypes.Add("Patient");
            o.ResourceTypes.Add("Observation");
            o.Interactions.Remove(Igia.Fhir.Pipeline.FhirInteractionKind.Delete);
            o.AllowMultipleDelete = false;
        });
        var cs = await host.GetAsync<CapabilityStatement>("metadata");
        Assert.Equal(CapabilityStatementKind.Instance, cs.Kind);
        Assert.Contains("json", cs.Format);
        Assert.Contains("xml", cs.Format);
        Assert.Equal(["Observation", "Patient"], cs.Rest[0].Resource.Select(r => r.Type));
        var patient = cs.Rest[0].Resource.Single(r => r.Type == "Patient");
        Assert.DoesNotContain(patient.Interaction, i => i.Code == CapabilityStatement.TypeRestfulInteraction.Delete);
        Assert.Contains(patient.Interaction, i => i.Code == CapabilityStatement.TypeRestfulInteraction.Update);
        Assert.Equal(CapabilityStatement.ConditionalDeleteStatus.Single, patient.ConditionalDelete);
        Assert.Contains(cs.Rest[0].Interaction, i => i.Code == CapabilityStatement.SystemRestfulInteraction.Transaction);
        Assert.Contains(cs.Rest[0].Interaction, i => i.Code == CapabilityStatement.SystemRestfulInteraction.Batch);

        using var xml = await host.Client.GetAsync("metadata?_format=xml");
        Assert.Equal("application/fhir+xml", xml.MediaType());
        Assert.IsType<CapabilityStatement>(await ReadAnyAsync<CapabilityStatement>(xml));
    }
}
