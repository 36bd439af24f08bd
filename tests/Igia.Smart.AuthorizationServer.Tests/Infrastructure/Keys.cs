using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Smart.AuthorizationServer.Tests.Infrastructure;

/// <summary>A client's signing key (RS384 or ES384) with its public JWK, and client assertions signed with it.</summary>
public sealed class ClientKey
{
    private ClientKey(SecurityKey privateKey, JsonObject publicJwk, string alg)
    {
        PrivateKey = privateKey;
        PublicJwk = publicJwk;
        Alg = alg;
    }

    public SecurityKey PrivateKey { get; }

    public JsonObject PublicJwk { get; }

    public string Alg { get; }

    public string Kid => PrivateKey.KeyId;

    public static string Typ { get; set; } = "JWT";

    public static ClientKey Rsa(string kid)
    {
        var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        var jwk = new JsonObject { ["kty"] = "RSA", ["kid"] = kid, ["alg"] = "RS384", ["use"] = "sig", ["n"] = Base64UrlEncoder.Encode(p.Modulus), ["e"] = Base64UrlEncoder.Encode(p.Exponent) };
        return new ClientKey(new RsaSecurityKey(rsa) { KeyId = kid }, jwk, SecurityAlgorithms.RsaSha384);
    }

    public static ClientKey Ec(string kid)
    {
        var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var p = ec.ExportParameters(false);
        var jwk = new JsonObject { ["kty"] = "EC", ["kid"] = kid, ["alg"] = "ES384", ["use"] = "sig", ["crv"] = "P-384", ["x"] = Base64UrlEncoder.Encode(p.Q.X), ["y"] = Base64UrlEncoder.Encode(p.Q.Y) };
        return new ClientKey(new ECDsaSecurityKey(ec) { KeyId = kid }, jwk, SecurityAlgorithms.EcdsaSha384);
    }

    public static string Jwks(params ClientKey[] keys) => new JsonObject { ["keys"] = new JsonArray(keys.Select(k => (JsonNode)k.PublicJwk.DeepClone()).ToArray()) }.ToJsonString();

    /// <summary>A client assertion: iss = sub = clientId, aud = token URL, fresh jti, exp = now + lifetime.</summary>
    public string Assertion(string clientId, string audience, TimeSpan? lifetime = null, string? jti = null, string? alg = null, IDictionary<string, object>? extraHeaders = null, bool includeKid = true)
    {
        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + (lifetime ?? TimeSpan.FromMinutes(4)),
            Claims = new Dictionary<string, object> { ["sub"] = clientId, ["jti"] = jti ?? Guid.NewGuid().ToString("N") },
            // No signature-provider cache: IdentityModel caches providers by key material, and another test may have signed
            // with (and disposed) an RSA object holding the same key.
            SigningCredentials = new SigningCredentials(PrivateKey, alg ?? Alg) { CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false } },
            AdditionalHeaderClaims = extraHeaders,
            TokenType = Typ,
        };
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var token = handler.CreateToken(descriptor);
        if (!includeKid)
        {
            // Re-sign without kid: build the header by hand.
            var key = PrivateKey;
            var clone = key is RsaSecurityKey r ? (SecurityKey)new RsaSecurityKey(r.Rsa) : new ECDsaSecurityKey(((ECDsaSecurityKey)key).ECDsa);
            descriptor.SigningCredentials = new SigningCredentials(clone, alg ?? Alg) { CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false } };
            token = handler.CreateToken(descriptor);
        }

        return token;
    }
}
