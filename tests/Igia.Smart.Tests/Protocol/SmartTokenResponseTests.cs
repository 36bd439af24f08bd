using System.Text.Json;
using Igia.Smart.Protocol;

namespace Igia.Smart.Tests.Protocol;

public sealed class SmartTokenResponseTests
{
    [Fact]
    public void Parse_FullSmartResponse_TokensScopesAndContextRead()
    {
        var response = Parse("""
            {"access_token":"at-123","token_type":"bearer","expires_in":"3600","refresh_token":"rt-1","id_token":"a.b.c",
             "scope":"launch openid patient/*.rs","patient":"123","encounter":"e-9",
             "fhirContext":[{"reference":"DiagnosticReport/7","role":"https://example.org/focus"},"Observation/3",{"canonical":"http://q|1","type":"Questionnaire"}],
             "need_patient_banner":"true","smart_style_url":"https://ehr/style.json","intent":"summary","tenant":"t1","custom":{"a":1}}
            """);

        Assert.Equal("at-123", response.AccessToken);
        Assert.Equal(TimeSpan.FromHours(1), response.ExpiresIn);
        Assert.Equal(["launch", "openid", "patient/*.rs"], response.GrantedScopes.Select(s => s.Value));
        var context = response.LaunchContext;
        Assert.Equal("123", context.Patient);
        Assert.Equal("Patient/123", context.PatientReference);
        Assert.Equal("Encounter/e-9", context.EncounterReference);
        Assert.Equal(3, context.FhirContext.Count);
        Assert.Equal("DiagnosticReport", context.FhirContext[0].ResourceType);
        Assert.Equal("Observation/3", context.FhirContext[1].Reference);
        Assert.Equal("Questionnaire", context.FhirContext[2].ResourceType);
        Assert.True(context.NeedPatientBanner);
        Assert.Equal(new Uri("https://ehr/style.json"), context.SmartStyleUrl);
        Assert.Equal("summary", context.Intent);
        Assert.Equal("t1", context.Tenant);
        Assert.Equal(1, context.AdditionalParameters["custom"].GetProperty("a").GetInt32());
        Assert.False(context.AdditionalParameters.ContainsKey("access_token"));
        Assert.DoesNotContain("at-123", response.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("rt-1", response.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"token_type":"Bearer"}""", SmartErrorCode.AccessTokenMissing)]
    [InlineData("""{"access_token":"","token_type":"Bearer"}""", SmartErrorCode.AccessTokenMissing)]
    [InlineData("""{"access_token":"x"}""", SmartErrorCode.TokenTypeNotBearer)]
    [InlineData("""{"access_token":"x","token_type":"DPoP"}""", SmartErrorCode.TokenTypeNotBearer)]
    [InlineData("""["access_token"]""", SmartErrorCode.TokenResponseMalformed)]
    public void Parse_BadResponse_RefusedNamingTheCheck(string json, SmartErrorCode code)
    {
        var e = Assert.Throws<SmartException>(() => Parse(json));

        Assert.Equal(code, e.Code);
    }

    [Fact]
    public void CheckName_EveryCode_SnakeCase()
    {
        Assert.Equal("state_reused", SmartException.ToCheckName(SmartErrorCode.StateReused));
        Assert.Equal("id_token_unknown_key", SmartException.ToCheckName(SmartErrorCode.IdTokenUnknownKey));
        Assert.All(Enum.GetValues<SmartErrorCode>(), c => Assert.Matches("^[a-z]+(_[a-z]+)*$", SmartException.ToCheckName(c)));
    }

    private static SmartTokenResponse Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return SmartTokenResponse.Parse(document.RootElement.Clone());
    }
}
