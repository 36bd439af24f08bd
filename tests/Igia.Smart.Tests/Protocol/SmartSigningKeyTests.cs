using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Igia.Smart.Protocol;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Smart.Tests.Protocol;

public sealed class SmartSigningKeyTests
{
    [Fact]
    public void FromPem_RsaPkcs8AndPkcs1_Rs384WithThumbprintKid()
    {
        using var rsa = RSA.Create(2048);

        using var pkcs8 = SmartSigningKey.FromPem(rsa.ExportPkcs8PrivateKeyPem());
        using var pkcs1 = SmartSigningKey.FromPem(rsa.ExportRSAPrivateKeyPem());

        Assert.Equal(SmartSigningAlgorithm.RS384, pkcs8.Algorithm);
        Assert.Equal("RS384", pkcs8.AlgorithmName);
        Assert.Equal(pkcs8.KeyId, pkcs1.KeyId);
        var expected = Base64UrlEncoder.Encode(new RsaSecurityKey(rsa.ExportParameters(false)).ComputeJwkThumbprint());
        Assert.Equal(expected, pkcs8.KeyId);
    }

    [Fact]
    public void FromPem_EcP384Sec1AndPkcs8_Es384()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        using var sec1 = SmartSigningKey.FromPem(ec.ExportECPrivateKeyPem(), "my-kid");
        using var pkcs8 = SmartSigningKey.FromPem(ec.ExportPkcs8PrivateKeyPem());

        Assert.Equal(SmartSigningAlgorithm.ES384, sec1.Algorithm);
        Assert.Equal("my-kid", sec1.KeyId);
        Assert.Equal(SmartSigningAlgorithm.ES384, pkcs8.Algorithm);
    }

    [Fact]
    public void FromPem_EcP256_RefusedBecauseEs384NeedsP384()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var e = Assert.Throws<SmartException>(() => SmartSigningKey.FromPem(ec.ExportPkcs8PrivateKeyPem()));

        Assert.Equal(SmartErrorCode.InvalidSigningKey, e.Code);
        Assert.Contains("P-384", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPem_Rsa1024_RefusedAsTooShort()
    {
        using var rsa = RSA.Create(1024);

        var e = Assert.Throws<SmartException>(() => SmartSigningKey.FromPem(rsa.ExportPkcs8PrivateKeyPem()));

        Assert.Contains("2048", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPem_PublicKeyOrGarbage_Refused()
    {
        using var rsa = RSA.Create(2048);

        Assert.Equal(SmartErrorCode.InvalidSigningKey, Assert.Throws<SmartException>(() => SmartSigningKey.FromPem(rsa.ExportSubjectPublicKeyInfoPem())).Code);
        Assert.Equal(SmartErrorCode.InvalidSigningKey, Assert.Throws<SmartException>(() => SmartSigningKey.FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")).Code);
    }

    [Theory]
    [InlineData(SmartSigningAlgorithm.RS384)]
    [InlineData(SmartSigningAlgorithm.ES384)]
    public void FromJwk_PrivateJwk_SameKeyAndKid(SmartSigningAlgorithm algorithm)
    {
        using var original = SmartSigningKey.Generate(algorithm, "jwk-kid");
        var jwk = PrivateJwk(original, algorithm);

        using var loaded = SmartSigningKey.FromJwk(jwk.ToJsonString());

        Assert.Equal("jwk-kid", loaded.KeyId);
        Assert.Equal(algorithm, loaded.Algorithm);
        Assert.Equal(JsonNode.Parse(original.GetPublicJwk())!.ToJsonString(), JsonNode.Parse(loaded.GetPublicJwk())!.ToJsonString());
    }

    [Fact]
    public void FromJwk_PublicOnly_RefusedForMissingPrivatePart()
    {
        using var key = SmartSigningKey.Generate(SmartSigningAlgorithm.RS384);

        var e = Assert.Throws<SmartException>(() => SmartSigningKey.FromJwk(key.GetPublicJwk()));

        Assert.Contains("'d'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJwk_AlgOtherThanKeySupports_Refused()
    {
        using var key = SmartSigningKey.Generate(SmartSigningAlgorithm.RS384);
        var jwk = PrivateJwk(key, SmartSigningAlgorithm.RS384);
        jwk["alg"] = "RS256";

        Assert.Equal(SmartErrorCode.InvalidSigningKey, Assert.Throws<SmartException>(() => SmartSigningKey.FromJwk(jwk.ToJsonString())).Code);
    }

    [Fact]
    public void FromCertificate_RsaAndEcCertificates_AlgorithmFromKey()
    {
        using var rsa = RSA.Create(2048);
        using var rsaCertificate = new CertificateRequest("CN=rs", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var ecCertificate = new CertificateRequest("CN=es", ec, HashAlgorithmName.SHA384).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));

        using var rs = SmartSigningKey.FromCertificate(rsaCertificate);
        using var es = SmartSigningKey.FromCertificate(ecCertificate, "cert-kid");

        Assert.Equal(SmartSigningAlgorithm.RS384, rs.Algorithm);
        Assert.Equal(SmartSigningAlgorithm.ES384, es.Algorithm);
        Assert.Equal("cert-kid", es.KeyId);
        using var publicOnly = X509CertificateLoader.LoadCertificate(rsaCertificate.Export(X509ContentType.Cert));
        Assert.Equal(SmartErrorCode.InvalidSigningKey, Assert.Throws<SmartException>(() => SmartSigningKey.FromCertificate(publicOnly)).Code);
    }

    [Fact]
    public void GetPublicJwk_AnyKey_NoPrivateMembersAndJwksHoldsAll()
    {
        using var rs = SmartSigningKey.Generate(SmartSigningAlgorithm.RS384);
        using var es = SmartSigningKey.Generate(SmartSigningAlgorithm.ES384);

        var jwk = JsonNode.Parse(es.GetPublicJwk())!.AsObject();
        var jwks = JsonNode.Parse(SmartSigningKey.CreateJwks(rs, es))!["keys"]!.AsArray();

        Assert.False(jwk.ContainsKey("d"));
        Assert.Equal("P-384", jwk["crv"]!.GetValue<string>());
        Assert.Equal("ES384", jwk["alg"]!.GetValue<string>());
        Assert.Equal(2, jwks.Count);
        Assert.DoesNotContain("\"d\"", SmartSigningKey.CreateJwks(rs, es), StringComparison.Ordinal);
        Assert.Contains("private key hidden", rs.ToString(), StringComparison.Ordinal);
    }

    private static JsonObject PrivateJwk(SmartSigningKey key, SmartSigningAlgorithm algorithm)
    {
        var jwk = JsonNode.Parse(key.GetPublicJwk())!.AsObject();
        var credentials = key.Credentials.Key;
        if (algorithm == SmartSigningAlgorithm.RS384)
        {
            var p = ((RsaSecurityKey)credentials).Rsa.ExportParameters(true);
            jwk["d"] = Base64UrlEncoder.Encode(p.D);
            jwk["p"] = Base64UrlEncoder.Encode(p.P);
            jwk["q"] = Base64UrlEncoder.Encode(p.Q);
            jwk["dp"] = Base64UrlEncoder.Encode(p.DP);
            jwk["dq"] = Base64UrlEncoder.Encode(p.DQ);
            jwk["qi"] = Base64UrlEncoder.Encode(p.InverseQ);
        }
        else
        {
            jwk["d"] = Base64UrlEncoder.Encode(((ECDsaSecurityKey)credentials).ECDsa.ExportParameters(true).D);
        }

        return jwk;
    }
}
