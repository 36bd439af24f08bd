using System.Security.Cryptography;
using System.Text;
using Igia.Smart.Protocol;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Smart.Tests.Infrastructure;

/// <summary>
/// The client-side checks of the SMART App Launch STU 2.2 conformance test kit (Inferno), applied to the requests the
/// OpenID provider recorded: authorize parameters, token request, client authentication, client assertion, refresh.
/// </summary>
public static class ConformanceAssert
{
    /// <summary>Authorize request: response_type=code, client_id, exact redirect_uri, scope, state, aud = FHIR base, PKCE S256 (and launch for EHR).</summary>
    public static void AuthorizeRequest(RecordedRequest auth, SmartAppHost app, string fhirBase, string? launch)
    {
        Assert.Equal("auth", auth.Route);
        Assert.Equal("code", auth.Param("response_type"));
        Assert.Equal(app.Client.ClientId, auth.Param("client_id"));
        Assert.Equal(app.RedirectUri.AbsoluteUri, auth.Param("redirect_uri"));
        Assert.Equal(fhirBase, auth.Param("aud"));
        var state = auth.Param("state");
        Assert.NotNull(state);
        Assert.True(state!.Length >= 43, "state should carry at least 256 bits");
        Assert.Matches("^[A-Za-z0-9_-]+$", state);
        var challenge = auth.Param("code_challenge");
        Assert.NotNull(challenge);
        Assert.Equal(43, challenge!.Length);
        Assert.Equal("S256", auth.Param("code_challenge_method"));
        var scopes = (auth.Param("scope") ?? "").Split(' ');
        Assert.Contains("openid", scopes);
        if (launch is null)
        {
            Assert.False(auth.Has("launch"));
            Assert.DoesNotContain("launch", scopes);
        }
        else
        {
            Assert.Equal(launch, auth.Param("launch"));
            Assert.Contains("launch", scopes);
        }

        Assert.All(scopes, s => Assert.True(SmartScope.TryParse(s, out _, out var error), error));
    }

    /// <summary>Token request of the code exchange: grant_type, the code, the same redirect_uri, a verifier matching the challenge, and the client's authentication.</summary>
    public static void CodeExchange(RecordedRequest token, RecordedRequest auth, string code, SmartAppHost app, Uri issuer)
    {
        Assert.Equal("token", token.Route);
        Assert.Equal("POST", token.Method);
        Assert.StartsWith("application/x-www-form-urlencoded", token.ContentType);
        Assert.Equal("authorization_code", token.GrantType);
        Assert.Equal(code, token.Param("code"));
        Assert.Equal(auth.Param("redirect_uri"), token.Param("redirect_uri"));
        var verifier = token.Param("code_verifier");
        Assert.NotNull(verifier);
        Assert.InRange(verifier!.Length, 43, 128);
        var challenge = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        Assert.Equal(auth.Param("code_challenge"), challenge);
        ClientAuthentication(token, app, issuer);
    }

    /// <summary>A well-formed refresh request: grant_type=refresh_token, a refresh_token, the client's authentication, no other grant parameters.</summary>
    public static void WellFormedRefresh(RecordedRequest refresh, SmartAppHost app, Uri issuer)
    {
        Assert.Equal("POST", refresh.Method);
        Assert.Equal("refresh_token", refresh.GrantType);
        Assert.False(string.IsNullOrEmpty(refresh.Param("refresh_token")));
        Assert.False(refresh.Has("code"));
        Assert.False(refresh.Has("code_verifier"));
        ClientAuthentication(refresh, app, issuer);
    }

    /// <summary>Public: client_id in the body only; symmetric: HTTP Basic and no secret in the body; asymmetric: a valid client assertion.</summary>
    public static void ClientAuthentication(RecordedRequest request, SmartAppHost app, Uri issuer)
    {
        switch (app.Client.Authentication)
        {
            case SmartClientAuthentication.Public:
                Assert.Equal(app.Client.ClientId, request.Param("client_id"));
                Assert.Null(request.Authorization);
                Assert.False(request.Has("client_secret"));
                Assert.False(request.Has("client_assertion"));
                break;
            case SmartClientAuthentication.ClientSecretBasic:
                var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(
                    Uri.EscapeDataString(app.Client.ClientId) + ":" + Uri.EscapeDataString(app.Client.Secret!)));
                Assert.Equal(expected, request.Authorization);
                Assert.False(request.Has("client_secret"));
                Assert.False(request.Has("client_assertion"));
                break;
            default:
                Assert.Null(request.Authorization);
                ClientAssertion(request, app.Client.ClientId, new Uri(issuer, "/token"), app.Client.Key!);
                break;
        }
    }

    /// <summary>
    /// The client assertion: type jwt-bearer; header alg RS384/ES384 matching the key, kid, typ JWT; claims iss = sub = client_id,
    /// aud = token URL, exp at most five minutes ahead, a jti; signed by the registered key.
    /// </summary>
    public static JsonWebToken ClientAssertion(RecordedRequest request, string clientId, Uri tokenEndpoint, SmartSigningKey key)
    {
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", request.Param("client_assertion_type"));
        var assertion = request.Param("client_assertion");
        Assert.NotNull(assertion);
        Assert.False(request.Has("client_secret"));
        var jwt = new JsonWebToken(assertion);
        Assert.Equal(key.AlgorithmName, jwt.Alg);
        Assert.Equal(key.KeyId, jwt.Kid);
        Assert.Equal("JWT", jwt.Typ);
        Assert.Equal(clientId, jwt.Issuer);
        Assert.Equal(clientId, jwt.Subject);
        Assert.Equal([tokenEndpoint.AbsoluteUri], jwt.Audiences);
        Assert.False(string.IsNullOrEmpty(jwt.Id));
        var issuedAt = DateTimeOffset.FromUnixTimeMilliseconds(request.At);
        Assert.True(jwt.ValidTo <= issuedAt.UtcDateTime.AddMinutes(5).AddSeconds(5), "exp must be at most five minutes ahead");
        Assert.True(jwt.ValidTo > issuedAt.UtcDateTime, "exp must be in the future");

        var publicKey = new JsonWebKey(key.GetPublicJwk());
        var result = new JsonWebTokenHandler().ValidateTokenAsync(assertion, new TokenValidationParameters
        {
            IssuerSigningKey = publicKey,
            ValidIssuer = clientId,
            ValidAudience = tokenEndpoint.AbsoluteUri,
            ValidateLifetime = false,
            ValidAlgorithms = [key.AlgorithmName],
        }).GetAwaiter().GetResult();
        Assert.True(result.IsValid, "the assertion's signature should verify with the registered public key: " + result.Exception?.Message);
        return jwt;
    }
}
