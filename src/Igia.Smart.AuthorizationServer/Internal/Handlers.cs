using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Claims;
using Microsoft.AspNetCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>SMART: the <c>aud</c> of an authorization request must be this server's FHIR base (refused before any login).</summary>
internal sealed class ValidateAudienceHandler(IOptions<SmartAuthorizationServerOptions> options) : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>()
        .UseSingletonHandler<ValidateAudienceHandler>()
        .SetOrder(int.MaxValue - 100_000)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
    {
        var request = context.Transaction.GetHttpRequest() ?? throw new InvalidOperationException("No HTTP request.");
        var aud = (string?)context.Request["aud"];
        var fhirBase = SmartAuthzDefaults.FhirBase(options.Value, request);
        if (string.IsNullOrEmpty(aud))
        {
            context.Reject(Errors.InvalidRequest, "The 'aud' parameter (the FHIR base URL) is required.");
        }
        else if (!SmartAuthzDefaults.SameBase(aud, fhirBase))
        {
            context.Reject(Errors.InvalidRequest, "The 'aud' parameter does not name a FHIR server this authorization server issues tokens for.");
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Validates <c>private_key_jwt</c> client assertions the SMART way, in place of OpenIddict's own checks (OpenIddict 7 follows
/// RFC 7523bis: <c>typ: client-authentication+jwt</c> and <c>aud</c> = issuer, which SMART clients do not send; SMART wants
/// <c>aud</c> = the token endpoint URL and clients send <c>typ: JWT</c>). Checked: signature against the client's registered
/// JWKS, alg RS384/ES384 only, <c>kid</c> required and found, <c>jku</c> only when it equals the registered JWKS URL,
/// iss = sub = client_id, aud = the token endpoint, <c>exp</c> present, not passed and at most 5 minutes ahead, <c>jti</c>
/// required and never seen before for that client (replay cache). On success the client counts as authenticated.
/// </summary>
internal sealed class SmartClientAssertionHandler(IOptions<SmartAuthorizationServerOptions> options, JtiReplayCache replay, TimeProvider time)
    : IOpenIddictServerHandler<ProcessAuthenticationContext>
{
    private const string JwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
        .UseScopedHandler<SmartClientAssertionHandler>()
        .SetOrder(OpenIddictServerHandlers.ValidateClientAssertion.Descriptor.Order)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <summary>OpenIddict's client assertion handlers this one replaces.</summary>
    public static IEnumerable<OpenIddictServerHandlerDescriptor> Replaced =>
    [
        OpenIddictServerHandlers.ValidateClientAssertion.Descriptor,
        OpenIddictServerHandlers.ValidateClientAssertionWellknownClaims.Descriptor,
#pragma warning disable CS0618 // obsolete in OpenIddict 7, still registered
        OpenIddictServerHandlers.ValidateClientAssertionIssuer.Descriptor,
        OpenIddictServerHandlers.ValidateClientAssertionAudience.Descriptor,
#pragma warning restore CS0618
    ];

    public async ValueTask HandleAsync(ProcessAuthenticationContext context)
    {
        if (string.IsNullOrEmpty(context.ClientAssertion))
        {
            return;
        }

        if (!string.Equals(context.ClientAssertionType, JwtBearer, StringComparison.Ordinal))
        {
            context.Reject(Errors.InvalidClient, "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.");
            return;
        }

        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(context.ClientAssertion);
        }
        catch (ArgumentException)
        {
            context.Reject(Errors.InvalidClient, "The client assertion is not a JWT.");
            return;
        }

        var clientId = jwt.TryGetPayloadValue<string>("sub", out var sub) ? sub : null;
        if (string.IsNullOrEmpty(clientId) || !string.Equals(jwt.Issuer, clientId, StringComparison.Ordinal)
            || (!string.IsNullOrEmpty(context.ClientId) && !string.Equals(context.ClientId, clientId, StringComparison.Ordinal)))
        {
            context.Reject(Errors.InvalidClient, "The client assertion's iss and sub must both be the client_id.");
            return;
        }

        var registration = options.Value.Clients.FirstOrDefault(c => string.Equals(c.ClientId, clientId, StringComparison.Ordinal));
        if (registration?.Type is not (SmartClientType.ConfidentialAsymmetric or SmartClientType.BackendService))
        {
            context.Reject(Errors.InvalidClient, "The client is not registered for private_key_jwt authentication.");
            return;
        }

        if (jwt.Alg is not (SecurityAlgorithms.RsaSha384 or SecurityAlgorithms.EcdsaSha384))
        {
            context.Reject(Errors.InvalidClient, "The client assertion must be signed with RS384 or ES384.");
            return;
        }

        if (string.IsNullOrEmpty(jwt.Kid))
        {
            context.Reject(Errors.InvalidClient, "The client assertion header must carry a 'kid'.");
            return;
        }

        if (jwt.TryGetHeaderValue<string>("jku", out var jku)
            && (registration.JwksUrl is null || !string.Equals(jku, registration.JwksUrl.ToString(), StringComparison.Ordinal)))
        {
            context.Reject(Errors.InvalidClient, "The client assertion's 'jku' is not the JWKS URL registered for this client.");
            return;
        }

        var http = context.Transaction.GetHttpRequest() ?? throw new InvalidOperationException("No HTTP request.");
        var manager = http.HttpContext.RequestServices.GetRequiredService<IOpenIddictApplicationManager>();
        var application = await manager.FindByClientIdAsync(clientId, context.CancellationToken).ConfigureAwait(false);
        var keys = application is null ? null : await manager.GetJsonWebKeySetAsync(application, context.CancellationToken).ConfigureAwait(false);
        var signingKeys = keys?.Keys.Where(k => string.Equals(k.Kid, jwt.Kid, StringComparison.Ordinal)).ToList() ?? [];
        if (signingKeys.Count == 0)
        {
            context.Reject(Errors.InvalidClient, "No key of the client's JWKS has the client assertion's 'kid'.");
            return;
        }

        var issuer = (options.Value.Issuer?.ToString() ?? $"{http.Scheme}://{http.Host}{http.PathBase}/").TrimEnd('/');
        var tokenEndpoint = issuer + options.Value.TokenPath;
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            ValidIssuer = clientId,
            ValidAudience = tokenEndpoint,
            IssuerSigningKeys = signingKeys,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha384, SecurityAlgorithms.EcdsaSha384],
            ValidTypes = ["JWT", "client-authentication+jwt"],
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.FromSeconds(30),
        }).ConfigureAwait(false);
        if (!result.IsValid)
        {
            context.Logger.LogInformation("Client assertion of {ClientId} refused: {Reason}", clientId, result.Exception?.GetType().Name);
            context.Reject(Errors.InvalidClient, "The client assertion is invalid (signature, audience = the token endpoint URL, or lifetime).");
            return;
        }

        if (jwt.ValidTo > time.GetUtcNow().UtcDateTime + options.Value.MaxClientAssertionLifetime)
        {
            context.Reject(Errors.InvalidClient, "The client assertion's 'exp' must be at most five minutes in the future.");
            return;
        }

        if (!jwt.TryGetPayloadValue<string>("jti", out var jti) || string.IsNullOrEmpty(jti))
        {
            context.Reject(Errors.InvalidClient, "The client assertion must carry a 'jti'.");
            return;
        }

        if (!await replay.TryUseAsync(clientId, jti, new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero).AddMinutes(1), context.CancellationToken).ConfigureAwait(false))
        {
            context.Reject(Errors.InvalidClient, "The client assertion's 'jti' was already used.");
            return;
        }

        context.ClientAssertionPrincipal = new ClaimsPrincipal(result.ClaimsIdentity);
        // SMART clients need not send client_id beside the assertion: OpenIddict reads it from the request.
        context.Request.ClientId ??= clientId;
    }
}

/// <summary>
/// Clients registered with a JWKS URL: before OpenIddict checks a client assertion, the client's key set is fetched (cached;
/// fetched again when the assertion's <c>kid</c> is unknown, which honours key rotation) and stored on the application.
/// </summary>
internal sealed class JwksUrlHandler(IOptions<SmartAuthorizationServerOptions> options, IHttpClientFactory http, TimeProvider time, ILogger<JwksUrlHandler> logger)
    : IOpenIddictServerHandler<ProcessAuthenticationContext>
{
    internal const string HttpClientName = "Igia.Smart.AuthorizationServer.Jwks";
    private readonly ConcurrentDictionary<string, (string Json, DateTimeOffset Fetched)> _cache = new(StringComparer.Ordinal);

    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
        .UseScopedHandler<JwksUrlHandler>()
        .SetOrder(OpenIddictServerHandlers.ValidateClientAssertion.Descriptor.Order - 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public async ValueTask HandleAsync(ProcessAuthenticationContext context)
    {
        if (string.IsNullOrEmpty(context.ClientAssertion))
        {
            return;
        }

        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(context.ClientAssertion);
        }
        catch (ArgumentException)
        {
            return; // OpenIddict refuses it next.
        }

        var clientId = jwt.TryGetPayloadValue<string>("sub", out var sub) ? sub : null;
        var registration = options.Value.Clients.FirstOrDefault(c => string.Equals(c.ClientId, clientId, StringComparison.Ordinal));
        if (registration?.JwksUrl is null)
        {
            return;
        }

        var url = registration.JwksUrl.ToString();
        var now = time.GetUtcNow();
        var cached = _cache.TryGetValue(url, out var entry) && now - entry.Fetched < options.Value.JwksCacheDuration
            && new JsonWebKeySet(entry.Json).Keys.Any(k => k.Kid == jwt.Kid);
        if (cached)
        {
            return;
        }

        string json;
        try
        {
            using var response = await http.CreateClient(HttpClientName).GetAsync(registration.JwksUrl, context.CancellationToken).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            json = await response.Content.ReadAsStringAsync(context.CancellationToken).ConfigureAwait(false);
            _ = new JsonWebKeySet(json);
        }
        catch (Exception ex) when (ex is HttpRequestException or ArgumentException or TaskCanceledException or System.Text.Json.JsonException)
        {
            logger.LogWarning("The JWKS of client {ClientId} could not be fetched from its registered URL: {Reason}", registration.ClientId, ex.GetType().Name);
            context.Reject(Errors.InvalidClient, "The client's JWKS could not be fetched from its registered URL.");
            return;
        }

        _cache[url] = (json, now);
        var manager = context.Transaction.GetHttpRequest()!.HttpContext.RequestServices.GetRequiredService<IOpenIddictApplicationManager>();
        var application = await manager.FindByClientIdAsync(registration.ClientId, context.CancellationToken).ConfigureAwait(false);
        if (application is not null)
        {
            var descriptor = new OpenIddictApplicationDescriptor();
            await manager.PopulateAsync(descriptor, application, context.CancellationToken).ConfigureAwait(false);
            descriptor.JsonWebKeySet = new JsonWebKeySet(json);
            await manager.UpdateAsync(application, descriptor, context.CancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>Introspection answers carry the SMART launch context of the token (<c>patient</c>, <c>encounter</c>, <c>fhirContext</c>, <c>fhirUser</c>).</summary>
internal sealed class IntrospectionContextHandler : IOpenIddictServerHandler<HandleIntrospectionRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleIntrospectionRequestContext>()
        .UseSingletonHandler<IntrospectionContextHandler>()
        .SetOrder(OpenIddictServerHandlers.Introspection.AttachApplicationClaims.Descriptor.Order + 1_000)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public ValueTask HandleAsync(HandleIntrospectionRequestContext context)
    {
        var principal = context.GenericTokenPrincipal;
        if (principal is null)
        {
            return ValueTask.CompletedTask;
        }

        foreach (var name in new[] { SmartAuthzDefaults.PatientClaim, SmartAuthzDefaults.EncounterClaim, SmartAuthzDefaults.FhirUserClaim })
        {
            if (principal.GetClaim(name) is { Length: > 0 } value)
            {
                context.Claims[name] = value;
            }
        }

        if (principal.GetClaim(SmartAuthzDefaults.FhirContextClaim) is { Length: > 0 } fhirContext)
        {
            context.Claims[SmartAuthzDefaults.FhirContextClaim] = new OpenIddictParameter(System.Text.Json.JsonDocument.Parse(fhirContext).RootElement.Clone());
        }

        if (string.IsNullOrEmpty(context.ClientId))
        {
            context.ClientId = principal.GetClaim(Claims.ClientId) ?? principal.GetPresenters().FirstOrDefault();
        }

        context.Subject ??= principal.GetClaim(Claims.Subject);
        if (context.Scopes.Count == 0)
        {
            // OpenIddict lists scopes only to the token's own client; a resource server needs them too.
            context.Scopes.UnionWith(principal.GetScopes());
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Who may introspect: the client the token was issued to, or a client registered with
/// <see cref="SmartClientRegistration.CanIntrospectAnyToken"/> (a resource server). Replaces OpenIddict's rule (presenter or audience),
/// since SMART access tokens have the FHIR base, not a client, as audience.
/// </summary>
internal sealed class IntrospectionAuthorizedPartyHandler(IOptions<SmartAuthorizationServerOptions> options) : IOpenIddictServerHandler<ValidateIntrospectionRequestContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateIntrospectionRequestContext>()
        .UseSingletonHandler<IntrospectionAuthorizedPartyHandler>()
        .SetOrder(OpenIddictServerHandlers.Introspection.ValidateAuthorizedParty.Descriptor.Order)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public ValueTask HandleAsync(ValidateIntrospectionRequestContext context)
    {
        var principal = context.GenericTokenPrincipal;
        var clientId = context.ClientId;
        if (principal is null || string.IsNullOrEmpty(clientId))
        {
            return ValueTask.CompletedTask;
        }

        var trusted = options.Value.Clients.Any(c => c.CanIntrospectAnyToken && string.Equals(c.ClientId, clientId, StringComparison.Ordinal));
        if (!trusted && !principal.HasPresenter(clientId) && !principal.HasAudience(clientId))
        {
            // As for an unknown token: an inactive answer, telling the caller nothing.
            context.Logger.LogInformation("Introspection by client {ClientId} refused: not the token's client.", clientId);
            context.Reject(Errors.InvalidToken, "The token cannot be introspected by this client.");
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary><c>online_access</c> also gets a refresh token (OpenIddict issues one only for <c>offline_access</c>).</summary>
internal sealed class OnlineAccessRefreshHandler : IOpenIddictServerHandler<ProcessSignInContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
        .UseSingletonHandler<OnlineAccessRefreshHandler>()
        .SetOrder(OpenIddictServerHandlers.EvaluateGeneratedTokens.Descriptor.Order + 1)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (context.EndpointType == OpenIddictServerEndpointType.Token && context.Principal is ClaimsPrincipal principal
            && principal.HasScope("online_access") && !principal.HasScope(Scopes.OfflineAccess)
            && (context.Request.IsAuthorizationCodeGrantType() || context.Request.IsRefreshTokenGrantType()))
        {
            context.GenerateRefreshToken = true;
            context.IncludeRefreshToken = true;
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A token response refused with <c>temporarily_unavailable</c> (a security event could not be recorded) goes out as HTTP 503;
/// OpenIddict answers every other token-endpoint error but <c>invalid_client</c> and <c>server_error</c> with 400.
/// </summary>
internal sealed class TemporarilyUnavailableStatusHandler : IOpenIddictServerHandler<ApplyTokenResponseContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyTokenResponseContext>()
        .UseSingletonHandler<TemporarilyUnavailableStatusHandler>()
        .SetOrder(OpenIddictServerAspNetCoreHandlers.AttachHttpResponseCode<ApplyTokenResponseContext>.Descriptor.Order + 1)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    public ValueTask HandleAsync(ApplyTokenResponseContext context)
    {
        if (string.Equals(context.Response.Error, Errors.TemporarilyUnavailable, StringComparison.Ordinal)
            && context.Transaction.GetHttpRequest() is { } request)
        {
            request.HttpContext.Response.StatusCode = Microsoft.AspNetCore.Http.StatusCodes.Status503ServiceUnavailable;
        }

        return ValueTask.CompletedTask;
    }
}
