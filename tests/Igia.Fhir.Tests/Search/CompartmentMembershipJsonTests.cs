using Igia.Fhir.Search;
using Igia.Fhir.Storage;

namespace Igia.Fhir.Tests.Search;

/// <summary>
/// The stored-JSON compartment check (used by the SMART resource server on every patient-scoped read) on tricky JSON. The
/// expected answers are those of the earlier JsonDocument walk (these cases were run against it before it was replaced by the
/// forward-only reader scan): only the linking member paths count, arrays are flattened one level per member, the reference is
/// read unescaped and parsed like the search indexer parses it.
/// </summary>
public sealed class CompartmentMembershipJsonTests
{
    private readonly FhirCompartmentMembership _membership = new(new SearchParameterRegistry());

    private static string Obs(string members) => "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\",\"code\":{\"text\":\"x\"}," + members + "}";

    public static TheoryData<string, string, bool> Cases() => new()
    {
        { Obs("""  "subject" : { "reference" : "Patient/pa" } """), "whitespace", true },
        { "{\n  \"resourceType\": \"Observation\",\n  \"id\": \"o1\",\n  \"subject\": {\n    \"display\": \"x\",\n    \"reference\": \"Patient/pa\"\n  }\n}", "pretty-printed", true },
        { Obs(""" "subject":{"reference":"Patient/pb"},"performer":[ {"reference":"Practitioner/d"} ,	{"reference":"Patient/pa"} ]"""), "second link, tab", true },
        { Obs(""" "subject":{"reference":"Patient\/pa"}"""), "escaped solidus", true },
        { Obs(""" "subject":{"reference":"\u0050atient\u002Fpa"}"""), "unicode escapes", true },
        { Obs(""" "subject":{"reference":"Patient\/pb"}"""), "escaped, other patient", false },
        { Obs(""" "subj\u0065ct":{"refer\u0065nce":"Patient/pa"}"""), "escaped member names", true },
        { Obs(""" "subject":{"reference":"Patient/pa/_history/2"}"""), "versioned", true },
        { Obs(""" "subject":{"reference":"Patient/pb/_history/2"}"""), "versioned, other patient", false },
        { Obs(""" "subject":{"reference":"https://ü.example/fhir/Patient/pa"}"""), "absolute URL, non-ASCII host", true },
        { Obs(""" "subject":{"reference":"https://x.example/fhir/Patient/pa/_history/7"}"""), "absolute versioned", true },
        { Obs(""" "subject":{"reference":"Patient/pa|1.0"}"""), "canonical version bar", true },
        { Obs(""" "subject":{"reference":"Patient/pab"}"""), "id prefix", false },
        { Obs(""" "subject":{"reference":"Patient/p"}"""), "id shorter", false },
        { Obs(""" "subject":{"reference":"XPatient/pa"}"""), "type suffix", false },
        { Obs(""" "subject":{"reference":"patient/pa"}"""), "type case", false },
        { Obs(""" "subject":{"reference":"Patient/pa/"}"""), "trailing slash", false },
        { Obs(""" "subject":{"reference":"#pa"}"""), "contained reference", false },
        { Obs(""" "subject":{"reference":""}"""), "empty", false },
        { Obs(""" "subject":{"reference":"Patient/pä"}"""), "id not an id", false },
        { Obs(""" "subject":{"reference":"Patient/pb","extension":[{"url":"x","valueReference":{"reference":"Patient/pa"}}]}"""), "in an extension of the link", false },
        { Obs(""" "extension":[{"url":"x","valueReference":{"reference":"Patient/pa"}}],"subject":{"reference":"Patient/pb"}"""), "in a resource extension", false },
        { Obs(""" "contained":[{"resourceType":"Observation","id":"c","subject":{"reference":"Patient/pa"}}],"subject":{"reference":"#c"}"""), "in a contained resource", false },
        { Obs(""" "_subject":{"reference":"Patient/pa"}"""), "primitive extension member", false },
        { Obs(""" "code":{"subject":{"reference":"Patient/pa"}}"""), "link name nested elsewhere", false },
        { Obs(""" "reference":"Patient/pa" """), "reference at the root", false },
        { Obs(""" "subject":{"subject":{"reference":"Patient/pa"}}"""), "one level too deep", false },
        { Obs(""" "performer":[[{"reference":"Patient/pa"}]]"""), "nested array", false },
        { Obs(""" "subject":[{"reference":"Patient/pa"}]"""), "array where an object is expected", true },
        { Obs(""" "performer":[1,"Patient/pa",null,true,[],{},{"reference":"Patient/pa"}]"""), "after non-object items", true },
        { Obs(""" "subject":{"reference":{"reference":"Patient/pa"}}"""), "reference not a string", false },
        { Obs(""" "subject":{"reference":["Patient/pa"]}"""), "reference an array", false },
        { Obs(""" "subject":{"reference":7}"""), "reference a number", false },
        { Obs(""" "subject":null"""), "null link", false },
        { Obs(""" "subject":"Patient/pa" """), "link a string", false },
        { Obs(""" "note":[{"text":"[{\"subject\":{\"reference\":\"Patient/pa\"}}]"}],"subject":{"reference":"Patient/pb"}"""), "JSON inside a string", false },
        { Obs("\"component\":[" + string.Join(',', Enumerable.Repeat("""{"code":{"coding":[{"system":"s","code":"c"}]},"valueQuantity":{"value":1.5}}""", 200)) + "],\"subject\":{\"reference\":\"Patient/pa\"}"), "after a large array", true },
        { Obs(""" "subject":{"reference":"https://x.example/""" + new string('a', 2000) + """/Patient/pa"}"""), "long reference", true },
        { Obs(""" "subject":{"reference":"https://x.example/""" + new string('a', 2000) + """/Patient/pb"}"""), "long reference, other patient", false },
        { Obs(""" "subject":{"reference":"Patient/pa"},"subject":{"reference":"Patient/pb"}"""), "duplicate link member: the last counts", false },
        { Obs(""" "subject":{"reference":"Patient/pb"},"subject":{"reference":"Patient/pa"}"""), "duplicate link member, last matches", true },
        { Obs(""" "subject":{"reference":"Patient/pa"},"subject":null"""), "duplicate link member, last null", false },
        { Obs(""" "performer":[{"reference":"Patient/pa"}],"performer":[]"""), "duplicate array member, last empty", false },
        { Obs(""" "subject":{"reference":"Patient/pa","reference":"Patient/pb"}"""), "duplicate reference: the last counts", false },
        { Obs(""" "subject":{"reference":"Patient/pb","reference":"Patient/pa"}"""), "duplicate reference, last matches", true },
        { Obs(""" "subject":{"reference":"Patient/pa","reference":7}"""), "duplicate reference, last not a string", false },
        { Obs(""" "subject":{"reference":"Patient/pb"},"performer":[{"reference":"Patient/pa"}],"subject":{"reference":"Patient/pc"}"""), "duplicate of another link", true },
        { """{"resourceType":"Appointment","id":"1","status":"booked","participant":[{"actor":{"reference":"Patient/pa"},"status":"accepted"}]}""", "nested path", true },
        { """{"resourceType":"Appointment","id":"1","status":"booked","participant":{"actor":{"reference":"Patient/pa"}}}""", "nested path, object", true },
        { """{"resourceType":"Appointment","id":"1","status":"booked","participant":[[{"actor":{"reference":"Patient/pa"}}]]}""", "nested path, nested array", false },
        { """{"resourceType":"Appointment","id":"1","status":"booked","participant":[{"actor":[{"reference":"Patient/pb"},{"reference":"Patient/pa"}]}]}""", "nested path, arrays at both levels", true },
        { """{"resourceType":"Appointment","id":"1","status":"booked","actor":{"reference":"Patient/pa"}}""", "nested path, missing first step", false },
        { """{"resourceType":"AuditEvent","id":"1","agent":[{"who":{"reference":"Device/pa"}},{"who":{"reference":"Patient/pa"}}]}""", "where(resolve() is Patient)", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Stored_json_check_keeps_the_walk_semantics(string json, string why, bool expected)
    {
        var type = json.Contains("\"Appointment\"", StringComparison.Ordinal) ? "Appointment"
            : json.Contains("\"AuditEvent\"", StringComparison.Ordinal) ? "AuditEvent" : "Observation";
        var stored = new StoredResource(type, "o1", 1, DateTimeOffset.UtcNow, false, "PUT", json);
        Assert.True(expected == _membership.IsInCompartment(stored, "Patient", "pa"), why);
        Assert.False(_membership.IsInCompartment(stored, "Patient", "pz"), why);
    }

    [Fact]
    public void An_id_that_is_no_fhir_id_matches_nothing()
    {
        var stored = new StoredResource("Observation", "o1", 1, DateTimeOffset.UtcNow, false, "PUT", Obs(""" "subject":{"reference":"Patient/p a"}"""));
        Assert.False(_membership.IsInCompartment(stored, "Patient", "p a"));
        Assert.False(_membership.IsInCompartment(stored, "Patient", "p"));
    }

    [Fact]
    public void Other_compartments_use_their_own_links()
    {
        var stored = new StoredResource("Observation", "o1", 1, DateTimeOffset.UtcNow, false, "PUT",
            Obs(""" "subject":{"reference":"Patient/pa"},"encounter":{"reference":"Encounter/e1"},"performer":[{"reference":"Practitioner/d1"}]"""));
        Assert.True(_membership.IsInCompartment(stored, "Encounter", "e1"));
        Assert.False(_membership.IsInCompartment(stored, "Encounter", "pa"));
        Assert.True(_membership.IsInCompartment(stored, "Practitioner", "d1"));
        Assert.False(_membership.IsInCompartment(stored, "Device", "d1"));
    }

    [Theory]
    [InlineData(""" "subject":{"reference":"Patient/pb"},""")]
    [InlineData(""" "subject":{"reference":"Patient/pa"},""")]
    [InlineData(""" "subject":{"reference":"Patient/pa"}} """)]
    [InlineData(""" "subject":{"reference":"Patient/pa"}}x""")]
    public void Malformed_json_throws(string members)
    {
        var stored = new StoredResource("Observation", "o1", 1, DateTimeOffset.UtcNow, false, "PUT", Obs(members));
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => _membership.IsInCompartment(stored, "Patient", "pa"));
    }
}
