using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Smart.Protocol;

/// <summary>
/// Builds the signed JWT a confidential-asymmetric client authenticates with (<c>private_key_jwt</c>, SMART App Launch
/// "asymmetric client authentication" and SMART Backend Services): header <c>alg</c> RS384/ES384, <c>kid</c>, <c>typ: JWT</c>;
/// claims <c>iss</c> = <c>sub</c> = client_id, <c>aud</c> = the token URL, <c>exp</c> at most five minutes ahead, a unique <c>jti</c>.
/// </summary>
public static class SmartClientAssertion
{
    /// <summary>The <c>client_assertion_type</c> sent with the assertion.</summary>
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>The longest lifetime SMART allows an assertion: five minutes.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(5);

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    /// <summary>Creates and signs an assertion.</summary>
    /// <param name="clientId">The client id (<c>iss</c> and <c>sub</c>).</param>
    /// <param name="tokenEndpoint">The token URL (<c>aud</c>).</param>
    /// <param name="key">The signing key.</param>
    /// <param name="lifetime">How long it is valid; default four minutes (under the five SMART allows, leaving room for clock skew).</param>
    /// <param name="timeProvider">The clock; default the system clock.</param>
    /// <returns>The compact JWS.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lifetime"/> is not positive or exceeds <see cref="MaxLifetime"/>.</exception>
    public static string Create(string clientId, Uri tokenEndpoint, SmartSigningKey key, TimeSpan? lifetime = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientId);
        ArgumentNullException.ThrowIfNull(tokenEndpoint);
        ArgumentNullException.ThrowIfNull(key);
        var life = lifetime ?? TimeSpan.FromMinutes(4);
        if (life <= TimeSpan.Zero || life > MaxLifetime)
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), "A SMART client assertion must expire within five minutes.");
        }

        var now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = tokenEndpoint.AbsoluteUri,
            IssuedAt = now.UtcDateTime,
            Expires = now.Add(life).UtcDateTime,
            Claims = new Dictionary<string, object>(2, StringComparer.Ordinal)
            {
                [JwtRegisteredClaimNames.Sub] = clientId,
                [JwtRegisteredClaimNames.Jti] = NewJti(),
            },
            SigningCredentials = key.Credentials,
            TokenType = "JWT",
        };
        return Handler.CreateToken(descriptor);
    }

    private static string NewJti()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return Base64UrlEncoder.Encode(bytes.ToArray());
    }
}
