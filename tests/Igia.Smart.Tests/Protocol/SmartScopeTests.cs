using Igia.Smart.Protocol;

namespace Igia.Smart.Tests.Protocol;

public sealed class SmartScopeTests
{
    [Theory]
    [InlineData("patient/Observation.read", "patient", "Observation", "read", false, null)]
    [InlineData("user/*.*", "user", "*", "*", false, null)]
    [InlineData("system/Patient.write", "system", "Patient", "write", false, null)]
    [InlineData("patient/Observation.rs", "patient", "Observation", "rs", true, null)]
    [InlineData("user/*.cruds", "user", "*", "cruds", true, null)]
    [InlineData("system/Patient.c", "system", "Patient", "c", true, null)]
    [InlineData("patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory", "patient", "Observation", "rs", true, "category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory")]
    [InlineData("patient/Condition.rs?category=problem-list-item&clinical-status=active", "patient", "Condition", "rs", true, "category=problem-list-item&clinical-status=active")]
    public void Parse_ResourceScope_PartsRead(string value, string context, string type, string permissions, bool v2, string? query)
    {
        var scope = SmartScope.Parse(value);

        Assert.Equal(SmartScopeKind.Resource, scope.Kind);
        Assert.Equal(context, scope.Context);
        Assert.Equal(type, scope.ResourceType);
        Assert.Equal(permissions, scope.Permissions);
        Assert.Equal(v2, scope.IsV2);
        Assert.Equal(query, scope.Query);
        Assert.Equal(value, scope.ToString());
    }

    [Theory]
    [InlineData("launch", SmartScopeKind.Launch)]
    [InlineData("launch/patient", SmartScopeKind.LaunchContext)]
    [InlineData("launch/encounter", SmartScopeKind.LaunchContext)]
    [InlineData("openid", SmartScopeKind.OpenId)]
    [InlineData("fhirUser", SmartScopeKind.FhirUser)]
    [InlineData("profile", SmartScopeKind.Profile)]
    [InlineData("offline_access", SmartScopeKind.OfflineAccess)]
    [InlineData("online_access", SmartScopeKind.OnlineAccess)]
    [InlineData("https://example.org/custom", SmartScopeKind.Other)]
    public void Parse_NonResourceScope_KindRecognised(string value, SmartScopeKind kind) =>
        Assert.Equal(kind, SmartScope.Parse(value).Kind);

    [Theory]
    [InlineData("patient/Observation.sr", "cruds")]
    [InlineData("patient/Observation.rr", "cruds")]
    [InlineData("patient/Observation.rx", "cruds")]
    [InlineData("patient/observation.rs", "resource type")]
    [InlineData("patient/Obs-ervation.rs", "resource type")]
    [InlineData("patient/Observation", "[permissions]")]
    [InlineData("patient/.rs", "[permissions]")]
    [InlineData("patient/Observation.read?category=x", "v1")]
    [InlineData("patient/Observation.rs?", "after '?'")]
    [InlineData("patient/Observation.rs?category", "after '?'")]
    [InlineData("launch/", "no launch context")]
    [InlineData("patient/Observation.rs\"", "character")]
    [InlineData("patiënt/Observation.rs", "character")]
    public void Parse_Malformed_FormatExceptionSaysWhy(string value, string expected)
    {
        var e = Assert.Throws<FormatException>(() => SmartScope.Parse(value));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseList_RepeatsAndExtraSpaces_EachScopeOnceInOrder()
    {
        var scopes = SmartScope.ParseList("  openid  fhirUser openid patient/*.rs  ");

        Assert.Equal(["openid", "fhirUser", "patient/*.rs"], scopes.Select(s => s.Value));
        Assert.Equal("openid fhirUser patient/*.rs", SmartScope.Join(scopes));
        Assert.Empty(SmartScope.ParseList(null));
    }

    [Fact]
    public void Equals_SameValue_EqualAndSameHash()
    {
        Assert.Equal(SmartScope.Parse("patient/*.rs"), SmartScope.Parse("patient/*.rs"));
        Assert.Equal(SmartScope.Parse("patient/*.rs").GetHashCode(), SmartScope.Parse("patient/*.rs").GetHashCode());
        Assert.NotEqual(SmartScope.Parse("patient/*.rs"), SmartScope.Parse("patient/*.read"));
    }
}
