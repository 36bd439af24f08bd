using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Serialization;

namespace Igia.Fhir.Tests.Serialization;

public sealed class FhirFormatsTests
{
    [Theory]
    [InlineData("""{"resourceType":"Parameters"}""")]
    [InlineData("""{"resourceType":"Patient","id":"x"}""")]
    public void ParseJson_EmptyResource_IsAccepted(string json)
    {
        var resource = FhirFormats.ParseJson(Encoding.UTF8.GetBytes(json));
        Assert.False(string.IsNullOrEmpty(resource.TypeName));
    }

    [Fact]
    public void ParseXml_EmptyResource_IsAccepted()
    {
        var resource = FhirFormats.ParseXml(new MemoryStream(Encoding.UTF8.GetBytes("""<Parameters xmlns="http://hl7.org/fhir"/>""")));
        Assert.IsType<Parameters>(resource);
    }

    [Theory]
    [InlineData("""{"resourceType":"Patient","name":[{}]}""")]
    [InlineData("""{"resourceType":"Patient","name":{}}""")]
    [InlineData("""{"resourceType":"Patient","birthDate":"yesterday"}""")]
    [InlineData("""{"resourceType":"Patient","active":"yes"}""")]
    [InlineData("""{"resourceType":"Patient","unknownElement":1}""")]
    [InlineData("""{"resourceType":"NotAType"}""")]
    [InlineData("""{"resourceType":"Patient",""")]
    [InlineData("""[]""")]
    public void ParseJson_InvalidFhir_Throws400NamingTheProblem(string json)
    {
        var e = Assert.Throws<FhirException>(() => FhirFormats.ParseJson(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(HttpStatusCode.BadRequest, e.StatusCode);
        Assert.False(string.IsNullOrWhiteSpace(e.Outcome.Issue[0].Diagnostics));
    }
}
