using Igia.Smart.Protocol;
using Igia.Smart.Protocol.Internal;

namespace Igia.Smart.Tests.Protocol;

public sealed class SmartConfigurationTests
{
    [Fact]
    public void Parse_WellKnownDocument_EndpointsListsAndCapabilities()
    {
        var configuration = SmartConfiguration.Parse("""
            {"issuer":"https://auth.example.org","jwks_uri":"https://auth.example.org/jwks","authorization_endpoint":"https://auth.example.org/authorize",
             "token_endpoint":"https://auth.example.org/token","grant_types_supported":["authorization_code","client_credentials"],
             "token_endpoint_auth_methods_supported":["private_key_jwt"],"token_endpoint_auth_signing_alg_values_supported":["RS384","ES384"],
             "code_challenge_methods_supported":["S256"],"capabilities":["launch-ehr","client-public",7,""]}
            """);

        Assert.Equal("https://auth.example.org", configuration.Issuer);
        Assert.Equal(new Uri("https://auth.example.org/jwks"), configuration.JwksUri);
        Assert.Equal(new Uri("https://auth.example.org/token"), configuration.TokenEndpoint);
        Assert.Equal(["launch-ehr", "client-public"], configuration.Capabilities);
        Assert.True(configuration.HasCapability(SmartCapabilities.LaunchEhr));
        Assert.False(configuration.HasCapability(SmartCapabilities.LaunchStandalone));
        Assert.True(configuration.DeclaresCapabilities);
        Assert.Equal(["RS384", "ES384"], configuration.TokenEndpointAuthSigningAlgValuesSupported);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"token_endpoint":"/relative"}""")]
    [InlineData("""{"token_endpoint":"ftp://x/token"}""")]
    [InlineData("not json")]
    [InlineData("[]")]
    public void Parse_NoUsableTokenEndpoint_DiscoveryFailed(string json)
    {
        var e = Assert.Throws<SmartException>(() => SmartConfiguration.Parse(json));

        Assert.Equal(SmartErrorCode.DiscoveryFailed, e.Code);
    }

    [Fact]
    public void FromCapabilityStatement_NoOAuthUris_Null()
    {
        Assert.Null(SmartDiscovery.FromCapabilityStatement("""{"resourceType":"CapabilityStatement","rest":[{"mode":"server"}]}"""));
        Assert.Null(SmartDiscovery.FromCapabilityStatement("<xml/>"));
    }
}
