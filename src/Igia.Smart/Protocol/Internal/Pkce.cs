using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Smart.Protocol.Internal;

/// <summary>PKCE (RFC 7636) with S256 only; <c>plain</c> is never used.</summary>
internal static class Pkce
{
    public const string Method = "S256";

    /// <summary>A 256-bit random verifier, base64url (43 characters).</summary>
    public static string CreateVerifier() => RandomToken(32);

    public static string Challenge(string verifier) => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    /// <summary>A random base64url token of <paramref name="bytes"/> bytes of entropy.</summary>
    public static string RandomToken(int bytes)
    {
        var buffer = RandomNumberGenerator.GetBytes(bytes);
        return Base64UrlEncoder.Encode(buffer);
    }

    /// <summary>A hex SHA-256 of <paramref name="value"/>, to key stored entries without storing the secret itself.</summary>
    public static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
