using System.Security.Claims;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Audit.Capture;
using Igia.Audit.Internal;
using Igia.Fhir.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Claim = System.Security.Claims.Claim;

namespace Igia.Audit.Tests.Capture;

/// <summary>
/// The hot path's direct JSON (read, vread, search, create, update, patch) is byte for byte what the AuditEvent path
/// (build the Firely AuditEvent, serialise it) writes for the same interaction — so the BALP validation of the built
/// events, and the writer's equality with the Firely serializer, hold for the direct JSON too.
/// </summary>
public sealed class DirectJsonTests
{
    private sealed class FixedTime : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 11, 26, 17, 30, 1, 234, TimeSpan.Zero);
    }

    public static TheoryData<string> Kinds() => ["read", "vread", "search", "search-system", "create", "update", "patch"];

    /// <summary>Every caller shape, outcome, resource and site for one kind: 200 combinations.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void JsonForInteraction_WritesTheBytesOfTheBuiltEvents(string kind)
    {
        foreach (var caller in new[] { "oauth-user", "user-no-client", "client-only", "anonymous", "no-http" })
        {
            foreach (var status in new[] { 200, 201, 404, 422, 500 })
            {
                foreach (var resource in new[] { "Patient", "Observation-of-p1", "Observation-no-patient", "none" })
                {
                    foreach (var site in new[] { null, "site \"A\" é" })
                    {
                        var factory = new AuditEventFactory(Options.Create(new AuditOptions { SourceId = "direct-test", Site = site }), new FixedTime()) { NewId = () => "0192f3a1b2c3d4e5f60718293a4b5c6d" };
                        var interaction = Interaction(kind, caller, resource);
                        var response = Response(status, resource);
                        var built = factory.ForInteraction(interaction, status, response, null);
                        var expected = built.Select(e => Encoding.UTF8.GetString(AuditEventJson.Serialize(e))).ToList();
                        var actual = factory.JsonForInteraction(interaction, status, response, null).Select(j => Encoding.UTF8.GetString(j)).ToList();

                        Assert.Equal(expected.Count, actual.Count);
                        for (var i = 0; i < expected.Count; i++)
                        {
                            Assert.Equal(expected[i], actual[i]);
                        }

                        Assert.All(built, e => Assert.True(AuditEventJson.Supported(e)));
                    }
                }
            }
        }
    }

    [Fact]
    public void JsonForInteraction_QueryAcrossPatients_OneEventPerPatient()
    {
        var factory = new AuditEventFactory(Options.Create(new AuditOptions { SourceId = "direct-test" }), new FixedTime()) { NewId = () => "1" };
        var interaction = Interaction("search", "oauth-user", "none");
        var response = new FhirResponse { Resource = new Bundle { Entry = [new() { Resource = new Patient { Id = "a" } }, new() { Resource = new Observation { Subject = new ResourceReference("Patient/b") } }] } };

        var json = factory.JsonForInteraction(interaction, 200, response, null);
        var expected = factory.ForInteraction(interaction, 200, response, null).Select(e => AuditEventJson.Serialize(e)).ToList();

        Assert.Equal(2, json.Count);
        Assert.Equal(expected.Select(Encoding.UTF8.GetString), json.Select(Encoding.UTF8.GetString));
        Assert.Contains("\"Patient/a\"", Encoding.UTF8.GetString(json[0]), StringComparison.Ordinal);
        Assert.Contains("\"Patient/b\"", Encoding.UTF8.GetString(json[1]), StringComparison.Ordinal);
    }

    [Fact]
    public void JsonForInteraction_OtherKinds_AreRefused()
    {
        var factory = new AuditEventFactory(Options.Create(new AuditOptions()), new FixedTime());
        Assert.False(AuditEventFactory.WritesJsonDirectly(FhirInteractionKind.Delete));
        Assert.False(AuditEventFactory.WritesJsonDirectly(FhirInteractionKind.Transaction));
        Assert.Throws<ArgumentException>(() => factory.JsonForInteraction(new FhirInteraction { Kind = FhirInteractionKind.Delete, BaseUrl = "" }, 200, null, null));
    }

    private static FhirInteraction Interaction(string kind, string caller, string resource)
    {
        HttpContext? http = null;
        ClaimsPrincipal? user = caller switch
        {
            "oauth-user" or "no-http" => new(new ClaimsIdentity([new Claim("sub", "u\\1", null, "https://idp"), new Claim("iss", "https://idp"), new Claim("fhirUser", "Practitioner/1"), new Claim("client_id", "app"), new Claim("jti", "t1")], "Bearer")),
            "user-no-client" => new(new ClaimsIdentity([new Claim("sub", "u2")], "Bearer")),
            "client-only" => new(new ClaimsIdentity([new Claim("client_id", "svc"), new Claim("jti", "t9")], "Bearer")),
            _ => null,
        };
        if (caller != "no-http")
        {
            var context = new DefaultHttpContext();
            context.Connection.RemoteIpAddress = System.Net.IPAddress.Parse(caller == "anonymous" ? "2001:db8::1" : "::ffff:10.1.2.3");
            if (caller != "anonymous")
            {
                context.Request.Headers["X-Request-Id"] = "req-\"1\"";
            }

            if (user is not null)
            {
                context.User = user;
            }

            http = context;
        }

        var type = resource switch
        {
            "Patient" => "Patient",
            "none" => null,
            _ => "Observation",
        };
        var k = kind switch
        {
            "read" => FhirInteractionKind.Read,
            "vread" => FhirInteractionKind.VRead,
            "search" or "search-system" => FhirInteractionKind.Search,
            "create" => FhirInteractionKind.Create,
            "update" => FhirInteractionKind.Update,
            _ => FhirInteractionKind.Patch,
        };
        return new FhirInteraction
        {
            Kind = k,
            ResourceType = kind == "search-system" ? null : type,
            Id = k is FhirInteractionKind.Search or FhirInteractionKind.Create ? null : type is null ? null : "p1",
            VersionId = k == FhirInteractionKind.VRead ? "3" : null,
            HttpContext = http,
            User = user,
            BaseUrl = caller == "no-http" ? "" : "https://ehr.example.org/fhir",
            RelativeUrl = (type ?? "") + (k == FhirInteractionKind.Search ? "?name=Zo%C3%AB" : ""),
            Method = k switch
            {
                FhirInteractionKind.Create => "POST",
                FhirInteractionKind.Update => "PUT",
                FhirInteractionKind.Patch => "PATCH",
                _ => "GET",
            },
            Parameters = k == FhirInteractionKind.Search ? [new("name", "Zoë \"Q\""), new("_count", "5")] : [],
            Resource = k is FhirInteractionKind.Create or FhirInteractionKind.Update ? new Observation { Subject = new ResourceReference("Patient/p7") } : null,
        };
    }

    private static FhirResponse Response(int status, string resource)
    {
        if (status >= 400)
        {
            return FhirResponse.Error((System.Net.HttpStatusCode)status, OperationOutcome.IssueType.Invalid, "bad \u2028 \"input\"");
        }

        var response = new FhirResponse { StatusCode = (System.Net.HttpStatusCode)status };
        switch (resource)
        {
            case "Patient":
                response.Resource = new Patient { Id = "p1" };
                response.ResourceType = "Patient";
                response.Id = "p1";
                break;
            case "Observation-of-p1":
                response.Resource = new Observation { Id = "p1", Subject = new ResourceReference("Patient/p1") };
                response.ResourceType = "Observation";
                response.Id = "p1";
                break;
            case "Observation-no-patient":
                response.Resource = new Observation { Id = "p1" };
                break;
        }

        return response;
    }
}
