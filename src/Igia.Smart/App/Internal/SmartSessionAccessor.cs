using Igia.Smart.Protocol;
using Microsoft.AspNetCore.Http;

namespace Igia.Smart.App.Internal;

internal sealed class SmartSessionAccessor(IHttpContextAccessor httpContextAccessor, SmartSessionResolver resolver, SmartSessionManager manager) : ISmartSessionAccessor
{
    public async ValueTask<SmartSession?> GetCurrentAsync(CancellationToken cancellationToken = default) =>
        HttpContext is { } context && await resolver.GetCurrentAsync(context, cancellationToken).ConfigureAwait(false) is { } current
            ? current.State.ToPublic()
            : null;

    public async ValueTask<string> GetAccessTokenAsync(CancellationToken cancellationToken = default)
    {
        var (context, current) = await RequireAsync(cancellationToken).ConfigureAwait(false);
        var (token, state) = await manager.GetAccessTokenAsync(current.Key, current.State, cancellationToken).ConfigureAwait(false);
        if (!ReferenceEquals(state, current.State))
        {
            SmartSessionResolver.Update(context, current.Key, state);
        }

        return token;
    }

    public async ValueTask<SmartSession> RefreshAsync(CancellationToken cancellationToken = default)
    {
        var (context, current) = await RequireAsync(cancellationToken).ConfigureAwait(false);
        var state = await manager.RefreshAsync(current.Key, null, cancellationToken).ConfigureAwait(false);
        SmartSessionResolver.Update(context, current.Key, state);
        return state.ToPublic();
    }

    public async ValueTask EndAsync(CancellationToken cancellationToken = default)
    {
        if (HttpContext is not { } context)
        {
            return;
        }

        if (await resolver.GetCurrentAsync(context, cancellationToken).ConfigureAwait(false) is { } current)
        {
            await manager.RemoveAsync(current.Key, cancellationToken).ConfigureAwait(false);
        }

        SmartSessionResolver.Forget(context);
        resolver.ClearSessionCookie(context);
    }

    internal async ValueTask<(HttpContext Context, CurrentSession Session)> RequireAsync(CancellationToken cancellationToken)
    {
        var context = HttpContext
            ?? throw new SmartException(SmartErrorCode.NoSession, "There is no HTTP request in progress, so there is no SMART session; SMART sessions are used inside requests of the browser that launched the app.");
        var current = await resolver.GetCurrentAsync(context, cancellationToken).ConfigureAwait(false)
            ?? throw new SmartException(SmartErrorCode.NoSession, "This browser has no SMART session; launch the app (EHR or standalone launch) first.");
        return (context, current);
    }

    private HttpContext? HttpContext => httpContextAccessor.HttpContext;
}
