using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Igia.Smart.ResourceServer;
using Igia.Smart.Tests.Infrastructure;
using Microsoft.IdentityModel.Tokens;

namespace Igia.Smart.Tests.ResourceServer;

/// <summary>
/// Token attacks against the resource server over real HTTP: every forged, misdirected or stale token gets 401 with
/// <c>WWW-Authenticate: Bearer … error="invalid_token"</c> and an OperationOutcome, and nothing of the tokens reaches the logs.
/// Also key rotation, JWKS caching and opaque tokens through introspection.
/// </summary>
public sealed class TokenValidationTests : IAsyncLifetime
{
    private readonly CapturingLoggerProvider _logs = new();
    private SmartTestIssuer _issuer = null!;
    private ProtectedFhirHost _host = null!;
    private readonly List<string> _presented = [];

    public async Task InitializeAsync()
    {
        _issuer = await SmartTestIssuer.StartAsync();
        // Key refreshes and introspection results are kept for minutes, so that a slow machine cannot make a test see a
        // refetch it does not expect (the 10 s introspection default is checked on its own host below).
        _host = await ProtectedFhirHost.StartAsync(_issuer, o =>
        {
            o.KeyRefreshInterval = TimeSpan.FromMinutes(5);
            o.Introspection!.CacheDuration = TimeSpan.FromMinutes(5);
        }, logs: _logs);
        var seed = await _host.SendAsync(HttpMethod.Put, "Patient/pa", Token("system/*.cruds"), """{"resourceType":"Patient","id":"pa"}""");
        Assert.Equal(HttpStatusCode.Created, seed.Status);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _issuer.DisposeAsync();

        // No token (nor its signature) was ever logged, at any level.
        var text = _logs.AllText;
        foreach (var token in _presented)
        {
            Assert.DoesNotContain(token, text, StringComparison.Ordinal);
            if (token.Split('.') is { Length: 3 } parts && parts[2].Length > 10)
            {
                Assert.DoesNotContain(parts[2], text, StringComparison.Ordinal);
            }
        }
    }

    private string Token(string scope, string? patient = "pa", TimeSpan? lifetime = null, DateTimeOffset? notBefore = null,
        string? issuer = null, SecurityKey? key = null, string? audience = null, string algorithm = SecurityAlgorithms.RsaSha256)
    {
        var token = _issuer.Token(audience ?? _host.BaseUrl, scope, patient, lifetime: lifetime, notBefore: notBefore, issuer: issuer, key: key, algorithm: algorithm);
        _presented.Add(token);
        return token;
    }

    private async Task AssertRefusedAsync(string? token, bool presented = true)
    {
        if (token is not null)
        {
            _presented.Add(token);
        }

        var reply = await _host.GetAsync("Patient/pa", token);
        Assert.Equal(HttpStatusCode.Unauthorized, reply.Status);
        Assert.Equal("OperationOutcome", reply.Json!["resourceType"]!.GetValue<string>());
        Assert.StartsWith("Bearer realm=\"" + _host.BaseUrl + "\"", reply.WwwAuthenticate, StringComparison.Ordinal);
        Assert.Equal(presented, reply.WwwAuthenticate.Contains("error=\"invalid_token\"", StringComparison.Ordinal));
    }

    private static string B64(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));

    [Fact]
    public async Task A_valid_token_reads()
    {
        var reply = await _host.GetAsync("Patient/pa", Token("patient/*.read"));
        Assert.Equal(HttpStatusCode.OK, reply.Status);
    }

    [Fact]
    public async Task No_token_is_401_with_a_bare_bearer_challenge()
    {
        await AssertRefusedAsync(null, presented: false);
        var search = await _host.GetAsync("Patient", null);
        Assert.Equal(HttpStatusCode.Unauthorized, search.Status);
    }

    [Fact]
    public async Task Alg_none_is_refused()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var unsigned = B64("""{"alg":"none","typ":"JWT"}""") + "." + B64($$"""{"iss":"{{_issuer.Issuer}}","aud":"{{_host.BaseUrl}}","exp":{{now + 300}},"nbf":{{now - 5}},"scope":"system/*.cruds","patient":"pa"}""") + ".";
        await AssertRefusedAsync(unsigned);
    }

    [Fact]
    public async Task A_token_signed_with_an_unpublished_key_is_refused_even_under_a_published_kid()
    {
        await AssertRefusedAsync(Token("patient/*.read", key: SmartTestIssuer.NewKey()));
        var impostor = SmartTestIssuer.NewKey();
        impostor.KeyId = _issuer.SigningKey.KeyId;
        await AssertRefusedAsync(Token("patient/*.read", key: impostor));
    }

    [Fact]
    public async Task An_hmac_token_keyed_with_public_material_is_refused()
    {
        var secret = new SymmetricSecurityKey(Encoding.UTF8.GetBytes("a-shared-secret-that-is-long-enough-for-hs256!")) { KeyId = _issuer.SigningKey.KeyId };
        await AssertRefusedAsync(Token("patient/*.read", key: secret, algorithm: SecurityAlgorithms.HmacSha256));
    }

    [Fact]
    public async Task Wrong_audience_and_wrong_issuer_are_refused()
    {
        await AssertRefusedAsync(Token("patient/*.read", audience: "http://127.0.0.1:1/fhir"));
        await AssertRefusedAsync(Token("patient/*.read", audience: _host.BaseUrl + "/Patient"));
        await AssertRefusedAsync(Token("patient/*.read", issuer: "http://127.0.0.1:1"));
        await AssertRefusedAsync(Token("patient/*.read", issuer: _issuer.Issuer + "/other"));
    }

    [Fact]
    public async Task Expired_and_not_yet_valid_tokens_are_refused()
    {
        await AssertRefusedAsync(Token("patient/*.read", lifetime: TimeSpan.FromMinutes(-10)));
        await AssertRefusedAsync(Token("patient/*.read", notBefore: DateTimeOffset.UtcNow.AddMinutes(10), lifetime: TimeSpan.FromHours(1)));
    }

    [Fact]
    public async Task A_tampered_scope_breaks_the_signature()
    {
        var token = Token("launch/patient patient/Observation.rs");
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(parts[1]))!.AsObject();
        payload["scope"] = "system/*.cruds";
        var tampered = parts[0] + "." + B64(payload.ToJsonString()) + "." + parts[2];
        await AssertRefusedAsync(tampered);
    }

    [Fact]
    public async Task A_remembered_token_does_not_vouch_for_a_forged_or_tampered_copy()
    {
        var token = Token("launch/patient patient/Patient.rs");
        Assert.Equal(HttpStatusCode.OK, (await _host.GetAsync("Patient/pa", token)).Status); // now remembered
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(parts[1]))!.AsObject();
        payload["scope"] = "system/*.cruds";
        await AssertRefusedAsync(parts[0] + "." + B64(payload.ToJsonString()) + "." + parts[2]);
        var signature = parts[2].ToCharArray();
        signature[10] = signature[10] == 'A' ? 'B' : 'A';
        await AssertRefusedAsync(parts[0] + "." + parts[1] + "." + new string(signature));
        await AssertRefusedAsync(token + "x");
        await AssertRefusedAsync(parts[0] + "." + parts[1] + ".");

        // The refusals were not remembered either: each forged copy is refused again, and the real token still works.
        await AssertRefusedAsync(parts[0] + "." + parts[1] + "." + new string(signature));
        Assert.Equal(HttpStatusCode.OK, (await _host.GetAsync("Patient/pa", token)).Status);
    }

    [Fact]
    public async Task A_token_in_the_query_string_is_not_accepted()
    {
        var token = Token("patient/*.read");
        var reply = await _host.GetAsync("Patient/pa?access_token=" + Uri.EscapeDataString(token), null);
        Assert.Equal(HttpStatusCode.Unauthorized, reply.Status);
    }

    [Fact]
    public async Task Keys_are_fetched_once_and_rotation_is_honoured()
    {
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await _host.GetAsync("Patient/pa", Token("patient/*.read"))).Status);
        }

        Assert.Equal(1, _issuer.JwksFetches);

        // The issuer rotates to a new key and withdraws the old one: tokens with the new key are accepted (the unknown kid
        // makes the resource server re-read the JWKS at once), tokens with the withdrawn key are refused from then on.
        var oldKey = _issuer.SigningKey;
        _issuer.Rotate(keepOld: false);
        var fresh = await _host.GetAsync("Patient/pa", Token("patient/*.read"));
        Assert.Equal(HttpStatusCode.OK, fresh.Status);
        Assert.Equal(2, _issuer.JwksFetches);
        await AssertRefusedAsync(Token("patient/*.read", key: oldKey));
        Assert.Equal(HttpStatusCode.OK, (await _host.GetAsync("Patient/pa", Token("patient/*.read"))).Status);

        // Tokens naming unknown key ids cannot make the server fetch the keys on every request (forced refreshes are rate-limited).
        for (var i = 0; i < 5; i++)
        {
            await AssertRefusedAsync(Token("patient/*.read", key: SmartTestIssuer.NewKey()));
        }

        Assert.Equal(2, _issuer.JwksFetches);
    }

    [Fact]
    public async Task Opaque_tokens_are_introspected_and_cached_briefly()
    {
        var exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        var active = _issuer.Opaque(new JsonObject
        {
            ["active"] = true, ["iss"] = _issuer.Issuer, ["aud"] = _host.BaseUrl, ["exp"] = exp,
            ["scope"] = "launch/patient patient/*.read", ["patient"] = "pa", ["client_id"] = "test-app",
        });
        _presented.Add(active);
        Assert.Equal(HttpStatusCode.OK, (await _host.GetAsync("Patient/pa", active)).Status);
        var before = _issuer.Introspections;
        Assert.Equal(HttpStatusCode.OK, (await _host.GetAsync("Patient/pa", active)).Status);
        Assert.Equal(before, _issuer.Introspections);
        Assert.Equal(HttpStatusCode.NotFound, (await _host.GetAsync("Patient/pb", active)).Status);

        var inactive = _issuer.Opaque(new JsonObject { ["active"] = false });
        await AssertRefusedAsync(inactive);
        await AssertRefusedAsync("opaque-never-issued-" + Guid.NewGuid().ToString("N"));

        var wrongAudience = _issuer.Opaque(new JsonObject { ["active"] = true, ["iss"] = _issuer.Issuer, ["aud"] = "http://127.0.0.1:1/fhir", ["exp"] = exp, ["scope"] = "patient/*.read", ["patient"] = "pa" });
        await AssertRefusedAsync(wrongAudience);
        var noAudience = _issuer.Opaque(new JsonObject { ["active"] = true, ["iss"] = _issuer.Issuer, ["exp"] = exp, ["scope"] = "patient/*.read", ["patient"] = "pa" });
        await AssertRefusedAsync(noAudience);
        var wrongIssuer = _issuer.Opaque(new JsonObject { ["active"] = true, ["iss"] = "http://127.0.0.1:1", ["aud"] = _host.BaseUrl, ["exp"] = exp, ["scope"] = "patient/*.read", ["patient"] = "pa" });
        await AssertRefusedAsync(wrongIssuer);
        var expired = _issuer.Opaque(new JsonObject { ["active"] = true, ["iss"] = _issuer.Issuer, ["aud"] = _host.BaseUrl, ["exp"] = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), ["scope"] = "patient/*.read", ["patient"] = "pa" });
        await AssertRefusedAsync(expired);
    }

    [Fact]
    public async Task A_revoked_opaque_token_stops_working_within_the_introspection_cache_duration()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), new SmartIntrospectionOptions().CacheDuration);
        await using var host = await ProtectedFhirHost.StartAsync(_issuer, o => o.Introspection!.CacheDuration = TimeSpan.FromSeconds(1));
        var claims = new JsonObject
        {
            ["active"] = true, ["iss"] = _issuer.Issuer, ["aud"] = host.BaseUrl, ["exp"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds(),
            ["scope"] = "system/*.read", ["client_id"] = "test-app",
        };
        var token = _issuer.Opaque(claims);
        _presented.Add(token);
        Assert.Equal(HttpStatusCode.NotFound, (await host.GetAsync("Patient/none", token)).Status); // accepted (404: no such patient)

        _issuer.SetOpaque(token, new JsonObject { ["active"] = false }); // revoked at the authorization server
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var reply = await host.GetAsync("Patient/none", token);
        Assert.Equal(HttpStatusCode.Unauthorized, reply.Status);
        Assert.Contains("error=\"invalid_token\"", reply.WwwAuthenticate, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Insufficient_scope_is_403_with_an_OperationOutcome()
    {
        var reply = await _host.GetAsync("Patient/pa", Token("launch/patient patient/Observation.rs"));
        Assert.Equal(HttpStatusCode.Forbidden, reply.Status);
        Assert.Equal("forbidden", reply.Json!["issue"]![0]!["code"]!.GetValue<string>());
        Assert.Contains("error=\"insufficient_scope\"", reply.WwwAuthenticate, StringComparison.Ordinal);

        var noPatient = await _host.GetAsync("Patient/pa", Token("patient/*.read", patient: null));
        Assert.Equal(HttpStatusCode.Forbidden, noPatient.Status);
        var noScopes = await _host.GetAsync("Patient/pa", Token("openid fhirUser"));
        Assert.Equal(HttpStatusCode.Forbidden, noScopes.Status);
    }
}
