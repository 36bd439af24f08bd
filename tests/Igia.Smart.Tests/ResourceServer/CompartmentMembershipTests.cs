using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Fhir.Search;
using Igia.Fhir.Storage;

namespace Igia.Smart.Tests.ResourceServer;

/// <summary>
/// Compartment membership as the resource server uses it: the stored-JSON walk (used for reads) must agree with the FHIRPath
/// evaluation on the parsed resource (used for search results) on every R4 Patient-compartment link, and follow the
/// CompartmentDefinition exactly (a reference in a non-linking element does not make a resource the patient's).
/// </summary>
public sealed class CompartmentMembershipTests
{
    private static readonly JsonSerializerOptions Json = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);
    private readonly FhirCompartmentMembership _membership = new(new SearchParameterRegistry());

    public static TheoryData<string, string, bool> Cases() => new()
    {
        { """{"resourceType":"Observation","id":"1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pa"}}""", "subject", true },
        { """{"resourceType":"Observation","id":"1","status":"final","code":{"text":"x"},"performer":[{"reference":"Practitioner/d"},{"reference":"Patient/pa"}]}""", "performer", true },
        { """{"resourceType":"Observation","id":"1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pb"},"focus":[{"reference":"Patient/pa"}]}""", "focus is no link", false },
        { """{"resourceType":"Observation","id":"1","status":"final","code":{"text":"x"},"subject":{"reference":"http://other.example/fhir/Patient/pa/_history/3"}}""", "absolute, versioned", true },
        { """{"resourceType":"Observation","id":"1","status":"final","code":{"text":"x"},"subject":{"reference":"Group/pa"}}""", "wrong type", false },
        { """{"resourceType":"Encounter","id":"1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/pa"}}""", "encounter", true },
        { """{"resourceType":"Condition","id":"1","subject":{"reference":"Patient/pb"},"asserter":{"reference":"Patient/pa"}}""", "asserter", true },
        { """{"resourceType":"AuditEvent","id":"1","type":{"code":"x"},"recorded":"2024-01-01T00:00:00Z","agent":[{"requestor":true,"who":{"reference":"Patient/pa"}}],"source":{"observer":{"reference":"Device/d"}}}""", "where(resolve() is Patient)", true },
        { """{"resourceType":"Provenance","id":"1","target":[{"reference":"Patient/pa"}],"recorded":"2024-01-01T00:00:00Z","agent":[{"who":{"reference":"Practitioner/d"}}]}""", "provenance target", true },
        { """{"resourceType":"Provenance","id":"1","target":[{"reference":"Observation/pa"}],"recorded":"2024-01-01T00:00:00Z","agent":[{"who":{"reference":"Practitioner/d"}}]}""", "target not a Patient", false },
        { """{"resourceType":"Appointment","id":"1","status":"booked","participant":[{"actor":{"reference":"Patient/pa"},"status":"accepted"}]}""", "nested path", true },
        { """{"resourceType":"MedicationRequest","id":"1","status":"active","intent":"order","medicationReference":{"reference":"Medication/m"},"subject":{"reference":"Patient/pb"}}""", "other patient", false },
        { """{"resourceType":"Patient","id":"pa"}""", "itself", true },
        { """{"resourceType":"Patient","id":"pb","link":[{"other":{"reference":"Patient/pa"},"type":"seealso"}]}""", "linked patient", false },
        { """{"resourceType":"Medication","id":"pa"}""", "not a compartment type", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Stored_json_and_parsed_resource_agree(string json, string why, bool expected)
    {
        var resource = JsonSerializer.Deserialize<Resource>(json, Json)!;
        var stored = new StoredResource(resource.TypeName, resource.Id!, 1, DateTimeOffset.UtcNow, false, "PUT", json);
        Assert.True(expected == _membership.IsInCompartment(resource, "Patient", "pa"), why);
        Assert.True(expected == _membership.IsInCompartment(stored, "Patient", "pa"), why);
    }

    [Theory]
    [InlineData("Observation", "patient", "pa", true)]
    [InlineData("Observation", "patient", "Patient/pa", true)]
    [InlineData("Observation", "subject", "Patient/pa", true)]
    [InlineData("Observation", "performer", "Patient/pa", true)]
    [InlineData("Encounter", "patient", "pa", true)]
    [InlineData("Observation", "subject", "pa", false)] // a bare id on a parameter that may refer to a Group too
    [InlineData("Observation", "patient", "pb", false)]
    [InlineData("Observation", "patient", "pa,pb", false)]
    [InlineData("Observation", "patient", "Group/pa", false)]
    [InlineData("Observation", "patient", "http://other.example/fhir/Patient/pa", false)]
    [InlineData("Observation", "patient:Patient", "pa", false)]
    [InlineData("Observation", "patient.name", "pa", false)]
    [InlineData("Observation", "focus", "Patient/pa", false)] // a reference in a non-linking element
    [InlineData("Observation", "_id", "pa", false)]
    [InlineData("Patient", "link", "Patient/pa", false)]
    [InlineData("Observation", "nonsense", "pa", false)]
    public void A_parameter_confines_a_search_to_the_compartment_only_when_it_provably_does(string type, string name, string value, bool expected)
    {
        Assert.Equal(expected, _membership.ParameterConfinesToCompartment(type, name, value, "Patient", "pa"));
        Assert.Equal(expected, _membership.ParameterConfinesToCompartment(type, name, value, "Patient", "pa")); // remembered
    }
}
