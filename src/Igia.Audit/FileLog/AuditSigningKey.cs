using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Igia.Audit.FileLog;

/// <summary>
/// A key that signs (and verifies) the checkpoints of the local audit log: HMAC-SHA256 with a shared secret
/// (<c>HS256</c>) or ECDSA P-256 with SHA-256 (<c>ES256</c>). For verification, an ECDSA key may hold only the public part.
/// </summary>
public sealed partial class AuditSigningKey
{
    private readonly byte[]? _secret;
    private readonly ECDsa? _ecdsa;

    private AuditSigningKey(string keyId, string algorithm, byte[]? secret, ECDsa? ecdsa)
    {
        if (!KeyIdPattern().IsMatch(keyId))
        {
            throw new ArgumentException("A key id is 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'.", nameof(keyId));
        }

        KeyId = keyId;
        Algorithm = algorithm;
        _secret = secret;
        _ecdsa = ecdsa;
    }

    /// <summary>The key id written in each checkpoint, so that keys can be rotated.</summary>
    public string KeyId { get; }

    /// <summary><c>HS256</c> or <c>ES256</c>.</summary>
    public string Algorithm { get; }

    /// <summary>An HMAC-SHA256 key. <paramref name="secret"/> must be at least 32 bytes; it is copied.</summary>
    public static AuditSigningKey Hmac(string keyId, ReadOnlySpan<byte> secret)
    {
        if (secret.Length < 32)
        {
            throw new ArgumentException("An HMAC audit signing key must be at least 32 bytes (256 bits).", nameof(secret));
        }

        return new AuditSigningKey(keyId, "HS256", secret.ToArray(), null);
    }

    /// <summary>
    /// An ECDSA P-256 key. With a private key it signs and verifies; with only the public key it verifies. The key object is
    /// used as given (not copied): keep it alive while the log is written.
    /// </summary>
    public static AuditSigningKey ECDsa(string keyId, ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.KeySize != 256)
        {
            throw new ArgumentException("An ECDSA audit signing key must be on the P-256 curve.", nameof(key));
        }

        return new AuditSigningKey(keyId, "ES256", null, key);
    }

    /// <summary>
    /// Reads a key from PEM text: an EC key (<c>PRIVATE KEY</c>, <c>EC PRIVATE KEY</c> or <c>PUBLIC KEY</c>) becomes an ES256 key.
    /// </summary>
    public static AuditSigningKey FromPem(string keyId, string pem)
    {
        var ecdsa = System.Security.Cryptography.ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(pem);
        }
        catch (ArgumentException e)
        {
            ecdsa.Dispose();
            throw new ArgumentException("The PEM text holds no EC P-256 key.", nameof(pem), e);
        }
        catch (CryptographicException e)
        {
            ecdsa.Dispose();
            throw new ArgumentException("The PEM text holds no EC P-256 key.", nameof(pem), e);
        }

        return ECDsa(keyId, ecdsa);
    }

    /// <summary>True when this key can sign (an HMAC key, or an ECDSA key with its private part).</summary>
    public bool CanSign
    {
        get
        {
            if (_secret is not null)
            {
                return true;
            }

            try
            {
                _ecdsa!.ExportParameters(includePrivateParameters: true);
                return true;
            }
            catch (CryptographicException)
            {
                return false;
            }
        }
    }

    internal byte[] Sign(ReadOnlySpan<byte> data) =>
        _secret is not null
            ? HMACSHA256.HashData(_secret, data)
            : _ecdsa!.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    internal bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        _secret is not null
            ? CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(_secret, data), signature)
            : _ecdsa!.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex KeyIdPattern();
}
