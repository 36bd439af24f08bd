using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Smart.Tests.ResourceServer;

/// <summary>
/// A token issuer for the resource-server tests, on real Kestrel at 127.0.0.1: OpenID discovery, a JWKS of keys generated
/// here (rotatable), and an RFC 7662 introspection endpoint for opaque tokens. Tokens are real RS256 JWS signed with those keys.
/// Counts discovery and JWKS fetches so that caching and rotation can be checked.
/// </summary>
public sealed class SmartTestIssuer : IAsyncDisposable
{
    public const string IntrospectionClientId = "fhir-rs";
    public const string IntrospectionSecret = "fhir-rs-secret-0123456789";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, JsonObject> _opaque = new(StringComparer.Ordinal);
    private volatile RsaSecurityKey[] _published;
    private int _jwksFetches;
    private int _introspections;

    private SmartTestIssuer(WebApplication app, string issuer, RsaSecurityKey key)
    {
        _app = app;
        Issuer = issuer;
        SigningKey = key;
        _published = [key];
    }

    /// <summary>The issuer URL (no trailing slash).</summary>
    public string Issuer { get; }

    /// <summary>The key tokens are signed with now.</summary>
    public RsaSecurityKey SigningKey { get; private set; }

    public int JwksFetches => Volatile.Read(ref _jwksFetches);

    public int Introspections => Volatile.Read(ref _introspections);

    public static async Task<SmartTestIssuer> StartAsync()
    {
        var port = FreePort();
        var issuer = $"http://127.0.0.1:{port}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(issuer);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var host = new SmartTestIssuer(app, issuer, NewKey());
        app.MapGet("/.well-known/openid-configuration", () => Results.Text(new JsonObject
        {
            ["issuer"] = issuer,
            ["jwks_uri"] = issuer + "/jwks",
            ["authorization_endpoint"] = issuer + "/authorize",
            ["token_endpoint"] = issuer + "/token",
            ["introspection_endpoint"] = issuer + "/introspect",
            ["response_types_supported"] = new JsonArray("code"),
            ["subject_types_supported"] = new JsonArray("public"),
            ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
        }.ToJsonString(), "application/json"));
        app.MapGet("/jwks", () =>
        {
            Interlocked.Increment(ref host._jwksFetches);
            var keys = new JsonArray();
            foreach (var key in host._published)
            {
                var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(key);
                keys.Add(new JsonObject { ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = jwk.Kid, ["n"] = jwk.N, ["e"] = jwk.E });
            }

            return Results.Text(new JsonObject { ["keys"] = keys }.ToJsonString(), "application/json");
        });
        app.MapPost("/introspect", async (HttpContext context) =>
        {
            Interlocked.Increment(ref host._introspections);
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{IntrospectionClientId}:{IntrospectionSecret}"));
            if (context.Request.Headers.Authorization.ToString() != expected)
            {
                return Results.Unauthorized();
            }

            var form = await context.Request.ReadFormAsync();
            var token = form["token"].ToString();
            var body = host._opaque.TryGetValue(token, out var claims) ? (JsonObject)claims.DeepClone() : new JsonObject { ["active"] = false };
            return Results.Text(body.ToJsonString(), "application/json");
        });
        await app.StartAsync();
        return host;
    }

    /// <summary>Creates a signed access token. Claims: iss, aud, exp, nbf, iat, scope, and any extra ones given.</summary>
    public string Token(string audience, string scope, string? patient = null, string? fhirUser = null, TimeSpan? lifetime = null,
        DateTimeOffset? notBefore = null, string? issuer = null, SecurityKey? key = null, IDictionary<string, object>? extra = null, string algorithm = SecurityAlgorithms.RsaSha256)
    {
        var now = DateTimeOffset.UtcNow;
        var claims = new Dictionary<string, object> { ["scope"] = scope, ["client_id"] = "test-app", ["sub"] = "user-1", ["jti"] = Guid.NewGuid().ToString("N") };
        if (patient is not null)
        {
            claims["patient"] = patient;
        }

        if (fhirUser is not null)
        {
            claims["fhirUser"] = fhirUser;
        }

        foreach (var (name, value) in extra ?? new Dictionary<string, object>())
        {
            claims[name] = value;
        }

        var expires = now + (lifetime ?? TimeSpan.FromMinutes(5));
        var nbf = notBefore ?? now.AddSeconds(-5);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = (nbf < expires ? nbf : expires.AddMinutes(-10)).UtcDateTime,
            NotBefore = (nbf < expires ? nbf : expires.AddMinutes(-10)).UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = new SigningCredentials(key ?? SigningKey, algorithm),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>Registers an opaque token that introspection reports with <paramref name="claims"/> (active unless told).</summary>
    public string Opaque(JsonObject claims)
    {
        var token = "opaque-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        _opaque[token] = claims;
        return token;
    }

    /// <summary>Changes what introspection says about an opaque token (e.g. revoke it).</summary>
    public void SetOpaque(string token, JsonObject claims) => _opaque[token] = claims;

    /// <summary>Key rotation: signs with a new key from now on and publishes the new key, keeping the old one only when told.</summary>
    public RsaSecurityKey Rotate(bool keepOld)
    {
        var next = NewKey();
        _published = keepOld ? [next, SigningKey] : [next];
        SigningKey = next;
        return next;
    }

    public static RsaSecurityKey NewKey()
    {
        var rsa = RSA.Create(2048);
        return new RsaSecurityKey(rsa) { KeyId = Guid.NewGuid().ToString("N")[..16] };
    }

    /// <summary>A free TCP port on loopback (the tests need the URL before the server starts, for the audience).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
