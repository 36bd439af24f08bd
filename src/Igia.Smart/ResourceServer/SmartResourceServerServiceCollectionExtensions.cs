using Igia.Fhir.Capabilities;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Search;
using Igia.Smart.Protocol.Internal;
using Igia.Smart.ResourceServer;
using Igia.Smart.ResourceServer.Internal;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SMART resource server: token validation and scope enforcement on the Igia FHIR server.</summary>
public static class SmartResourceServerServiceCollectionExtensions
{
    /// <summary>
    /// Protects the Igia FHIR server with SMART on FHIR: access tokens are validated (JWTs against the issuer's discovered,
    /// cached and rotated keys; opaque tokens by introspection when configured) for issuer, audience (the FHIR base), lifetime and
    /// signature, and the token's SMART v1/v2 scopes are enforced on every interaction by a pipeline filter (default deny).
    /// Also registers the CORS policy <see cref="SmartResourceServerDefaults.CorsPolicy"/> and the CapabilityStatement's security
    /// section. Map <c>.well-known/smart-configuration</c> with <c>MapIgiaSmartConfiguration</c>.
    /// </summary>
    /// <param name="services">The service collection (with <c>AddIgiaFhirServer</c>).</param>
    /// <param name="configure">Sets at least <see cref="SmartResourceServerOptions.Authority"/> and <see cref="SmartResourceServerOptions.Audience"/>.</param>
    /// <returns>A builder for further configuration.</returns>
    public static IgiaSmartResourceServerBuilder AddIgiaSmartResourceServer(this IServiceCollection services, Action<SmartResourceServerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<SmartResourceServerOptions>().Configure(configure).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SmartResourceServerOptions>, SmartResourceServerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddMemoryCache();
        services.AddHttpClient(SmartResourceServerDefaults.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(15));
        services.TryAddSingleton<SearchParameterRegistry>();
        services.TryAddSingleton<FhirCompartmentMembership>();
        services.TryAddSingleton<ISmartUserAccessPolicy, ScopeOnlyUserAccessPolicy>();
        services.TryAddSingleton<SmartServerDocuments>();
        services.TryAddSingleton<SmartAccessCache>();
        services.AddSingleton<IFhirInteractionFilter, SmartAuthorizationFilter>();
        services.AddSingleton<IFhirWriteValidator, PatientPatchValidator>();
        services.AddSingleton<ICapabilityStatementContributor, SmartCapabilityContributor>();

        services.AddAuthentication()
            .AddPolicyScheme(SmartResourceServerDefaults.AuthenticationScheme, "SMART access token", o =>
            {
                o.ForwardDefaultSelector = context =>
                    SmartTokenShape.BearerToken(context.Request) is { } token && !SmartTokenShape.LooksLikeJwt(token)
                        ? SmartResourceServerDefaults.IntrospectionScheme
                        : SmartResourceServerDefaults.JwtScheme;
            })
            .AddJwtBearer(SmartResourceServerDefaults.JwtScheme, _ => { })
            .AddScheme<AuthenticationSchemeOptions, SmartIntrospectionHandler>(SmartResourceServerDefaults.IntrospectionScheme, _ => { });

        // Not made the default scheme: the filter authenticates FHIR interactions itself (remembering recent tokens), so requests
        // do not pay for authentication twice. Set AuthenticationOptions.DefaultScheme to it for other endpoints to see the user.
        services.AddOptions<JwtBearerOptions>(SmartResourceServerDefaults.JwtScheme)
            .Configure<IOptions<SmartResourceServerOptions>, IHttpClientFactory, TimeProvider>((jwt, smart, factory, time) => ConfigureJwt(jwt, smart.Value, factory, time));

        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<SmartResourceServerOptions>>((cors, smart) => cors.AddPolicy(SmartResourceServerDefaults.CorsPolicy, policy =>
        {
            if (smart.Value.CorsOrigins.Count == 0)
            {
                policy.AllowAnyOrigin();
            }
            else
            {
                policy.WithOrigins([.. smart.Value.CorsOrigins]);
            }

            policy.WithMethods("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
                .WithHeaders("Authorization", "Content-Type", "Accept", "If-Match", "If-None-Match", "If-None-Exist", "If-Modified-Since", "Prefer", "X-Request-Id")
                .WithExposedHeaders("Location", "Content-Location", "ETag", "Last-Modified", "WWW-Authenticate")
                .SetPreflightMaxAge(TimeSpan.FromHours(1));
        }));
        return new IgiaSmartResourceServerBuilder(services);
    }

    private static void ConfigureJwt(JwtBearerOptions jwt, SmartResourceServerOptions smart, IHttpClientFactory factory, TimeProvider time)
    {
        if (smart.Authority is null || smart.Audience is null)
        {
            return; // options validation reports it at start-up
        }

        var authority = smart.Authority.AbsoluteUri.TrimEnd('/');
        var audience = smart.Audience.TrimEnd('/');
        jwt.Authority = authority;
        jwt.MetadataAddress = (smart.MetadataAddress ?? new Uri(authority + "/.well-known/openid-configuration")).AbsoluteUri;
        jwt.RequireHttpsMetadata = !SmartHttp.IsLoopback(smart.Authority);
        jwt.Backchannel = factory.CreateClient(SmartResourceServerDefaults.HttpClientName);
        jwt.MapInboundClaims = false;
        jwt.RefreshOnIssuerKeyNotFound = true;
        jwt.AutomaticRefreshInterval = smart.MetadataRefreshInterval;
        jwt.RefreshInterval = smart.KeyRefreshInterval < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : smart.KeyRefreshInterval;
        jwt.ConfigurationManager = new SmartKeyManager(jwt.MetadataAddress, jwt.Backchannel, jwt.RequireHttpsMetadata, jwt.AutomaticRefreshInterval, jwt.RefreshInterval, time);
        var cache = new SmartValidatedTokenCache(smart.ValidatedTokenCacheDuration, time);
        jwt.Events = new JwtBearerEvents
        {
            OnMessageReceived = cache.OnMessageReceivedAsync,
            OnTokenValidated = cache.OnTokenValidatedAsync,
            OnAuthenticationFailed = SmartKeyManager.RetryWithFreshKeysAsync,
        };
        jwt.SaveToken = false;
        jwt.IncludeErrorDetails = false;
        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            AuthenticationType = SmartResourceServerDefaults.AuthenticationScheme,
            ValidateIssuer = true,
            ValidIssuers = [authority, authority + "/"],
            ValidateAudience = true,
            ValidAudiences = [audience, audience + "/"],
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ClockSkew = smart.ClockSkew,
            ValidAlgorithms = [.. smart.ValidAlgorithms],
            NameClaimType = "sub",
        };
    }

    /// <summary>
    /// Serves <c>{fhirPrefix}/.well-known/smart-configuration</c> (anonymous, with the SMART CORS policy), listing the
    /// authorization server's endpoints and what this deployment supports.
    /// </summary>
    /// <param name="endpoints">The app's endpoint route builder.</param>
    /// <param name="fhirPrefix">The prefix the FHIR server is mapped at (as given to <c>MapIgiaFhir</c>).</param>
    public static IEndpointConventionBuilder MapIgiaSmartConfiguration(this IEndpointRouteBuilder endpoints, string fhirPrefix = "/fhir")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var prefix = "/" + fhirPrefix.Trim('/');
        prefix = prefix == "/" ? "" : prefix;
        return endpoints.MapGet(prefix + "/.well-known/smart-configuration", async (HttpContext context, SmartServerDocuments documents) =>
            {
                var json = await documents.SmartConfigurationAsync(context.RequestAborted);
                context.Response.Headers.CacheControl = "public, max-age=3600";
                return Results.Text(json.ToJsonString(), "application/json");
            })
            .WithDisplayName("SMART configuration")
            .RequireCors(SmartResourceServerDefaults.CorsPolicy)
            .AllowAnonymous();
    }
}

/// <summary>Further configuration of the SMART resource server returned by <c>AddIgiaSmartResourceServer</c>.</summary>
/// <param name="Services">The application's service collection.</param>
public sealed record IgiaSmartResourceServerBuilder(IServiceCollection Services)
{
    /// <summary>Uses <typeparamref name="TPolicy"/> to apply the <c>fhirUser</c>'s own rights on top of <c>user/</c> scopes.</summary>
    /// <typeparam name="TPolicy">The policy.</typeparam>
    public IgiaSmartResourceServerBuilder UseUserAccessPolicy<TPolicy>()
        where TPolicy : class, ISmartUserAccessPolicy
    {
        Services.RemoveAll<ISmartUserAccessPolicy>();
        Services.AddSingleton<ISmartUserAccessPolicy, TPolicy>();
        return this;
    }
}

/// <summary>Checks what data annotations cannot.</summary>
internal sealed class SmartResourceServerOptionsValidator : IValidateOptions<SmartResourceServerOptions>
{
    public ValidateOptionsResult Validate(string? name, SmartResourceServerOptions options)
    {
        var errors = new List<string>();
        if (options.Authority is { } authority && !SmartHttp.IsSecure(authority))
        {
            errors.Add($"{nameof(SmartResourceServerOptions.Authority)} must use HTTPS (plain HTTP is allowed on loopback only).");
        }

        if (options.Audience is { } audience && !Uri.TryCreate(audience, UriKind.Absolute, out _))
        {
            errors.Add($"{nameof(SmartResourceServerOptions.Audience)} must be the absolute FHIR base URL.");
        }

        if (options.ValidAlgorithms.Any(a => a is "none" || a.StartsWith("HS", StringComparison.Ordinal)))
        {
            errors.Add($"{nameof(SmartResourceServerOptions.ValidAlgorithms)} may not contain 'none' or HMAC algorithms.");
        }

        if (options.Introspection is { } i && (i.Endpoint is null || string.IsNullOrEmpty(i.ClientId)))
        {
            errors.Add("Introspection needs an Endpoint and a ClientId.");
        }
        else if (options.Introspection?.Endpoint is { } endpoint && !SmartHttp.IsSecure(endpoint))
        {
            errors.Add("The introspection endpoint must use HTTPS (plain HTTP is allowed on loopback only).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
