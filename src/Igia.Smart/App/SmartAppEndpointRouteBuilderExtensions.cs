using Igia.Smart.App;
using Igia.Smart.App.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the SMART app endpoints.</summary>
public static class SmartAppEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <see cref="SmartAppOptions.LaunchPath"/> (<c>GET /launch</c>: EHR launch with <c>iss</c> and <c>launch</c>, or standalone
    /// launch with <c>server</c> or <c>iss</c>, optional local <c>returnUrl</c>) and <see cref="SmartAppOptions.CallbackPath"/>
    /// (<c>GET /callback</c>). Both allow anonymous access. Returns a convention builder for both (e.g. to add rate limiting).
    /// </summary>
    /// <param name="endpoints">The endpoint route builder (the app).</param>
    public static IEndpointConventionBuilder MapIgiaSmartApp(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetService<IOptions<SmartAppOptions>>()?.Value
            ?? throw new InvalidOperationException("Call services.AddIgiaSmartApp(...) before app.MapIgiaSmartApp().");
        var group = endpoints.MapGroup("");
        group.MapGet(options.LaunchPath, (HttpContext context, SmartLaunchHandler handler) => handler.LaunchAsync(context))
            .WithDisplayName("SMART launch").ExcludeFromDescription();
        group.MapGet(options.CallbackPath, (HttpContext context, SmartLaunchHandler handler) => handler.CallbackAsync(context))
            .WithDisplayName("SMART callback").ExcludeFromDescription();
        group.AllowAnonymous();
        return group;
    }
}
