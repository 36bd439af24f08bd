using System.Security.Cryptography;
using Igia.Smart.AuthorizationServer;
using Igia.Smart.AuthorizationServer.Internal;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SMART authorization server.</summary>
public static class SmartAuthorizationServerServiceCollectionExtensions
{
    /// <summary>
    /// Adds a SMART App Launch 2.2 authorization server on OpenIddict (EF Core + SQLite store): authorization, token,
    /// introspection, revocation and JWKS endpoints, the login page, the patient picker and the EHR launch endpoint. Map the
    /// endpoints with <c>app.MapIgiaSmartAuthorizationServer()</c>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the options (validated at start-up). It also runs once at registration to read the endpoint paths and <see cref="SmartAuthorizationServerOptions.AllowHttp"/>.</param>
    /// <returns>A builder for further configuration.</returns>
    public static IgiaSmartAuthorizationServerBuilder AddIgiaSmartAuthorizationServer(this IServiceCollection services, Action<SmartAuthorizationServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var snapshot = new SmartAuthorizationServerOptions();
        configure?.Invoke(snapshot);

        services.AddOptions<SmartAuthorizationServerOptions>()
            .Configure(o => configure?.Invoke(o))
            .ValidateDataAnnotations()
            .Validate(o => o.Clients.All(c => !string.IsNullOrWhiteSpace(c.ClientId)), "Every client needs a ClientId.")
            .Validate(o => o.Clients.Select(c => c.ClientId).Distinct(StringComparer.Ordinal).Count() == o.Clients.Count, "Client ids must be unique.")
            .Validate(o => o.Clients.Where(c => c.Type == SmartClientType.ConfidentialSymmetric).All(c => !string.IsNullOrEmpty(c.ClientSecret)), "A ConfidentialSymmetric client needs a ClientSecret.")
            .Validate(o => o.Clients.Where(c => c.Type is SmartClientType.ConfidentialAsymmetric or SmartClientType.BackendService).All(c => !string.IsNullOrEmpty(c.Jwks) || c.JwksUrl is not null), "An asymmetric or Backend Services client needs Jwks or JwksUrl.")
            .Validate(o => o.Clients.Where(c => c.Type != SmartClientType.BackendService).All(c => c.RedirectUris.Count > 0 && c.RedirectUris.All(u => Uri.TryCreate(u, UriKind.Absolute, out _))), "Every client but Backend Services needs absolute RedirectUris.")
            .Validate(o => o.MaxClientAssertionLifetime > TimeSpan.Zero && o.MaxClientAssertionLifetime <= TimeSpan.FromMinutes(5), "MaxClientAssertionLifetime must be at most 5 minutes (SMART Backend Services).")
            .Validate(o => o.EventSinkTimeout > TimeSpan.Zero, "EventSinkTimeout must be positive.")
            .Validate(o => o.Users.Select(u => u.Username).Distinct(StringComparer.Ordinal).Count() == o.Users.Count, "Usernames must be unique.")
            .ValidateOnStart();

        // OpenIddict logs whole protocol messages at Information/Debug (code_verifier, client assertions…): its categories are
        // capped at Warning unless the host asks for them (SmartAuthorizationServerOptions.LogProtocolMessages).
        if (!snapshot.LogProtocolMessages)
        {
            services.AddLogging(b => b.AddFilter("OpenIddict", Microsoft.Extensions.Logging.LogLevel.Warning));
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ISmartUserStore, ConfiguredUserStore>();
        services.TryAddSingleton<SingleUseStore>();
        services.TryAddSingleton<ISmartLaunchContexts, DatabaseLaunchContexts>();
        services.TryAddSingleton<ISmartPatientSelections, DatabasePatientSelections>();
        services.TryAddScoped<ISmartPatientPicker, FhirStorePatientPicker>();
        services.TryAddSingleton<JtiReplayCache>();
        services.AddHttpClient(JwksUrlHandler.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(10));
        services.AddHostedService<ClientRegistrationSync>();
        services.AddTransient<Microsoft.AspNetCore.Hosting.IStartupFilter, MalformedFormFilter>();

        // The context options are built once (singleton), not per scope: the connection string is fixed (IOptions), so
        // parsing it again on every token request would be work done for nothing.
        services.AddDbContext<SmartAuthorizationDbContext>(
            (sp, o) =>
            {
                o.UseSqlite(WithoutPoolingUnlessSet(sp.GetRequiredService<IOptions<SmartAuthorizationServerOptions>>().Value.ConnectionString));
                o.UseOpenIddict();
            },
            optionsLifetime: ServiceLifetime.Singleton);

        services.AddAuthentication().AddCookie(SmartAuthzDefaults.LoginScheme, o =>
        {
            o.Cookie.Name = ".Igia.Smart.Login";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.LoginPath = snapshot.LoginPath;
            o.ExpireTimeSpan = snapshot.LoginLifetime;
            o.SlidingExpiration = false;
        });

        services.AddOpenIddict()
            .AddCore(o => o.UseEntityFrameworkCore().UseDbContext<SmartAuthorizationDbContext>())
            .AddServer(o =>
            {
                if (snapshot.Issuer is not null)
                {
                    o.SetIssuer(snapshot.Issuer);
                }

                o.SetAuthorizationEndpointUris(Relative(snapshot.AuthorizationPath))
                    .SetTokenEndpointUris(Relative(snapshot.TokenPath))
                    .SetIntrospectionEndpointUris(Relative(snapshot.IntrospectionPath))
                    .SetRevocationEndpointUris(Relative(snapshot.RevocationPath))
                    .SetJsonWebKeySetEndpointUris(Relative(snapshot.JwksPath));
                o.AllowAuthorizationCodeFlow().AllowRefreshTokenFlow().AllowClientCredentialsFlow();
                o.RequireProofKeyForCodeExchange();
                o.DisableAccessTokenEncryption();      // SMART resource servers validate JWT access tokens against the JWKS.
                o.DisableScopeValidation();            // SMART scopes are open-ended: granted = requested ∩ the client's allowed list (ScopeGrant).
                o.IgnoreScopePermissions();
                o.RegisterScopes(Scopes.OpenId, Scopes.Profile, "fhirUser", "launch", "launch/patient", "launch/encounter",
                    Scopes.OfflineAccess, "online_access");
                o.RegisterClaims(Claims.Subject, Claims.Name, SmartAuthzDefaults.FhirUserClaim);
                o.SetAccessTokenLifetime(snapshot.AccessTokenLifetime)
                    .SetAuthorizationCodeLifetime(snapshot.AuthorizationCodeLifetime)
                    .SetRefreshTokenLifetime(snapshot.OfflineRefreshTokenLifetime)
                    .SetIdentityTokenLifetime(snapshot.AccessTokenLifetime);
                o.Configure(s =>
                {
                    // PKCE: S256 only; "plain" is refused (SMART App Launch 2.x).
                    s.CodeChallengeMethods.Clear();
                    s.CodeChallengeMethods.Add(CodeChallengeMethods.Sha256);
                });
                foreach (var replaced in SmartClientAssertionHandler.Replaced)
                {
                    o.RemoveEventHandler(replaced);
                }

                o.AddEventHandler(ValidateAudienceHandler.Descriptor)
                    .AddEventHandler(SmartClientAssertionHandler.Descriptor)
                    .AddEventHandler(JwksUrlHandler.Descriptor)
                    .AddEventHandler(IntrospectionContextHandler.Descriptor)
                    .RemoveEventHandler(OpenIddictServerHandlers.Introspection.ValidateAuthorizedParty.Descriptor)
                    .AddEventHandler(IntrospectionAuthorizedPartyHandler.Descriptor)
                    .AddEventHandler(OnlineAccessRefreshHandler.Descriptor)
                    .AddEventHandler(TemporarilyUnavailableStatusHandler.Descriptor);

                var aspNetCore = o.UseAspNetCore().EnableAuthorizationEndpointPassthrough().EnableTokenEndpointPassthrough();
                if (snapshot.AllowHttp)
                {
                    aspNetCore.DisableTransportSecurityRequirement();
                }
            });

        services.AddOptions<OpenIddictServerOptions>().Configure<IOptions<SmartAuthorizationServerOptions>>((server, smart) =>
        {
            var file = smart.Value.SigningKeyFile;
            RsaSecurityKey signing;
            SymmetricSecurityKey encryption;
            if (file is { Length: > 0 })
            {
                signing = ClientRegistrationSync.LoadOrCreateSigningKey(file);
                encryption = LoadOrCreateSymmetricKey(file + ".enc");
            }
            else
            {
                signing = new RsaSecurityKey(RSA.Create(3072)) { KeyId = SmartAuthzDefaults.NewHandle()[..16] };
                encryption = new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32));
            }

            server.SigningCredentials.Add(new SigningCredentials(signing, SecurityAlgorithms.RsaSha256));
            server.EncryptionCredentials.Add(new EncryptingCredentials(encryption, SecurityAlgorithms.Aes256KW, SecurityAlgorithms.Aes256CbcHmacSha512));
        });

        return new IgiaSmartAuthorizationServerBuilder(services);
    }

    private static string Relative(string path) => path.TrimStart('/');

    private static SymmetricSecurityKey LoadOrCreateSymmetricKey(string path)
    {
        if (!File.Exists(path))
        {
            File.WriteAllText(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        return new SymmetricSecurityKey(Convert.FromBase64String(File.ReadAllText(path).Trim()));
    }

    /// <summary>
    /// Turns Microsoft.Data.Sqlite's connection pooling off unless the connection string sets it: under concurrent opens that
    /// pool can lend one connection to two owners at once (dotnet/efcore#39008, open in 10.0.x), which breaks transactions.
    /// Opening a SQLite file per unit of work costs tens of microseconds, small next to a token request.
    /// </summary>
    internal static string WithoutPoolingUnlessSet(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        return given.ContainsKey("Pooling")
            ? connectionString
            : new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString();
    }
}
