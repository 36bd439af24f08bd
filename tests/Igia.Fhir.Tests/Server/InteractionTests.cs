using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Tests.Infrastructure;
using static Igia.Fhir.Tests.Server.ServerTestSupport;

namespace Igia.Fhir.Tests.Server;

/// <summary>read, vread, create, update, delete and their conditional forms (R4 http.html), through real HTTP.</summary>
public sealed class InteractionTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;

    public async System.Threading.Tasks.Task InitializeAsync() => _host = await FhirTestHost.StartAsync();

    public async System.Threading.Tasks.Task DisposeAsync() => await _host.DisposeAsync();

    // ---- read / vread ---------------------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task Read_Existing_ReturnsCurrentVersionWithMetaETagAndLastModified()
    {
        var created = await _host.CreateAsync(new Patient { Gender = AdministrativeGender.Female });
        created.Gender = AdministrativeGender.Male;
        await _host.UpsertAsync(created);

        using var response = await _host.Client.GetAsync($"Patient/{created.Id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("W/\"2\"", response.ETag());
        var patient = await FhirTestHost.ReadAsync<Patient>(response);
        Assert.Equal(created.Id, patient.Id);
        Assert.Equal("2", patient.Meta.VersionId);
        Assert.Equal(AdministrativeGender.Male, patient.Gender);
        Assert.NotNull(patient.Meta.LastUpdated);
        Assert.Equal(patient.Meta.LastUpdated!.Value.ToUnixTimeSeconds(), response.Content.Headers.LastModified!.Value.ToUnixTimeSeconds());
    }

    [Fact]
    public async System.Threading.Tasks.Task Read_Head_ReturnsHeadersWithoutBody()
    {
        var created = await _host.CreateAsync(new Patient { Active = true });
        using var response = await _host.SendAsync(HttpMethod.Head, $"Patient/{created.Id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("W/\"1\"", response.ETag());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task Read_NeverExisted_Returns404NamingTheResource()
    {
        using var response = await _host.Client.GetAsync("Patient/nobody");
        await AssertOutcomeAsync(response, HttpStatusCode.NotFound, "Patient/nobody");
    }

    [Fact]
    public async System.Threading.Tasks.Task VRead_EachVersion_ReturnsThatVersion()
    {
        var created = await _host.CreateAsync(new Patient { BirthDate = "1970-01-01" });
        created.BirthDate = "1980-02-02";
        await _host.UpsertAsync(created);
        created.BirthDate = "1990-03-03";
        await _host.UpsertAsync(created);

        string[] expected = ["1970-01-01", "1980-02-02", "1990-03-03"];
        for (var v = 1; v <= 3; v++)
        {
            using var response = await _host.Client.GetAsync($"Patient/{created.Id}/_history/{v}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal($"W/\"{v}\"", response.ETag());
            var patient = await FhirTestHost.ReadAsync<Patient>(response);
            Assert.Equal(v.ToString(System.Globalization.CultureInfo.InvariantCulture), patient.Meta.VersionId);
            Assert.Equal(expected[v - 1], patient.BirthDate);
        }
    }

    [Theory]
    [InlineData("4")]
    [InlineData("0")]
    [InlineData("abc")]
    public async System.Threading.Tasks.Task VRead_UnknownVersion_Returns404(string version)
    {
        var created = await _host.CreateAsync(new Patient { Active = true });
        using var response = await _host.Client.GetAsync($"Patient/{created.Id}/_history/{version}");
        await AssertOutcomeAsync(response, HttpStatusCode.NotFound);
    }

    // ---- create ---------------------------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task Create_WithClientId_IgnoresItAndAssignsANewId()
    {
        using var response = await _host.Client.PostAsync("Patient", FhirTestHost.JsonContent(new Patient { Id = "client-chosen", Active = true }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var patient = await FhirTestHost.ReadAsync<Patient>(response);
        Assert.NotEqual("client-chosen", patient.Id);
        Assert.Equal("1", patient.Meta.VersionId);
        Assert.Equal($"{_host.BaseUrl}/Patient/{patient.Id}/_history/1", response.Headers.Location!.ToString());
        using var read = await _host.Client.GetAsync("Patient/client-chosen");
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async System.Threading.Tasks.Task Create_ClientMeta_KeepsProfileAndTagsButReplacesVersionAndLastUpdated()
    {
        var input = new Patient
        {
            Meta = new Meta
            {
                VersionId = "77",
                LastUpdated = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero),
                Profile = ["http://example.org/StructureDefinition/my-patient"],
                Tag = [new Coding("http://example.org/tags", "vip")],
            },
        };
        var created = await _host.CreateAsync(input);
        Assert.Equal("1", created.Meta.VersionId);
        Assert.True(created.Meta.LastUpdated > DateTimeOffset.UtcNow.AddHours(-1));
        Assert.Equal(["http://example.org/StructureDefinition/my-patient"], created.Meta.Profile);
        Assert.Equal("vip", created.Meta.Tag.Single().Code);
    }

    [Fact]
    public async System.Threading.Tasks.Task Create_Twice_GivesDistinctIds()
    {
        var a = await _host.CreateAsync(new Patient { Active = true });
        var b = await _host.CreateAsync(new Patient { Active = true });
        Assert.NotEqual(a.Id, b.Id);
    }

    // ---- update ---------------------------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task Update_Existing_Returns200WithNextVersionAndContentLocation()
    {
        var created = await _host.CreateAsync(new Patient { Active = true });
        created.Active = false;
        using var response = await _host.PutAsync(created);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("W/\"2\"", response.ETag());
        Assert.Equal($"{_host.BaseUrl}/Patient/{created.Id}/_history/2", response.Content.Headers.ContentLocation?.ToString());
        Assert.Null(response.Headers.Location);
        var updated = await FhirTestHost.ReadAsync<Patient>(response);
        Assert.False(updated.Active);
        Assert.Equal("2", updated.Meta.VersionId);
        Assert.True(updated.Meta.LastUpdated > created.Meta.LastUpdated);
    }

    [Fact]
    public async System.Threading.Tasks.Task Update_UnknownId_CreatesWithThatIdAndReturns201()
    {
        using var response = await _host.PutAsync(new Patient { Id = "chosen-by-client", Active = true });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"{_host.BaseUrl}/Patient/chosen-by-client/_history/1", response.Headers.Location!.ToString());
        Assert.Equal("W/\"1\"", response.ETag());
        var read = await _host.GetAsync<Patient>("Patient/chosen-by-client");
        Assert.Equal("1", read.Meta.VersionId);
        Assert.True(read.Active);
    }

    [Fact]
    public async System.Threading.Tasks.Task Update_UnknownIdWhenUpdateCreateIsOff_Returns405AndStoresNothing()
    {
        await using var host = await FhirTestHost.StartAsync(o => o.AllowUpdateCreate = false);
        using var response = await host.PutAsync(new Patient { Id = "no-create" });
        await AssertOutcomeAsync(response, HttpStatusCode.MethodNotAllowed, "create");
        await host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Update_DeletedResource_RecreatesItAsNextVersionWith201()
    {
        var created = await _host.CreateAsync(new Patient { Active = true });
        using (var deleted = await _host.Client.DeleteAsync($"Patient/{created.Id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using var response = await _host.PutAsync(new Patient { Id = created.Id, Active = false });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("W/\"3\"", response.ETag());
        Assert.False((await _host.GetAsync<Patient>($"Patient/{created.Id}")).Active);
    }

    [Fact]
    public async System.Threading.Tasks.Task Update_WithMatchingIfMatch_Succeeds()
    {
        var created = await _host.CreateAsync(new Patient { Active = true });
        using var response = await _host.PutAsync(created, IfMatch("1"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("W/\"2\"", response.ETag());
    }

    // ---- delete ---------------------------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task Delete_Existing_Returns204ThenReadIs410WithETagOfTheDeletion()
    {
        var created = await _host.CreateAsync(new Patient { Active = true });
        using var deleted = await _host.Client.DeleteAsync($"Patient/{created.Id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal("W/\"2\"", deleted.ETag());

        using var read = await _host.Client.GetAsync($"Patient/{created.Id}");
        await AssertOutcomeAsync(read, HttpStatusCode.Gone, "deleted");
        Assert.Equal("W/\"2\"", read.ETag());
    }

    [Fact]
    public async System.Threading.Tasks.Task Delete_Twice_SecondIs204AndAddsNoVersion()
    {
        var created = await _host.CreateAsync(new Patient { Active = true });
        using (var first = await _host.Client.DeleteAsync($"Patient/{created.Id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        using var second = await _host.Client.DeleteAsync($"Patient/{created.Id}");
        Assert.Equal(HttpStatusCode.NoContent, second.StatusCode);
        var history = await _host.GetAsync<Bundle>($"Patient/{created.Id}/_history");
        Assert.Equal(2, history.Total);
    }

    [Fact]
    public async System.Threading.Tasks.Task Delete_NeverExisted_Returns404()
    {
        using var response = await _host.Client.DeleteAsync("Patient/never-was");
        await AssertOutcomeAsync(response, HttpStatusCode.NotFound, "Patient/never-was");
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task Delete_WithStaleIfMatch_Returns412AndKeepsTheResource()
    {
        var created = await _host.CreateAsync(new Patient { Active = true });
        await _host.UpsertAsync(created);
        using var response = await _host.SendAsync(HttpMethod.Delete, $"Patient/{created.Id}", null, IfMatch("1"));
        await AssertOutcomeAsync(response, HttpStatusCode.PreconditionFailed, "If-Match");
        Assert.Equal("2", (await _host.GetAsync<Patient>($"Patient/{created.Id}")).Meta.VersionId);
    }

    // ---- conditional create (If-None-Exist) -----------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task ConditionalCreate_NoMatch_Creates201()
    {
        using var response = await _host.SendAsync(HttpMethod.Post, "Patient", FhirTestHost.JsonContent(PatientWithIdentifier("c-0")), ("If-None-Exist", "identifier=http://example.org/mrn|c-0"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(1, await _host.CountVersionsAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task ConditionalCreate_NoMatchWhileOthersExist_Creates201()
    {
        // Waits on search: the other patient must not match the identifier criteria.
        await _host.CreateAsync(PatientWithIdentifier("other"));
        using var response = await _host.SendAsync(HttpMethod.Post, "Patient", FhirTestHost.JsonContent(PatientWithIdentifier("c-new")), ("If-None-Exist", "identifier=http://example.org/mrn|c-new"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(2, await _host.CountVersionsAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task ConditionalCreate_OneMatch_Returns200WithExistingAndCreatesNothing()
    {
        var existing = await _host.CreateAsync(PatientWithIdentifier("c-1"));
        using var response = await _host.SendAsync(HttpMethod.Post, "Patient", FhirTestHost.JsonContent(PatientWithIdentifier("c-1")), ("If-None-Exist", "identifier=http://example.org/mrn|c-1"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var returned = await FhirTestHost.ReadAsync<Patient>(response);
        Assert.Equal(existing.Id, returned.Id);
        Assert.Equal("W/\"1\"", response.ETag());
        Assert.Equal(1, await _host.CountVersionsAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task ConditionalCreate_ManyMatches_Returns412AndCreatesNothing()
    {
        await _host.CreateAsync(PatientWithIdentifier("dup"));
        await _host.CreateAsync(PatientWithIdentifier("dup"));
        using var response = await _host.SendAsync(HttpMethod.Post, "Patient", FhirTestHost.JsonContent(PatientWithIdentifier("dup")), ("If-None-Exist", "identifier=http://example.org/mrn|dup"));
        await AssertOutcomeAsync(response, HttpStatusCode.PreconditionFailed, "more than one");
        Assert.Equal(2, await _host.CountVersionsAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task ConditionalCreate_SqlInjectionInIfNoneExist_IsTreatedAsDataAndNeverErrors500()
    {
        // Waits on search: the criteria value is data; it matches nothing, so the resource is created.
        await _host.CreateAsync(PatientWithIdentifier("x"));
        using var response = await _host.SendAsync(HttpMethod.Post, "Patient", FhirTestHost.JsonContent(PatientWithIdentifier("y")), ("If-None-Exist", "identifier=x' OR '1'='1"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(2, await _host.CountVersionsAsync());
    }

    // ---- conditional update ---------------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task ConditionalUpdate_OneMatch_UpdatesThatResource()
    {
        // Waits on search: only the patient with identifier u-1 may match.
        await _host.CreateAsync(PatientWithIdentifier("u-other"));
        var target = await _host.CreateAsync(PatientWithIdentifier("u-1"));
        var body = PatientWithIdentifier("u-1");
        body.Active = true;
        using var response = await _host.SendAsync(HttpMethod.Put, "Patient?identifier=http://example.org/mrn|u-1", FhirTestHost.JsonContent(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var updated = await FhirTestHost.ReadAsync<Patient>(response);
        Assert.Equal(target.Id, updated.Id);
        Assert.Equal("2", updated.Meta.VersionId);
        Assert.True((await _host.GetAsync<Patient>($"Patient/{target.Id}")).Active);
    }

    [Fact]
    public async System.Threading.Tasks.Task ConditionalUpdate_OneMatchWithDifferentBodyId_Returns400()
    {
        var target = await _host.CreateAsync(PatientWithIdentifier("u-2"));
        var body = PatientWithIdentifier("u-2", id: "someone-else");
        using var response = await _host.SendAsync(HttpMethod.Put, "Patient?identifier=http://example.org/mrn|u-2", FhirTestHost.JsonContent(body));
        await AssertOutcomeAsync(response, HttpStatusCode.BadRequest, "id");
        Assert.Equal(1, await _host.CountVersionsAsync());
        Assert.Equal("1", (await _host.GetAsync<Patient>($"Patient/{target.Id}")).Meta.VersionId);
    }

    [Fact]
    public async System.Threading.Tasks.Task ConditionalUpdate_NoMatchNoId_CreatesWith201()
    {
        using var response = await _host.SendAsync(HttpMethod.Put, "Patient?identifier=http://example.org/mrn|u-new", FhirTestHost.JsonContent(PatientWithIdentifier("u-new")));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await FhirTestHost.ReadAsync<Patient>(response);
        Assert.False(string.IsNullOrEmpty(created.Id));
        Assert.Equal($"{_host.BaseUrl}/Patient/{created.Id}/_history/1", response.Headers.Location!.ToString());
    }

    [Fact]
    public async System.Threading.Tasks.Task ConditionalUpdate_NoMatchWithId_CreatesWithThatId()
    {
        using var response = await _host.SendAsync(HttpMethod.Put, "Patient?identifier=http://example.org/mrn|u-id", FhirTestHost.JsonContent(PatientWithIdentifier("u-id", id: "cond-upd-id")));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("1", (await _host.GetAsync<Patient>("Patient/cond-upd-id")).Meta.VersionId);
    }

    [Fact]
    public async System.Threading.Tasks.Task ConditionalUpdate_ManyMatches_Returns412AndChangesNothing()
    {
        await _host.CreateAsync(PatientWithIdentifier("u-dup"));
        await _host.CreateAsync(PatientWithIdentifier("u-dup"));
        using var response = await _host.SendAsync(HttpMethod.Put, "Patient?identifier=http://example.org/mrn|u-dup", FhirTestHost.JsonContent(PatientWithIdentifier("u-dup")));
        await AssertOutcomeAsync(response, HttpStatusCode.PreconditionFailed, "more than one");
        Assert.Equal(2, await _host.CountVersionsAsync());
    }

    // ---- conditional delete ---------------------------------------------------------------------

    [Fact]
    public async System.Threading.Tasks.Task ConditionalDelete_OneMatch_DeletesOnlyIt()
    {
        // Waits on search: the other patient must survive.
        var keep = await _host.CreateAsync(PatientWithIdentifier("d-keep"));
        var gone = await _host.CreateAsync(PatientWithIdentifier("d-1"));
        using var response = await _host.Client.DeleteAsync("Patient?identifier=http://example.org/mrn|d-1");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        using var readGone = await _host.Client.GetAsync($"Patient/{gone.Id}");
        Assert.Equal(HttpStatusCode.Gone, readGone.StatusCode);
        using var readKeep = await _host.Client.GetAsync($"Patient/{keep.Id}");
        Assert.Equal(HttpStatusCode.OK, readKeep.StatusCode);
    }

    [Fact]
    public async System.Threading.Tasks.Task ConditionalDelete_ManyMatches_DeletesAllOfThem()
    {
        // Waits on search: the patient with another identifier must survive.
        var keep = await _host.CreateAsync(PatientWithIdentifier("m-keep"));
        var a = await _host.CreateAsync(PatientWithIdentifier("m"));
        var b = await _host.CreateAsync(PatientWithIdentifier("m"));
        var c = await _host.CreateAsync(PatientWithIdentifier("m"));
        using var response = await _host.Client.DeleteAsync("Patient?identifier=http://example.org/mrn|m");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        foreach (var p in new[] { a, b, c })
        {
            using var read = await _host.Client.GetAsync($"Patient/{p.Id}");
            Assert.Equal(HttpStatusCode.Gone, read.StatusCode);
        }

        using var readKeep = await _host.Client.GetAsync($"Patient/{keep.Id}");
        Assert.Equal(HttpStatusCode.OK, readKeep.StatusCode);
    }

    [Fact]
    public async System.Threading.Tasks.Task ConditionalDelete_ManyMatchesWhenMultipleDeleteIsOff_Returns412AndDeletesNothing()
    {
        await using var host = await FhirTestHost.StartAsync(o => o.AllowMultipleDelete = false);
        var a = await host.CreateAsync(PatientWithIdentifier("s"));
        var b = await host.CreateAsync(PatientWithIdentifier("s"));
        using var response = await host.Client.DeleteAsync("Patient?identifier=http://example.org/mrn|s");
        await AssertOutcomeAsync(response, HttpStatusCode.PreconditionFailed, "more than one");
        Assert.Equal(2, await host.CountVersionsAsync());
    }

    [Fact]
    public async System.Threading.Tasks.Task ConditionalDelete_NoMatch_Returns204AndDeletesNothing()
    {
        using var response = await _host.Client.DeleteAsync("Patient?identifier=http://example.org/mrn|none");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        await _host.AssertNothingStoredAsync();
    }

    [Fact]
    public async System.Threading.Tasks.Task ConditionalDelete_WithoutCriteria_IsRefusedAndDeletesNothing()
    {
        var p = await _host.CreateAsync(new Patient { Active = true });
        using var response = await _host.Client.DeleteAsync("Patient");
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"Expected 4xx, got {(int)response.StatusCode}");
        await AssertOutcomeAsync(response, response.StatusCode, "criteria");
        using var read = await _host.Client.GetAsync($"Patient/{p.Id}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }

    [Theory]
    [InlineData("DELETE", "Patient?no-such-parameter=x")]
    [InlineData("DELETE", "Patient?identifier:nonsense-modifier=x")]
    [InlineData("PUT", "Patient?no-such-parameter=x")]
    public async System.Threading.Tasks.Task Conditional_UnknownParameter_IsRefusedAndTouchesNothing(string method, string url)
    {
        // Waits on search: a conditional interaction must not ignore criteria it does not understand (that would match
        // everything), so unknown parameters are errors here whatever Prefer: handling says.
        var a = await _host.CreateAsync(PatientWithIdentifier("k-1"));
        var b = await _host.CreateAsync(PatientWithIdentifier("k-2"));
        var content = method == "PUT" ? FhirTestHost.JsonContent(PatientWithIdentifier("k-3")) : null;
        using var response = await _host.SendAsync(new HttpMethod(method), url, content, ("Prefer", "handling=lenient"));
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"Expected 4xx, got {(int)response.StatusCode}");
        Assert.Equal(2, await _host.CountVersionsAsync());
        Assert.Equal(HttpStatusCode.OK, (await _host.Client.GetAsync($"Patient/{a.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _host.Client.GetAsync($"Patient/{b.Id}")).StatusCode);
    }

    // ---- disabled interactions ------------------------------------------------------------------

    [Theory]
    [InlineData(FhirInteractionKind.Delete, "DELETE", "Patient/{id}")]
    [InlineData(FhirInteractionKind.Update, "PUT", "Patient/{id}")]
    [InlineData(FhirInteractionKind.Create, "POST", "Patient")]
    [InlineData(FhirInteractionKind.History, "GET", "Patient/{id}/_history")]
    [InlineData(FhirInteractionKind.VRead, "GET", "Patient/{id}/_history/1")]
    public async System.Threading.Tasks.Task Interaction_DisabledByOptions_Returns405AndChangesNothing(FhirInteractionKind kind, string method, string url)
    {
        await using var host = await FhirTestHost.StartAsync(o => o.Interactions.Remove(kind));
        var seeded = kind == FhirInteractionKind.Create ? await host.UpsertAsync(new Patient { Id = "p1" }) : await host.CreateAsync(new Patient { Active = true });
        var content = method is "PUT" or "POST" ? FhirTestHost.JsonContent(new Patient { Id = seeded.Id, Active = true }) : null;
        using var response = await host.SendAsync(new HttpMethod(method), url.Replace("{id}", seeded.Id, StringComparison.Ordinal), content);
        await AssertOutcomeAsync(response, HttpStatusCode.MethodNotAllowed, kind.ToString().ToLowerInvariant());
        Assert.Equal("1", (await host.GetAsync<Patient>($"Patient/{seeded.Id}")).Meta.VersionId);
        if (kind != FhirInteractionKind.History)
        {
            Assert.Equal(1, await host.CountVersionsAsync());
        }
    }

    [Fact]
    public async System.Threading.Tasks.Task Read_ResourceTypeNotServed_Returns404()
    {
        await using var host = await FhirTestHost.StartAsync(o => o.ResourceTypes.Add("Patient"));
        using var response = await host.Client.PostAsync("Observation", FhirTestHost.JsonContent(new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "1-1") }));
        await AssertOutcomeAsync(response, HttpStatusCode.NotFound, "Observation");
        await host.AssertNothingStoredAsync();
    }
}
