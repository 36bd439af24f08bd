using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Smart.Protocol;

/// <summary>The JWS algorithms SMART requires for client assertions.</summary>
public enum SmartSigningAlgorithm
{
    /// <summary>RSASSA-PKCS1-v1_5 with SHA-384 (an RSA key of at least 2048 bits).</summary>
    RS384,

    /// <summary>ECDSA on P-384 with SHA-384.</summary>
    ES384,
}

/// <summary>
/// The private key a confidential-asymmetric SMART client (or a Backend Services client) signs its <c>private_key_jwt</c>
/// client assertions with: RS384 (RSA, 2048 bits or more) or ES384 (EC P-384), loaded from PEM, a JWK or an X.509 certificate.
/// The key id (<c>kid</c>) is the one given, the JWK's own, or else the RFC 7638 thumbprint of the public key; register the
/// key's public JWK (<see cref="GetPublicJwk"/>) with the authorization server under the same <c>kid</c>.
/// </summary>
public sealed class SmartSigningKey : IDisposable
{
    private readonly AsymmetricAlgorithm _key;

    private SmartSigningKey(AsymmetricAlgorithm key, SmartSigningAlgorithm algorithm, string? keyId)
    {
        _key = key;
        Algorithm = algorithm;
        PublicJwk = BuildPublicJwk(key, algorithm);
        KeyId = string.IsNullOrWhiteSpace(keyId) ? Thumbprint(PublicJwk) : keyId;
        SecurityKey securityKey = key is RSA rsa ? new RsaSecurityKey(rsa) { KeyId = KeyId } : new ECDsaSecurityKey((ECDsa)key) { KeyId = KeyId };
        Credentials = new SigningCredentials(securityKey, AlgorithmName);
    }

    /// <summary>The signing algorithm.</summary>
    public SmartSigningAlgorithm Algorithm { get; }

    /// <summary>The algorithm's JWS name, <c>RS384</c> or <c>ES384</c>.</summary>
    public string AlgorithmName => Algorithm == SmartSigningAlgorithm.RS384 ? SecurityAlgorithms.RsaSha384 : SecurityAlgorithms.EcdsaSha384;

    /// <summary>The key id sent as the assertion's <c>kid</c> header.</summary>
    public string KeyId { get; }

    internal SigningCredentials Credentials { get; }

    private Dictionary<string, string> PublicJwk { get; }

    /// <summary>Loads a PKCS#8, PKCS#1 (RSA) or SEC1 (EC) private key from PEM text; RSA keys sign RS384, P-384 keys sign ES384.</summary>
    /// <param name="pem">The PEM text (<c>-----BEGIN PRIVATE KEY-----</c>, <c>RSA PRIVATE KEY</c> or <c>EC PRIVATE KEY</c>).</param>
    /// <param name="keyId">The <c>kid</c>; default: the key's RFC 7638 thumbprint.</param>
    /// <exception cref="SmartException">The PEM holds no usable private key (<see cref="SmartErrorCode.InvalidSigningKey"/>).</exception>
    public static SmartSigningKey FromPem(string pem, string? keyId = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pem);
        var isEc = pem.Contains("EC PRIVATE KEY", StringComparison.Ordinal);
        if (!isEc)
        {
            var rsa = RSA.Create();
            try
            {
                rsa.ImportFromPem(pem);
                return Create(rsa, keyId);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                rsa.Dispose();
            }
        }

        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            return Create(ec, keyId);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            ec.Dispose();
            throw new SmartException(SmartErrorCode.InvalidSigningKey, "The PEM text holds no RSA or EC private key that can be read.", e);
        }
    }

    /// <summary>Loads a private key from a PEM file (see <see cref="FromPem"/>).</summary>
    /// <param name="path">The file.</param>
    /// <param name="keyId">The <c>kid</c>; default: the key's RFC 7638 thumbprint.</param>
    public static SmartSigningKey FromPemFile(string path, string? keyId = null) => FromPem(File.ReadAllText(path), keyId);

    /// <summary>Loads a private key from a JWK (<c>kty</c> RSA or EC P-384, with its private members). Its <c>kid</c> and <c>alg</c> are used when present.</summary>
    /// <param name="jwk">The JWK as JSON.</param>
    /// <exception cref="SmartException">The JWK is not a usable private RSA or P-384 key, or names another algorithm.</exception>
    public static SmartSigningKey FromJwk(string jwk)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jwk);
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(jwk);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new SmartException(SmartErrorCode.InvalidSigningKey, "The JWK is not valid JSON.", e);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new SmartException(SmartErrorCode.InvalidSigningKey, "The JWK is not a JSON object.");
        }

        var kid = Member(root, "kid");
        var alg = Member(root, "alg");
        AsymmetricAlgorithm key;
        try
        {
            switch (Member(root, "kty"))
            {
                case "RSA":
                    var rsaParameters = new RSAParameters
                    {
                        Modulus = Bytes(root, "n"),
                        Exponent = Bytes(root, "e"),
                        D = Bytes(root, "d"),
                        P = Bytes(root, "p"),
                        Q = Bytes(root, "q"),
                        DP = Bytes(root, "dp"),
                        DQ = Bytes(root, "dq"),
                        InverseQ = Bytes(root, "qi"),
                    };
                    if (rsaParameters.D is null)
                    {
                        throw new SmartException(SmartErrorCode.InvalidSigningKey, "The RSA JWK has no private part ('d'); a signing key needs it.");
                    }

                    key = RSA.Create(rsaParameters);
                    break;
                case "EC":
                    if (Member(root, "crv") != "P-384")
                    {
                        throw new SmartException(SmartErrorCode.InvalidSigningKey, "The EC JWK is not on curve P-384, which ES384 requires.");
                    }

                    var ecParameters = new ECParameters
                    {
                        Curve = ECCurve.NamedCurves.nistP384,
                        Q = new ECPoint { X = Bytes(root, "x"), Y = Bytes(root, "y") },
                        D = Bytes(root, "d"),
                    };
                    if (ecParameters.D is null)
                    {
                        throw new SmartException(SmartErrorCode.InvalidSigningKey, "The EC JWK has no private part ('d'); a signing key needs it.");
                    }

                    key = ECDsa.Create(ecParameters);
                    break;
                default:
                    throw new SmartException(SmartErrorCode.InvalidSigningKey, "The JWK's 'kty' is neither 'RSA' nor 'EC'.");
            }
        }
        catch (CryptographicException e)
        {
            throw new SmartException(SmartErrorCode.InvalidSigningKey, "The JWK's key material is invalid.", e);
        }
        catch (FormatException e)
        {
            throw new SmartException(SmartErrorCode.InvalidSigningKey, "The JWK has a member that is not base64url.", e);
        }

        var signingKey = Create(key, kid);
        if (alg is not null && alg != signingKey.AlgorithmName)
        {
            signingKey.Dispose();
            throw new SmartException(SmartErrorCode.InvalidSigningKey, $"The JWK says 'alg' {TextOf(alg)}; SMART client assertions use RS384 (RSA) or ES384 (EC P-384).");
        }

        return signingKey;
    }

    /// <summary>Uses the private key of an X.509 certificate (RSA for RS384, EC P-384 for ES384).</summary>
    /// <param name="certificate">A certificate with its private key.</param>
    /// <param name="keyId">The <c>kid</c>; default: the key's RFC 7638 thumbprint.</param>
    /// <exception cref="SmartException">The certificate has no usable private key.</exception>
    public static SmartSigningKey FromCertificate(X509Certificate2 certificate, string? keyId = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey)
        {
            throw new SmartException(SmartErrorCode.InvalidSigningKey, "The certificate has no private key.");
        }

        AsymmetricAlgorithm? key = certificate.GetRSAPrivateKey();
        key ??= certificate.GetECDsaPrivateKey();
        return key is null
            ? throw new SmartException(SmartErrorCode.InvalidSigningKey, "The certificate's private key is neither RSA nor ECDSA.")
            : Create(key, keyId);
    }

    /// <summary>Generates a new key (RSA 2048 bits for RS384, P-384 for ES384), e.g. for development or tests.</summary>
    /// <param name="algorithm">The algorithm.</param>
    /// <param name="keyId">The <c>kid</c>; default: the key's RFC 7638 thumbprint.</param>
    public static SmartSigningKey Generate(SmartSigningAlgorithm algorithm, string? keyId = null) =>
        algorithm == SmartSigningAlgorithm.RS384
            ? new SmartSigningKey(RSA.Create(2048), algorithm, keyId)
            : new SmartSigningKey(ECDsa.Create(ECCurve.NamedCurves.nistP384), algorithm, keyId);

    /// <summary>The public key as a JWK (with <c>kid</c>, <c>alg</c>, <c>use: sig</c>), to register with the authorization server or publish in a JWKS.</summary>
    public string GetPublicJwk()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            WritePublicJwk(writer);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>A JSON Web Key Set of the public keys of <paramref name="keys"/> (what an app serves at its <c>jwks_uri</c>).</summary>
    /// <param name="keys">The keys.</param>
    public static string CreateJwks(params IEnumerable<SmartSigningKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("keys");
            foreach (var key in keys)
            {
                key.WritePublicJwk(writer);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"SmartSigningKey ({AlgorithmName}, kid {KeyId}; private key hidden)";

    private void WritePublicJwk(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var (name, value) in PublicJwk)
        {
            writer.WriteString(name, value);
        }

        writer.WriteString("kid", KeyId);
        writer.WriteString("alg", AlgorithmName);
        writer.WriteString("use", "sig");
        writer.WriteEndObject();
    }

    private static SmartSigningKey Create(AsymmetricAlgorithm key, string? keyId)
    {
        if (!CanSign(key))
        {
            key.Dispose();
            throw new SmartException(SmartErrorCode.InvalidSigningKey, "The key has no private part, so it cannot sign client assertions.");
        }

        switch (key)
        {
            case RSA rsa:
                if (rsa.KeySize < 2048)
                {
                    rsa.Dispose();
                    throw new SmartException(SmartErrorCode.InvalidSigningKey, $"The RSA key has {rsa.KeySize} bits; RS384 needs at least 2048.");
                }

                return new SmartSigningKey(rsa, SmartSigningAlgorithm.RS384, keyId);
            case ECDsa ec:
                var parameters = ec.ExportParameters(false);
                if (!IsP384(parameters.Curve))
                {
                    ec.Dispose();
                    throw new SmartException(SmartErrorCode.InvalidSigningKey, "The EC key is not on curve P-384, which ES384 requires.");
                }

                return new SmartSigningKey(ec, SmartSigningAlgorithm.ES384, keyId);
            default:
                key.Dispose();
                throw new SmartException(SmartErrorCode.InvalidSigningKey, "The key is neither RSA nor ECDSA.");
        }
    }

    private static bool CanSign(AsymmetricAlgorithm key)
    {
        ReadOnlySpan<byte> probe = [0x69, 0x67, 0x69, 0x61];
        try
        {
            return key switch
            {
                RSA rsa => rsa.SignData(probe, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1).Length > 0,
                ECDsa ec => ec.SignData(probe, HashAlgorithmName.SHA384).Length > 0,
                _ => false,
            };
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static bool IsP384(ECCurve curve) =>
        curve.IsNamed && (curve.Oid.Value == "1.3.132.0.34" || string.Equals(curve.Oid.FriendlyName, "nistP384", StringComparison.OrdinalIgnoreCase)
            || string.Equals(curve.Oid.FriendlyName, "secp384r1", StringComparison.OrdinalIgnoreCase));

    private static Dictionary<string, string> BuildPublicJwk(AsymmetricAlgorithm key, SmartSigningAlgorithm algorithm)
    {
        if (algorithm == SmartSigningAlgorithm.RS384)
        {
            var p = ((RSA)key).ExportParameters(false);
            return new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["kty"] = "RSA",
                ["n"] = Base64UrlEncoder.Encode(p.Modulus!),
                ["e"] = Base64UrlEncoder.Encode(p.Exponent!),
            };
        }

        var q = ((ECDsa)key).ExportParameters(false).Q;
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["kty"] = "EC",
            ["crv"] = "P-384",
            ["x"] = Base64UrlEncoder.Encode(q.X!),
            ["y"] = Base64UrlEncoder.Encode(q.Y!),
        };
    }

    // RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
    private static string Thumbprint(Dictionary<string, string> jwk)
    {
        var members = jwk["kty"] == "RSA" ? new[] { "e", "kty", "n" } : ["crv", "kty", "x", "y"];
        var canonical = "{" + string.Join(',', members.Select(m => $"\"{m}\":\"{jwk[m]}\"")) + "}";
        return Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    private static string? Member(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static byte[]? Bytes(JsonElement root, string name) => Member(root, name) is { } text ? Base64UrlEncoder.DecodeBytes(text) : null;

    private static string TextOf(string value) => "'" + new string(value.Take(16).Where(char.IsAsciiLetterOrDigit).ToArray()) + "'";
}
