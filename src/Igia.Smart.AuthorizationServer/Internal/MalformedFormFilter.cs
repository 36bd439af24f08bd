using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>
/// ASP.NET Core's form reader throws <see cref="InvalidDataException"/> for a form it cannot decode (e.g. <c>%00</c> in a value,
/// or a form over its limits); OpenIddict reads token and authorization forms inside the authentication middleware, so that
/// would be a 500. This startup filter puts a guard in front of the pipeline that answers 400 <c>invalid_request</c> for the
/// authorization server's paths instead.
/// </summary>
internal sealed class MalformedFormFilter(IOptions<SmartAuthorizationServerOptions> options) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            try
            {
                await nextMiddleware(context).ConfigureAwait(false);
            }
            catch (InvalidDataException) when (!context.Response.HasStarted && IsOurs(context.Request.Path))
            {
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                context.Response.Headers.CacheControl = "no-store";
                await context.Response.WriteAsJsonAsync(new Dictionary<string, string>
                {
                    ["error"] = "invalid_request",
                    ["error_description"] = "The request body could not be read as a form.",
                }).ConfigureAwait(false);
            }
        });
        next(app);
    };

    private bool IsOurs(PathString path)
    {
        var o = options.Value;
        return new[] { o.AuthorizationPath, o.TokenPath, o.IntrospectionPath, o.RevocationPath, o.LoginPath, o.LogoutPath, o.PatientPickerPath, o.LaunchPath }
            .Any(p => path.Equals(p, StringComparison.OrdinalIgnoreCase));
    }
}
