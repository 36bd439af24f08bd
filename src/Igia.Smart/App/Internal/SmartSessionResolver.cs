using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Igia.Smart.App.Internal;

/// <summary>The current session of a request (browser cookie + selected session id), cached in <see cref="HttpContext.Items"/>.</summary>
internal sealed class SmartSessionResolver(IOptions<SmartAppOptions> options, SmartSessionManager manager)
{
    public const string SessionHeader = "X-Smart-Session";
    private static readonly object ItemKey = new();

    private string BrowserCookie => options.Value.CookieName + ".b";

    private string SessionCookie => options.Value.CookieName + ".s";

    public static bool IsToken(string? value) =>
        value is { Length: 43 } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    public string? GetBrowserId(HttpContext context) =>
        context.Request.Cookies.TryGetValue(BrowserCookie, out var value) && IsToken(value) ? value : null;

    public string GetOrCreateBrowserId(HttpContext context)
    {
        if (GetBrowserId(context) is { } existing)
        {
            return existing;
        }

        var id = Protocol.Internal.Pkce.RandomToken(32);
        context.Response.Cookies.Append(BrowserCookie, id, CookieOptions(context));
        return id;
    }

    public void SetSessionCookie(HttpContext context, string sessionId) =>
        context.Response.Cookies.Append(SessionCookie, sessionId, CookieOptions(context));

    public void ClearSessionCookie(HttpContext context) =>
        context.Response.Cookies.Delete(SessionCookie, CookieOptions(context));

    /// <summary>The session id the request selects: query parameter, then header, then the browser's latest-session cookie.</summary>
    public string? GetSelectedSessionId(HttpContext context)
    {
        var o = options.Value;
        if (context.Request.Query.TryGetValue(o.SessionParameterName, out var query) && IsToken(query.ToString()))
        {
            return query.ToString();
        }

        if (context.Request.Headers.TryGetValue(SessionHeader, out var header) && IsToken(header.ToString()))
        {
            return header.ToString();
        }

        return context.Request.Cookies.TryGetValue(SessionCookie, out var cookie) && IsToken(cookie) ? cookie : null;
    }

    public async ValueTask<CurrentSession?> GetCurrentAsync(HttpContext context, CancellationToken cancellationToken)
    {
        CurrentSession? current;
        lock (context.Items)
        {
            if (context.Items.TryGetValue(ItemKey, out var cached) && cached is CurrentSession found)
            {
                return found;
            }
        }

        if (GetBrowserId(context) is not { } browser || GetSelectedSessionId(context) is not { } sessionId)
        {
            return null;
        }

        var key = SmartProtectedStore.SessionKey(browser, sessionId);
        var state = await manager.LoadAsync(key, cancellationToken).ConfigureAwait(false);
        if (state is null)
        {
            return null;
        }

        current = new CurrentSession(key, state);
        lock (context.Items)
        {
            if (context.Items.TryGetValue(ItemKey, out var raced) && raced is CurrentSession other)
            {
                return other;
            }

            context.Items[ItemKey] = current;
        }

        return current;
    }

    // Items is locked because one request may run several FHIR calls (and so token lookups) in parallel.
    public static void Update(HttpContext context, string key, SmartSessionState state)
    {
        lock (context.Items)
        {
            context.Items[ItemKey] = new CurrentSession(key, state);
        }
    }

    public static void Forget(HttpContext context)
    {
        lock (context.Items)
        {
            context.Items.Remove(ItemKey);
        }
    }

    private CookieOptions CookieOptions(HttpContext context) => new()
    {
        HttpOnly = true,
        IsEssential = true,
        SameSite = SameSiteMode.Lax,
        Path = context.Request.PathBase.HasValue ? context.Request.PathBase.Value : "/",
        Secure = options.Value.CookieSecurePolicy switch
        {
            CookieSecurePolicy.Always => true,
            CookieSecurePolicy.None => false,
            _ => context.Request.IsHttps,
        },
    };
}

/// <summary>A resolved session: its store key and state.</summary>
internal sealed record CurrentSession(string Key, SmartSessionState State);
