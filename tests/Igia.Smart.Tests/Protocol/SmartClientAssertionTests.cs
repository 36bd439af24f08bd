using Igia.Smart.Protocol;
using Igia.Smart.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Smart.Tests.Protocol;

public sealed class SmartClientAssertionTests
{
    private static readonly Uri TokenEndpoint = new("https://auth.example.org/token");

    [Theory]
    [InlineData(SmartSigningAlgorithm.RS384)]
    [InlineData(SmartSigningAlgorithm.ES384)]
    public async Task Create_AnyKey_SmartHeaderAndClaimsAndVerifiableSignature(SmartSigningAlgorithm algorithm)
    {
        using var key = SmartSigningKey.Generate(algorithm, "kid-1");
        var clock = new ManualTimeProvider();

        var before = clock.GetUtcNow().UtcDateTime;
        var assertion = SmartClientAssertion.Create("client-1", TokenEndpoint, key, TimeSpan.FromMinutes(5), clock);
        var after = clock.GetUtcNow().UtcDateTime;

        var jwt = new JsonWebToken(assertion);
        Assert.Equal(key.AlgorithmName, jwt.Alg);
        Assert.Equal("kid-1", jwt.Kid);
        Assert.Equal("JWT", jwt.Typ);
        Assert.Equal("client-1", jwt.Issuer);
        Assert.Equal("client-1", jwt.Subject);
        Assert.Equal([TokenEndpoint.AbsoluteUri], jwt.Audiences);
        Assert.Equal(TimeSpan.FromMinutes(5), jwt.ValidTo - jwt.IssuedAt);
        // iat is in whole seconds: from the start of the second in which Create began to when it returned. (A window around
        // the clock read after the other checks failed on a loaded machine, where those checks took over a second.)
        Assert.InRange(jwt.IssuedAt, before.AddTicks(-(before.Ticks % TimeSpan.TicksPerSecond)), after);
        Assert.Equal(22, jwt.Id.Length);
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(assertion, new TokenValidationParameters
        {
            IssuerSigningKey = new JsonWebKey(key.GetPublicJwk()),
            ValidIssuer = "client-1",
            ValidAudience = TokenEndpoint.AbsoluteUri,
            ValidAlgorithms = [key.AlgorithmName],
        });
        Assert.True(result.IsValid, result.Exception?.Message);
    }

    [Fact]
    public void Create_ManyAssertions_UniqueJti()
    {
        using var key = SmartSigningKey.Generate(SmartSigningAlgorithm.ES384);

        var ids = Enumerable.Range(0, 200).Select(_ => new JsonWebToken(SmartClientAssertion.Create("c", TokenEndpoint, key)).Id).ToHashSet();

        Assert.Equal(200, ids.Count);
    }

    [Theory]
    [InlineData(301)]
    [InlineData(0)]
    [InlineData(-5)]
    public void Create_LifetimeOutsideFiveMinutes_Refused(int seconds)
    {
        using var key = SmartSigningKey.Generate(SmartSigningAlgorithm.RS384);

        Assert.Throws<ArgumentOutOfRangeException>(() => SmartClientAssertion.Create("c", TokenEndpoint, key, TimeSpan.FromSeconds(seconds)));
    }
}
