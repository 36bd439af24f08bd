using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Igia.Smart.Protocol;
using Igia.Smart.Protocol.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Smart.App.Internal;

/// <summary>The <c>/launch</c> and <c>/callback</c> endpoints of a SMART app.</summary>
internal sealed partial class SmartLaunchHandler(
    SmartServerRegistry servers,
    ISmartDiscovery discovery,
    SmartTokenClient tokenClient,
    IdTokenValidator idTokens,
    SmartProtectedStore store,
    SmartSessionResolver resolver,
    SmartTelemetry telemetry,
    IOptions<SmartAppOptions> options,
    TimeProvider timeProvider,
    ILogger<SmartLaunchHandler> logger)
{
    private readonly ConcurrentDictionary<string, byte> _callbacksInFlight = new(StringComparer.Ordinal);

    // ---- /launch ---------------------------------------------------------------------------------

    public async Task<IResult> LaunchAsync(HttpContext context)
    {
        using var activity = SmartTelemetry.ActivitySource.StartActivity("smart launch");
        string? serverName = null;
        try
        {
            var request = ParseLaunch(context);
            serverName = request.Server.Name;
            var result = await StartAsync(context, request, context.RequestAborted).ConfigureAwait(false);
            telemetry.Launches.Add(1, new TagList { { "igia.smart.server", serverName }, { "igia.smart.launch_kind", request.Kind.ToString() } });
            LogLaunchStarted(logger, serverName, request.Kind);
            return result;
        }
        catch (SmartException e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.CheckName);
            LogLaunchRefused(logger, serverName ?? "?", e.CheckName, e.Message);
            return Fail(context, e);
        }
    }

    private sealed record LaunchRequest(SmartServer Server, SmartLaunchKind Kind, string Audience, string? Launch, string ReturnUrl);

    private LaunchRequest ParseLaunch(HttpContext context)
    {
        var query = context.Request.Query;
        var iss = NullIfEmpty(query["iss"]);
        var launch = NullIfEmpty(query["launch"]);
        var name = NullIfEmpty(query["server"]);
        var returnUrl = NullIfEmpty(query["returnUrl"]);

        var kind = launch is null ? SmartLaunchKind.Standalone : SmartLaunchKind.Ehr;
        if (launch is not null && iss is null)
        {
            throw new SmartException(SmartErrorCode.InvalidLaunchRequest, "The EHR launch has a 'launch' parameter but no 'iss'.");
        }

        SmartServer server;
        if (iss is not null)
        {
            // The allow-list check comes before anything is sent anywhere: a rogue iss never sees a request.
            if (!Uri.TryCreate(iss, UriKind.Absolute, out var issUri) || (issUri.Scheme != Uri.UriSchemeHttps && issUri.Scheme != Uri.UriSchemeHttp))
            {
                throw new SmartException(SmartErrorCode.IssuerNotAllowed, "The launch's 'iss' is not an absolute http(s) URL.");
            }

            server = servers.FindByIssuer(issUri)
                ?? throw new SmartException(SmartErrorCode.IssuerNotAllowed, "The launch's 'iss' is not one of the FHIR servers this app is registered with; nothing was sent to it.");
            if (name is not null && !string.Equals(name, server.Name, StringComparison.Ordinal))
            {
                throw new SmartException(SmartErrorCode.InvalidLaunchRequest, "The launch names a 'server' that does not match its 'iss'.");
            }
        }
        else if (name is not null)
        {
            server = servers.FindByName(name)
                ?? throw new SmartException(SmartErrorCode.ServerNotSpecified, "The launch names a 'server' that is not registered.");
        }
        else if (servers.Names is [var only])
        {
            server = servers.FindByName(only)!;
        }
        else
        {
            throw new SmartException(SmartErrorCode.ServerNotSpecified, "The launch does not say which FHIR server to use: pass 'iss' (EHR launch) or 'server' (standalone launch).");
        }

        if (returnUrl is not null && !IsLocalUrl(returnUrl))
        {
            throw new SmartException(SmartErrorCode.InvalidLaunchRequest, "The launch's 'returnUrl' is not a local URL of this app.");
        }

        return new LaunchRequest(server, kind, iss ?? server.FhirBaseUrl.OriginalString, launch, returnUrl ?? options.Value.DefaultReturnUrl);
    }

    private async Task<IResult> StartAsync(HttpContext context, LaunchRequest request, CancellationToken cancellationToken)
    {
        var server = request.Server;
        var o = options.Value;
        var scopes = ScopesFor(server.Options, request.Kind);
        var configuration = await discovery.GetConfigurationAsync(server.FhirBaseUrl, cancellationToken).ConfigureAwait(false);
        var authorize = configuration.AuthorizationEndpoint
            ?? throw new SmartException(SmartErrorCode.DiscoveryFailed, "The server's SMART configuration has no 'authorization_endpoint'.");
        CheckCapabilities(configuration, server, request.Kind, scopes);

        var browser = resolver.GetOrCreateBrowserId(context);
        var state = Pkce.RandomToken(32);
        var verifier = Pkce.CreateVerifier();
        var scope = SmartScope.Join(scopes);
        var nonce = scopes.Any(s => s.Kind == SmartScopeKind.OpenId) ? Pkce.RandomToken(16) : null;
        var redirectUri = server.Options.RedirectUri?.AbsoluteUri
            ?? $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}{o.CallbackPath}";

        var pending = new PendingAuthorization
        {
            Server = server.Name,
            Kind = request.Kind,
            Audience = request.Audience,
            Browser = Pkce.Hash(browser),
            CodeVerifier = verifier,
            Nonce = nonce,
            RedirectUri = redirectUri,
            ReturnUrl = request.ReturnUrl,
            Scope = scope,
            ExpiresAt = timeProvider.GetUtcNow() + o.AuthorizationTimeout,
        };
        await store.SetPendingAsync(SmartProtectedStore.StateKey(state), pending, cancellationToken).ConfigureAwait(false);

        var parameters = new List<KeyValuePair<string, string?>>
        {
            new("response_type", "code"),
            new("client_id", server.Credentials.ClientId),
            new("redirect_uri", redirectUri),
            new("scope", scope),
            new("state", state),
            new("aud", request.Audience),
            new("code_challenge", Pkce.Challenge(verifier)),
            new("code_challenge_method", Pkce.Method),
        };
        if (request.Launch is not null)
        {
            parameters.Add(new("launch", request.Launch));
        }

        if (nonce is not null)
        {
            parameters.Add(new("nonce", nonce));
        }

        context.Response.Headers.CacheControl = "no-store";
        var usePost = server.Options.AuthorizeMethod == SmartAuthorizeMethod.Post
            || (server.Options.AuthorizeMethod == SmartAuthorizeMethod.Auto && configuration.HasCapability(SmartCapabilities.AuthorizePost));
        return usePost
            ? AutoPostForm(context, authorize, parameters)
            : Redirect(context, QueryHelpers.AddQueryString(authorize.AbsoluteUri, parameters));
    }

    internal static IReadOnlyList<SmartScope> ScopesFor(SmartServerOptions server, SmartLaunchKind kind)
    {
        if (kind == SmartLaunchKind.Ehr)
        {
            var scopes = SmartScope.ParseList(server.Scopes).ToList();
            if (!scopes.Any(s => s.Kind == SmartScopeKind.Launch))
            {
                scopes.Insert(0, SmartScope.Parse("launch"));
            }

            return scopes;
        }

        return server.StandaloneScopes is { } standalone
            ? SmartScope.ParseList(standalone)
            : SmartScope.ParseList(server.Scopes).Where(s => s.Kind != SmartScopeKind.Launch).ToList();
    }

    private void CheckCapabilities(SmartConfiguration configuration, SmartServer server, SmartLaunchKind kind, IReadOnlyList<SmartScope> scopes)
    {
        // PKCE S256 is not negotiable: a server that lists its methods without S256 is refused whatever the check mode.
        if (configuration.CodeChallengeMethodsSupported.Count > 0 && !configuration.CodeChallengeMethodsSupported.Contains(Pkce.Method, StringComparer.Ordinal))
        {
            throw new SmartException(SmartErrorCode.CapabilityMissing, "The server does not support PKCE with S256 ('code_challenge_methods_supported'); this app never uses 'plain'.");
        }

        var mode = server.Options.CapabilityCheck;
        if (mode == SmartCapabilityCheck.Off)
        {
            return;
        }

        var missing = new List<string>();
        if (configuration.DeclaresCapabilities)
        {
            var needed = new List<string> { kind == SmartLaunchKind.Ehr ? SmartCapabilities.LaunchEhr : SmartCapabilities.LaunchStandalone };
            needed.Add(server.Options.ClientAuthentication switch
            {
                SmartClientAuthentication.ClientSecretBasic => SmartCapabilities.ClientConfidentialSymmetric,
                SmartClientAuthentication.PrivateKeyJwt => SmartCapabilities.ClientConfidentialAsymmetric,
                _ => SmartCapabilities.ClientPublic,
            });
            if (scopes.Any(s => s.Kind == SmartScopeKind.OpenId) && scopes.Any(s => s.Kind is SmartScopeKind.FhirUser or SmartScopeKind.Profile))
            {
                needed.Add(SmartCapabilities.SsoOpenIdConnect);
            }

            if (kind == SmartLaunchKind.Standalone)
            {
                if (scopes.Any(s => s is { Kind: SmartScopeKind.LaunchContext, Context: "patient" }))
                {
                    needed.Add(SmartCapabilities.ContextStandalonePatient);
                }

                if (scopes.Any(s => s is { Kind: SmartScopeKind.LaunchContext, Context: "encounter" }))
                {
                    needed.Add(SmartCapabilities.ContextStandaloneEncounter);
                }
            }

            if (scopes.Any(s => s.Kind == SmartScopeKind.OfflineAccess))
            {
                needed.Add(SmartCapabilities.PermissionOffline);
            }

            if (scopes.Any(s => s.Kind == SmartScopeKind.OnlineAccess))
            {
                needed.Add(SmartCapabilities.PermissionOnline);
            }

            var resources = scopes.Where(s => s.Kind == SmartScopeKind.Resource).ToList();
            if (resources.Any(s => s.Context == "patient"))
            {
                needed.Add(SmartCapabilities.PermissionPatient);
            }

            if (resources.Any(s => s.Context == "user"))
            {
                needed.Add(SmartCapabilities.PermissionUser);
            }

            if (resources.Any(s => s.IsV2))
            {
                needed.Add(SmartCapabilities.PermissionV2);
            }

            if (resources.Any(s => !s.IsV2))
            {
                needed.Add(SmartCapabilities.PermissionV1);
            }

            missing.AddRange(needed.Where(c => !configuration.HasCapability(c)));
        }

        var method = server.Options.ClientAuthentication switch
        {
            SmartClientAuthentication.ClientSecretBasic => "client_secret_basic",
            SmartClientAuthentication.PrivateKeyJwt => "private_key_jwt",
            _ => null,
        };
        if (method is not null && configuration.TokenEndpointAuthMethodsSupported.Count > 0 && !configuration.TokenEndpointAuthMethodsSupported.Contains(method, StringComparer.Ordinal))
        {
            missing.Add("token_endpoint_auth_methods_supported: " + method);
        }

        if (server.Options.SigningKey is { } key && server.Options.ClientAuthentication == SmartClientAuthentication.PrivateKeyJwt
            && configuration.TokenEndpointAuthSigningAlgValuesSupported.Count > 0
            && !configuration.TokenEndpointAuthSigningAlgValuesSupported.Contains(key.AlgorithmName, StringComparer.Ordinal))
        {
            missing.Add("token_endpoint_auth_signing_alg_values_supported: " + key.AlgorithmName);
        }

        if (missing.Count == 0)
        {
            return;
        }

        var list = string.Join(", ", missing);
        if (mode == SmartCapabilityCheck.Strict)
        {
            throw new SmartException(SmartErrorCode.CapabilityMissing, $"The server does not declare what this launch needs: {list}.");
        }

        LogCapabilitiesMissing(logger, server.Name, list);
    }

    private static IResult AutoPostForm(HttpContext context, Uri action, List<KeyValuePair<string, string?>> parameters)
    {
        var scriptNonce = Pkce.RandomToken(16);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Signing in…</title></head><body>");
        html.Append("<form method=\"post\" action=\"").Append(HtmlEncoder.Default.Encode(action.AbsoluteUri)).Append("\">");
        foreach (var (name, value) in parameters)
        {
            html.Append("<input type=\"hidden\" name=\"").Append(HtmlEncoder.Default.Encode(name))
                .Append("\" value=\"").Append(HtmlEncoder.Default.Encode(value ?? "")).Append("\">");
        }

        html.Append("<noscript><button type=\"submit\">Continue</button></noscript></form>");
        html.Append("<script nonce=\"").Append(scriptNonce).Append("\">document.forms[0].submit();</script></body></html>");
        var origin = action.GetLeftPart(UriPartial.Authority);
        context.Response.Headers.ContentSecurityPolicy = $"default-src 'none'; script-src 'nonce-{scriptNonce}'; form-action {origin}; frame-ancestors 'none'";
        context.Response.Headers.CacheControl = "no-store";
        return Results.Content(html.ToString(), "text/html; charset=utf-8");
    }

    // ---- /callback -------------------------------------------------------------------------------

    public async Task<IResult> CallbackAsync(HttpContext context)
    {
        using var activity = SmartTelemetry.ActivitySource.StartActivity("smart callback");
        string? serverName = null;
        context.Response.Headers.CacheControl = "no-store";
        try
        {
            var state = NullIfEmpty(context.Request.Query["state"])
                ?? throw new SmartException(SmartErrorCode.StateMissing, "The callback has no 'state'; it cannot be matched to a launch of this browser.");
            var key = SmartProtectedStore.StateKey(state);
            if (!_callbacksInFlight.TryAdd(key, 0))
            {
                throw new SmartException(SmartErrorCode.StateReused, "The callback's 'state' is already being used by another request.");
            }

            try
            {
                var (session, returnUrl, pending) = await CompleteAsync(context, key, name => serverName = name, context.RequestAborted).ConfigureAwait(false);
                telemetry.Callbacks.Add(1, new TagList { { "igia.smart.server", serverName }, { "igia.smart.outcome", "ok" } });
                LogLaunchCompleted(logger, pending.Server, pending.Kind);
                if (options.Value.OnSessionStarted is { } started)
                {
                    await started(context, session.ToPublic()).ConfigureAwait(false);
                }

                var target = options.Value.AppendSessionToReturnUrl
                    ? QueryHelpers.AddQueryString(returnUrl, options.Value.SessionParameterName, session.Id)
                    : returnUrl;
                return Redirect(context, target);
            }
            finally
            {
                _callbacksInFlight.TryRemove(key, out _);
            }
        }
        catch (SmartException e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.CheckName);
            telemetry.Callbacks.Add(1, new TagList { { "igia.smart.server", serverName ?? "?" }, { "igia.smart.outcome", e.CheckName } });
            LogCallbackRefused(logger, serverName ?? "?", e.CheckName, e.Message);
            return Fail(context, e);
        }
    }

    private async Task<(SmartSessionState Session, string ReturnUrl, PendingAuthorization Pending)> CompleteAsync(
        HttpContext context, string key, Action<string> onServer, CancellationToken cancellationToken)
    {
        var query = context.Request.Query;
        var pending = await store.GetPendingAsync(key, cancellationToken).ConfigureAwait(false)
            ?? throw new SmartException(SmartErrorCode.StateUnknown, "The callback's 'state' was not issued by this app or has expired; launch again.");
        onServer(pending.Server);
        if (pending.Used)
        {
            throw new SmartException(SmartErrorCode.StateReused, "The callback's 'state' was already used; each launch may complete once.");
        }

        var now = timeProvider.GetUtcNow();
        if (pending.ExpiresAt <= now)
        {
            throw new SmartException(SmartErrorCode.StateUnknown, "The launch took too long and its 'state' has expired; launch again.");
        }

        var browser = resolver.GetBrowserId(context);
        if (browser is null || !string.Equals(Pkce.Hash(browser), pending.Browser, StringComparison.Ordinal))
        {
            throw new SmartException(SmartErrorCode.StateForeign, "The callback's 'state' was issued to another browser session.");
        }

        // Single use: burnt before the code is exchanged, whatever happens next.
        pending.Used = true;
        await store.SetPendingAsync(key, pending, cancellationToken).ConfigureAwait(false);

        var server = servers.FindByName(pending.Server)
            ?? throw new SmartException(SmartErrorCode.StateUnknown, "The launch's server is no longer registered.");

        if (NullIfEmpty(query["error"]) is { } error)
        {
            throw new SmartException(SmartErrorCode.AuthorizationError, $"The authorization server refused the launch: '{SmartTokenResponse.Sanitize(error)}'.")
            {
                OAuthError = error,
                OAuthErrorDescription = NullIfEmpty(query["error_description"]),
            };
        }

        var configuration = await discovery.GetConfigurationAsync(server.FhirBaseUrl, cancellationToken).ConfigureAwait(false);
        if (NullIfEmpty(query["iss"]) is { } responseIssuer && configuration.Issuer is { } issuer && !string.Equals(responseIssuer, issuer, StringComparison.Ordinal))
        {
            throw new SmartException(SmartErrorCode.AuthorizationResponseIssuerMismatch, "The authorization response names another authorization server ('iss') than the one the launch went to.");
        }

        var code = NullIfEmpty(query["code"])
            ?? throw new SmartException(SmartErrorCode.CodeMissing, "The callback has neither a 'code' nor an 'error'.");

        var response = await tokenClient.ExchangeCodeAsync(server.Credentials, configuration.TokenEndpoint, code, pending.RedirectUri, pending.CodeVerifier, cancellationToken).ConfigureAwait(false);
        var granted = response.Scope ?? pending.Scope;
        IdTokenResult? identity = null;
        if (response.IdToken is not null)
        {
            identity = await idTokens.ValidateAsync(response.IdToken, configuration, server.Credentials.ClientId, pending.Nonce, cancellationToken).ConfigureAwait(false);
        }
        else if (SmartScope.ParseGranted(granted).Any(s => s.Kind == SmartScopeKind.OpenId))
        {
            throw new SmartException(SmartErrorCode.IdTokenMissing, "The 'openid' scope was granted but the token response has no 'id_token'.");
        }

        var browserId = browser;
        var sessionId = Pkce.RandomToken(32);
        var session = new SmartSessionState
        {
            Id = sessionId,
            Server = server.Name,
            FhirBaseUrl = server.FhirBaseUrl.OriginalString,
            Kind = pending.Kind,
            AccessToken = response.AccessToken,
            ExpiresAt = response.ExpiresIn is { } lifetime ? now + lifetime : null,
            RefreshToken = response.RefreshToken,
            Scope = granted,
            Context = ContextJson(response.LaunchContext),
            Subject = identity?.Subject,
            FhirUser = identity?.FhirUser,
            Claims = identity?.Claims.Select(c => new StoredClaim(c.Type, c.Value, c.ValueType)).ToList() ?? [],
            StartedAt = now,
            StoreUntil = now + options.Value.SessionLifetime,
        };
        var sessionKey = SmartProtectedStore.SessionKey(browserId, sessionId);
        await store.SetSessionAsync(sessionKey, session, cancellationToken).ConfigureAwait(false);
        resolver.SetSessionCookie(context, sessionId);
        SmartSessionResolver.Update(context, sessionKey, session);
        return (session, pending.ReturnUrl, pending);
    }

    private static JsonElement ContextJson(SmartLaunchContext context)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            context.WriteTo(writer);
        }

        using var document = JsonDocument.Parse(stream.ToArray());
        return document.RootElement.Clone();
    }

    // ---- shared ----------------------------------------------------------------------------------

    // Not Results.Redirect: its result executor logs the target URL, which carries the state (and the session id).
    private static IResult Redirect(HttpContext context, string url)
    {
        context.Response.StatusCode = StatusCodes.Status302Found;
        context.Response.Headers.Location = url;
        return Results.Empty;
    }

    private IResult Fail(HttpContext context, SmartException e)
    {
        context.Response.Headers.CacheControl = "no-store";
        if (options.Value.OnLaunchFailed is { } custom)
        {
            return custom(context, e);
        }

        var status = e.Code switch
        {
            SmartErrorCode.DiscoveryFailed or SmartErrorCode.TokenEndpointUnreachable or SmartErrorCode.JwksUnavailable => (int)HttpStatusCode.BadGateway,
            _ => (int)HttpStatusCode.BadRequest,
        };
        var extensions = new Dictionary<string, object?> { ["check"] = e.CheckName };
        if (e.OAuthError is { } oauth)
        {
            extensions["error"] = SmartTokenResponse.Sanitize(oauth);
        }

        return Results.Problem(detail: e.Message, statusCode: status, title: "SMART launch failed", extensions: extensions);
    }

    private static string? NullIfEmpty(Microsoft.Extensions.Primitives.StringValues values) =>
        values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;

    internal static bool IsLocalUrl(string url) =>
        url.Length > 0 && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'))
        && !url.Any(char.IsControl);

    [LoggerMessage(EventId = 50, Level = LogLevel.Information, Message = "SMART {Kind} launch started for server {Server}")]
    private static partial void LogLaunchStarted(ILogger logger, string server, SmartLaunchKind kind);

    [LoggerMessage(EventId = 51, Level = LogLevel.Warning, Message = "SMART launch refused (server {Server}): {Check}: {Reason}")]
    private static partial void LogLaunchRefused(ILogger logger, string server, string check, string reason);

    [LoggerMessage(EventId = 52, Level = LogLevel.Information, Message = "SMART {Kind} launch completed for server {Server}")]
    private static partial void LogLaunchCompleted(ILogger logger, string server, SmartLaunchKind kind);

    [LoggerMessage(EventId = 53, Level = LogLevel.Warning, Message = "SMART callback refused (server {Server}): {Check}: {Reason}")]
    private static partial void LogCallbackRefused(ILogger logger, string server, string check, string reason);

    [LoggerMessage(EventId = 54, Level = LogLevel.Warning, Message = "SMART server {Server} does not declare: {Missing}; launching anyway (CapabilityCheck = Warn)")]
    private static partial void LogCapabilitiesMissing(ILogger logger, string server, string missing);
}
