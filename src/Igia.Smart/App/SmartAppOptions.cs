using System.ComponentModel.DataAnnotations;
using Igia.Smart.Protocol;
using Microsoft.AspNetCore.Http;

namespace Igia.Smart.App;

/// <summary>Settings of the SMART app endpoints and sessions (<c>AddIgiaSmartApp</c>), validated at start-up.</summary>
public sealed class SmartAppOptions
{
    /// <summary>The path of the launch endpoint: the app's "launch URL" registered with the EHR. Default <c>/launch</c>.</summary>
    [Required]
    public string LaunchPath { get; set; } = "/launch";

    /// <summary>The path of the callback endpoint (the path of the registered <c>redirect_uri</c>). Default <c>/callback</c>.</summary>
    [Required]
    public string CallbackPath { get; set; } = "/callback";

    /// <summary>Where the browser goes after a successful launch, unless a standalone launch asked for a local <c>returnUrl</c>. Default <c>/</c>.</summary>
    [Required]
    public string DefaultReturnUrl { get; set; } = "/";

    /// <summary>
    /// When true (the default), the session id is appended to the return URL as <see cref="SessionParameterName"/>, so that a
    /// page can send it back (query or <c>X-Smart-Session</c> header) and keep talking about its own patient when the same
    /// browser has launched the app twice (two EHR tabs, two patients). Without it, requests use the browser's most recent launch.
    /// The id alone is useless: sessions are also bound to the browser's cookie.
    /// </summary>
    public bool AppendSessionToReturnUrl { get; set; } = true;

    /// <summary>The query parameter that selects a session (see <see cref="AppendSessionToReturnUrl"/>). Default <c>smart_session</c>.</summary>
    [Required]
    public string SessionParameterName { get; set; } = "smart_session";

    /// <summary>The prefix of the cookies that bind launches and sessions to the browser. Default <c>.Igia.Smart</c>.</summary>
    [Required]
    public string CookieName { get; set; } = ".Igia.Smart";

    /// <summary>Whether the cookies are marked <c>Secure</c>. Default: when the request is HTTPS.</summary>
    public CookieSecurePolicy CookieSecurePolicy { get; set; } = CookieSecurePolicy.SameAsRequest;

    /// <summary>How long a launch may take, from <c>/launch</c> to <c>/callback</c>, before its <c>state</c> expires. Default ten minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "01:00:00")]
    public TimeSpan AuthorizationTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a session (its tokens and launch context) is kept after the launch. Default twelve hours.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>How long before its expiry an access token is refreshed (when there is a refresh token). Default two minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Called after a launch completed and its session was stored, before the redirect to the return URL — e.g. to sign the
    /// user in with cookie authentication using <see cref="SmartSession.FhirUser"/>. Optional.
    /// </summary>
    public Func<HttpContext, SmartSession, Task>? OnSessionStarted { get; set; }

    /// <summary>
    /// Renders a refused launch or callback (the exception says which check failed). Default: a 400 (502 when a server could not
    /// be reached) problem-details response naming the check. Optional.
    /// </summary>
    public Func<HttpContext, SmartException, IResult>? OnLaunchFailed { get; set; }
}
