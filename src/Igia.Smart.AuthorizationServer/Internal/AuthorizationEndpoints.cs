using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>The request handlers behind the endpoints (OpenIddict passes authorization and token requests through after validating them).</summary>
internal static class AuthorizationEndpoints
{
    private static readonly string[] AccessTokenOnly = [Destinations.AccessToken];
    private static readonly string[] Both = [Destinations.AccessToken, Destinations.IdentityToken];

    // ---------------------------------------------------------------- authorize
    public static async Task<IResult> AuthorizeAsync(HttpContext http)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
        var options = http.RequestServices.GetRequiredService<IOptions<SmartAuthorizationServerOptions>>().Value;
        var users = http.RequestServices.GetRequiredService<ISmartUserStore>();
        var ct = http.RequestAborted;
        var here = http.Request.PathBase + http.Request.Path + AuthorizeQuery(http);

        var login = await http.AuthenticateAsync(SmartAuthzDefaults.LoginScheme).ConfigureAwait(false);
        var user = login.Succeeded ? await users.FindAsync(login.Principal!.FindFirst(Claims.Subject)?.Value ?? "", ct).ConfigureAwait(false) : null;
        if (user is null)
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return Forbid(Errors.LoginRequired, "The user is not logged in.");
            }

            return Results.Redirect($"{http.Request.PathBase}{options.LoginPath}?returnUrl={Uri.EscapeDataString(here)}");
        }

        var registration = options.Clients.First(c => string.Equals(c.ClientId, request.ClientId, StringComparison.Ordinal));
        var granted = ScopeGrant.Intersect(request.GetScopes(), registration.Scopes);
        var fhirBase = SmartAuthzDefaults.FhirBase(options, http.Request);
        string? patient = null, encounter = null;
        IReadOnlyList<string> fhirContext = [];
        var userPrincipal = login.Principal!;

        if ((string?)request["launch"] is { Length: > 0 } launch)
        {
            var context = await http.RequestServices.GetRequiredService<ISmartLaunchContexts>().TakeAsync(launch, ct).ConfigureAwait(false);
            if (context is null
                || (context.User is not null && !string.Equals(context.User, user.Username, StringComparison.Ordinal))
                || (context.ClientId is not null && !string.Equals(context.ClientId, request.ClientId, StringComparison.Ordinal)))
            {
                return Forbid(Errors.InvalidRequest, "The launch is unknown, expired, already used, or bound to another user or client.");
            }

            (patient, encounter, fhirContext) = (context.Patient, context.Encounter, context.FhirContext);
        }
        else
        {
            granted.Remove("launch");
            if (granted.Contains("launch/patient"))
            {
                patient = FhirStorePatientPicker.OwnPatient(userPrincipal);
                if (patient is null && (string?)request[SmartAuthzDefaults.PickParameter] is { Length: > 0 } pick)
                {
                    patient = await http.RequestServices.GetRequiredService<ISmartPatientSelections>().TakeAsync(pick, user.Username, ct).ConfigureAwait(false);
                }

                if (patient is null)
                {
                    return Results.Redirect($"{http.Request.PathBase}{options.PatientPickerPath}?returnUrl={Uri.EscapeDataString(here)}");
                }
            }
        }

        if (patient is null)
        {
            granted.Remove("launch/patient");
        }

        if (encounter is null)
        {
            granted.Remove("launch/encounter");
        }

        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, user.Username)
            .SetClaim(Claims.Name, user.DisplayName ?? user.Username)
            .SetClaim(SmartAuthzDefaults.FhirUserClaim, AbsoluteReference(user.FhirUser, fhirBase))
            .SetClaim(SmartAuthzDefaults.PatientClaim, patient)
            .SetClaim(SmartAuthzDefaults.EncounterClaim, encounter);
        if (fhirContext.Count > 0)
        {
            identity.SetClaim(SmartAuthzDefaults.FhirContextClaim, JsonSerializer.Serialize(fhirContext.Select(r => new Dictionary<string, string> { ["reference"] = r })));
        }

        identity.SetScopes(granted);
        identity.SetResources(fhirBase);
        identity.SetDestinations(c => ClaimDestinations(c, identity));
        if (!await SecurityEvents.TryRaiseAsync(http, "authorize", user.Username, request.ClientId).ConfigureAwait(false))
        {
            return Unavailable();
        }

        return Results.SignIn(new ClaimsPrincipal(identity), properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    // ---------------------------------------------------------------- token
    public static async Task<IResult> TokenAsync(HttpContext http)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
        var options = http.RequestServices.GetRequiredService<IOptions<SmartAuthorizationServerOptions>>().Value;
        var ct = http.RequestAborted;
        if (request.IsAuthorizationCodeGrantType() || request.IsRefreshTokenGrantType())
        {
            var result = await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme).ConfigureAwait(false);
            var principal = result.Principal ?? throw new InvalidOperationException("OpenIddict validated the grant but gave no principal.");
            var user = await http.RequestServices.GetRequiredService<ISmartUserStore>().FindAsync(principal.GetClaim(Claims.Subject) ?? "", ct).ConfigureAwait(false);
            if (user is null)
            {
                return Forbid(Errors.InvalidGrant, "The user the grant was issued to no longer exists.");
            }

            var identity = new ClaimsIdentity(principal.Claims, TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
            if (request.IsRefreshTokenGrantType() && !string.IsNullOrEmpty(request.Scope))
            {
                // Narrowing at refresh (OpenIddict already refused scopes beyond the original grant).
                var asked = request.GetScopes();
                identity.SetScopes(principal.GetScopes().Where(asked.Contains));
            }

            var scopes = identity.GetScopes();
            identity.SetRefreshTokenLifetime(scopes.Contains(Scopes.OfflineAccess) ? options.OfflineRefreshTokenLifetime : options.OnlineRefreshTokenLifetime);
            identity.SetDestinations(c => ClaimDestinations(c, identity));
            var parameters = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["scope"] = new OpenIddictParameter(string.Join(' ', scopes)),
            };
            if (identity.GetClaim(SmartAuthzDefaults.PatientClaim) is { Length: > 0 } patient)
            {
                parameters["patient"] = new OpenIddictParameter(patient);
                parameters["need_patient_banner"] = new OpenIddictParameter(options.NeedPatientBanner);
            }

            if (identity.GetClaim(SmartAuthzDefaults.EncounterClaim) is { Length: > 0 } encounter)
            {
                parameters["encounter"] = new OpenIddictParameter(encounter);
            }

            if (identity.GetClaim(SmartAuthzDefaults.FhirContextClaim) is { Length: > 0 } fhirContext)
            {
                parameters["fhirContext"] = new OpenIddictParameter(JsonDocument.Parse(fhirContext).RootElement.Clone());
            }

            if (options.SmartStyleUrl is not null)
            {
                parameters["smart_style_url"] = new OpenIddictParameter(options.SmartStyleUrl.ToString());
            }

            // Raised before sign-in: when it fails, OpenIddict never redeems the code or refresh token nor creates a token.
            if (!await SecurityEvents.TryRaiseAsync(http, request.IsRefreshTokenGrantType() ? "token-refresh" : "token", user.Username, request.ClientId).ConfigureAwait(false))
            {
                return Unavailable();
            }

            return Results.SignIn(new ClaimsPrincipal(identity), new AuthenticationProperties(items: null, parameters: parameters), OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        if (request.IsClientCredentialsGrantType())
        {
            var registration = options.Clients.FirstOrDefault(c => string.Equals(c.ClientId, request.ClientId, StringComparison.Ordinal));
            if (registration?.Type != SmartClientType.BackendService)
            {
                return Forbid(Errors.UnauthorizedClient, "Only Backend Services clients may use client_credentials.");
            }

            var granted = ScopeGrant.Intersect(request.GetScopes(), registration.Scopes).Where(s => s.StartsWith("system/", StringComparison.Ordinal)).ToList();
            if (granted.Count == 0)
            {
                return Forbid(Errors.InvalidScope, "None of the requested scopes is allowed for this client (Backend Services: system/ scopes).");
            }

            var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
            identity.SetClaim(Claims.Subject, registration.ClientId).SetClaim(Claims.ClientId, registration.ClientId);
            identity.SetScopes(granted);
            identity.SetResources(SmartAuthzDefaults.FhirBase(options, http.Request));
            identity.SetDestinations(_ => AccessTokenOnly);
            var parameters = new Dictionary<string, object?>(StringComparer.Ordinal) { ["scope"] = new OpenIddictParameter(string.Join(' ', granted)) };
            if (!await SecurityEvents.TryRaiseAsync(http, "token-client-credentials", null, registration.ClientId).ConfigureAwait(false))
            {
                return Unavailable();
            }

            return Results.SignIn(new ClaimsPrincipal(identity), new AuthenticationProperties(items: null, parameters: parameters), OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        return Forbid(Errors.UnsupportedGrantType, "The grant type is not supported.");
    }

    // ---------------------------------------------------------------- login / logout
    public static IResult LoginPage(HttpContext http, string? returnUrl) => Page("Sign in", LoginForm(http, returnUrl, error: null));

    public static async Task<IResult> LoginAsync(HttpContext http)
    {
        if (!http.Request.HasFormContentType)
        {
            return Page("Sign in", "<p>Send the login form (application/x-www-form-urlencoded).</p>", StatusCodes.Status415UnsupportedMediaType);
        }

        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        var returnUrl = (string?)form["returnUrl"];
        var user = await http.RequestServices.GetRequiredService<ISmartUserStore>()
            .ValidateAsync((string?)form["username"] ?? "", (string?)form["password"] ?? "", http.RequestAborted).ConfigureAwait(false);
        if (user is null)
        {
            http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Igia.Smart.AuthorizationServer").LogInformation("Login refused: unknown user or wrong password.");
            if (!await SecurityEvents.TryRaiseAsync(http, "login-failed", null, null).ConfigureAwait(false))
            {
                return UnavailablePage("Sign in");
            }

            return Page("Sign in", LoginForm(http, returnUrl, "Unknown user or wrong password."), StatusCodes.Status401Unauthorized);
        }

        var identity = new ClaimsIdentity(SmartAuthzDefaults.LoginScheme, Claims.Name, Claims.Role);
        identity.AddClaim(new Claim(Claims.Subject, user.Username));
        identity.AddClaim(new Claim(Claims.Name, user.DisplayName ?? user.Username));
        identity.AddClaim(new Claim(SmartAuthzDefaults.FhirUserClaim, user.FhirUser));
        if (!await SecurityEvents.TryRaiseAsync(http, "login", user.Username, null).ConfigureAwait(false))
        {
            return UnavailablePage("Sign in");
        }

        await http.SignInAsync(SmartAuthzDefaults.LoginScheme, new ClaimsPrincipal(identity)).ConfigureAwait(false);
        return Results.Redirect(SmartAuthzDefaults.IsLocalUrl(returnUrl) ? returnUrl! : http.Request.PathBase + "/");
    }

    public static async Task<IResult> LogoutAsync(HttpContext http)
    {
        var login = await http.AuthenticateAsync(SmartAuthzDefaults.LoginScheme).ConfigureAwait(false);
        // Signing out only takes access away, so it happens even when the event cannot be recorded; the page then says so.
        await http.SignOutAsync(SmartAuthzDefaults.LoginScheme).ConfigureAwait(false);
        if (login.Succeeded && !await SecurityEvents.TryRaiseAsync(http, "logout", login.Principal!.FindFirst(Claims.Subject)?.Value, null).ConfigureAwait(false))
        {
            return UnavailablePage("Sign out", "<p>You are signed out, but the sign-out could not be recorded. Try again later.</p>");
        }

        var form = http.Request.HasFormContentType ? await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false) : null;
        var returnUrl = (string?)form?["returnUrl"];
        return Results.Redirect(SmartAuthzDefaults.IsLocalUrl(returnUrl) ? returnUrl! : http.Request.PathBase + "/");
    }

    // ---------------------------------------------------------------- patient picker
    public static async Task<IResult> PickerPageAsync(HttpContext http, string? returnUrl, string? q)
    {
        var options = http.RequestServices.GetRequiredService<IOptions<SmartAuthorizationServerOptions>>().Value;
        var login = await http.AuthenticateAsync(SmartAuthzDefaults.LoginScheme).ConfigureAwait(false);
        if (!login.Succeeded)
        {
            return Results.Redirect($"{http.Request.PathBase}{options.LoginPath}?returnUrl={Uri.EscapeDataString(http.Request.PathBase + http.Request.Path + http.Request.QueryString)}");
        }

        if (!IsAuthorizeUrl(http, options, returnUrl))
        {
            return Page("Pick a patient", "<p>This page is reached from an app's authorization request.</p>", StatusCodes.Status400BadRequest);
        }

        var patients = await http.RequestServices.GetRequiredService<ISmartPatientPicker>().SearchAsync(q, login.Principal!, http.RequestAborted).ConfigureAwait(false);
        var e = HtmlEncoder.Default;
        var html = new StringBuilder();
        html.Append(CultureInvariant($"<form method=\"get\" class=\"search\"><input type=\"hidden\" name=\"returnUrl\" value=\"{e.Encode(returnUrl!)}\"><input name=\"q\" id=\"q\" placeholder=\"Search by name\" value=\"{e.Encode(q ?? "")}\"> <button type=\"submit\">Search</button></form>"));
        html.Append("<ul class=\"patients\">");
        foreach (var p in patients)
        {
            html.Append(CultureInvariant($"<li><form method=\"post\"><input type=\"hidden\" name=\"returnUrl\" value=\"{e.Encode(returnUrl!)}\"><input type=\"hidden\" name=\"patient\" value=\"{e.Encode(p.Id)}\"><button type=\"submit\" class=\"pick\" data-patient=\"{e.Encode(p.Id)}\">{e.Encode(p.Display)}</button></form></li>"));
        }

        html.Append(patients.Count == 0 ? "<li>No patient found.</li></ul>" : "</ul>");
        return Page("Pick a patient", html.ToString());
    }

    public static async Task<IResult> PickAsync(HttpContext http)
    {
        var options = http.RequestServices.GetRequiredService<IOptions<SmartAuthorizationServerOptions>>().Value;
        var login = await http.AuthenticateAsync(SmartAuthzDefaults.LoginScheme).ConfigureAwait(false);
        if (!login.Succeeded)
        {
            return Results.Unauthorized();
        }

        if (!http.Request.HasFormContentType)
        {
            return Page("Pick a patient", "<p>Send the picker form (application/x-www-form-urlencoded).</p>", StatusCodes.Status415UnsupportedMediaType);
        }

        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        var returnUrl = (string?)form["returnUrl"];
        var patient = (string?)form["patient"];
        if (!IsAuthorizeUrl(http, options, returnUrl) || string.IsNullOrEmpty(patient)
            || !await http.RequestServices.GetRequiredService<ISmartPatientPicker>().CanPickAsync(patient, login.Principal!, http.RequestAborted).ConfigureAwait(false))
        {
            return Page("Pick a patient", "<p>That choice cannot be made here.</p>", StatusCodes.Status400BadRequest);
        }

        var username = login.Principal!.FindFirst(Claims.Subject)!.Value;
        var handle = await http.RequestServices.GetRequiredService<ISmartPatientSelections>().CreateAsync(username, patient, http.RequestAborted).ConfigureAwait(false);
        return Results.Redirect($"{returnUrl}&{SmartAuthzDefaults.PickParameter}={handle}");
    }

    // ---------------------------------------------------------------- EHR launch
    public static async Task<IResult> LaunchAsync(HttpContext http)
    {
        var login = await http.AuthenticateAsync(SmartAuthzDefaults.LoginScheme).ConfigureAwait(false);
        if (!login.Succeeded)
        {
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Log in first: the launch is bound to the logged-in user.");
        }

        if (!http.Request.HasFormContentType)
        {
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Send the launch context as a form (patient, encounter, fhirContext, client_id).");
        }

        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        var patient = NullIfEmpty(form["patient"]);
        var encounter = NullIfEmpty(form["encounter"]);
        if (patient is not null && !IsId(patient) || encounter is not null && !IsId(encounter))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "patient and encounter must be FHIR logical ids.");
        }

        var context = new SmartLaunchContext
        {
            Patient = patient,
            Encounter = encounter,
            User = login.Principal!.FindFirst(Claims.Subject)!.Value,
            ClientId = NullIfEmpty(form["client_id"]),
            FhirContext = form["fhirContext"].Where(v => !string.IsNullOrEmpty(v)).Select(v => v!).ToList(),
        };
        var launch = await http.RequestServices.GetRequiredService<ISmartLaunchContexts>().CreateAsync(context, http.RequestAborted).ConfigureAwait(false);
        http.Response.Headers.CacheControl = "no-store";
        return Results.Json(new Dictionary<string, string> { ["launch"] = launch });
    }

    // ---------------------------------------------------------------- helpers
    internal static IEnumerable<string> ClaimDestinations(Claim claim, ClaimsIdentity identity)
    {
        var identityScopes = identity.HasScope("fhirUser") || identity.HasScope(Scopes.Profile);
        return claim.Type switch
        {
            Claims.Subject => Both,
            Claims.Name or SmartAuthzDefaults.FhirUserClaim => identityScopes ? Both : AccessTokenOnly,
            SmartAuthzDefaults.PatientClaim or SmartAuthzDefaults.EncounterClaim or SmartAuthzDefaults.FhirContextClaim => AccessTokenOnly,
            _ => AccessTokenOnly,
        };
    }

    private static string AuthorizeQuery(HttpContext http)
    {
        // POSTed authorization requests (authorize-post) are turned into the equivalent GET URL for the login/picker round trip.
        if (HttpMethods.IsPost(http.Request.Method) && http.Request.HasFormContentType)
        {
            var form = http.Request.Form;
            return QueryString.Create(form.Select(f => new KeyValuePair<string, string?>(f.Key, f.Value.ToString()))).ToString();
        }

        return http.Request.QueryString.ToString();
    }

    private static bool IsAuthorizeUrl(HttpContext http, SmartAuthorizationServerOptions options, string? url) =>
        SmartAuthzDefaults.IsLocalUrl(url) && url!.StartsWith(http.Request.PathBase + options.AuthorizationPath + "?", StringComparison.Ordinal);

    private static string AbsoluteReference(string reference, string fhirBase) =>
        Uri.TryCreate(reference, UriKind.Absolute, out _) ? reference : $"{fhirBase}/{reference.TrimStart('/')}";

    private static string? NullIfEmpty(Microsoft.Extensions.Primitives.StringValues value) => string.IsNullOrEmpty(value) ? null : value.ToString();

    private static bool IsId(string value) => value.Length <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.');

    private static IResult Unavailable() => Forbid(Errors.TemporarilyUnavailable, "The security event could not be recorded; try again later.");

    private static IResult UnavailablePage(string title, string body = "<p>The sign-in service is temporarily unavailable. Try again later.</p>") =>
        Page(title, body, StatusCodes.Status503ServiceUnavailable);

    private static IResult Forbid(string error, string description) => Results.Forbid(
        new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
            [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
        }),
        [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);

    private static string LoginForm(HttpContext http, string? returnUrl, string? error)
    {
        var e = HtmlEncoder.Default;
        var options = http.RequestServices.GetRequiredService<IOptions<SmartAuthorizationServerOptions>>().Value;
        var users = options.Users;
        var hint = (options.LoginPageNote is { Length: > 0 } note ? $"<p class=\"hint\">{e.Encode(note)}</p>" : "") + (users.Count == 0 ? "" : "<p class=\"hint\">Demo users: " + string.Join(", ", users.Select(u => $"<code>{e.Encode(u.Username)}</code> ({e.Encode(u.DisplayName ?? u.FhirUser)})")) + "</p>");
        return (error is null ? "" : $"<p class=\"error\" role=\"alert\">{e.Encode(error)}</p>")
            + CultureInvariant($"<form method=\"post\"><input type=\"hidden\" name=\"returnUrl\" value=\"{e.Encode(SmartAuthzDefaults.IsLocalUrl(returnUrl) ? returnUrl! : "/")}\">")
            + "<label>User <input name=\"username\" id=\"username\" autocomplete=\"username\" required></label>"
            + "<label>Password <input name=\"password\" id=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>"
            + "<button type=\"submit\" id=\"sign-in\">Sign in</button></form>" + hint;
    }

    private static string CultureInvariant(FormattableString s) => FormattableString.Invariant(s);

    internal static IResult Page(string title, string body, int status = StatusCodes.Status200OK)
    {
        var e = HtmlEncoder.Default;
        var html = $"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{e.Encode(title)}</title>"
            + "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}label{display:block;margin:.5rem 0}"
            + "input{padding:.3rem}button{padding:.3rem .8rem;margin:.2rem 0}ul{list-style:none;padding:0}.error{color:#b00}.hint{color:#555;font-size:.9em}</style>"
            + $"</head><body><h1>{e.Encode(title)}</h1>{body}</body></html>";
        return new PageResult(html, status);
    }

    private sealed class PageResult(string html, int status) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = "text/html; charset=utf-8";
            httpContext.Response.Headers.CacheControl = "no-store";
            httpContext.Response.Headers.XFrameOptions = "DENY";
            httpContext.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";
            return httpContext.Response.WriteAsync(html, httpContext.RequestAborted);
        }
    }
}
