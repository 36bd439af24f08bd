using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>At start-up: creates OpenIddict's tables, then makes the registered applications match <see cref="SmartAuthorizationServerOptions.Clients"/>.</summary>
internal sealed class ClientRegistrationSync(IServiceProvider services, IOptions<SmartAuthorizationServerOptions> options, ILogger<ClientRegistrationSync> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SmartAuthorizationDbContext>();
        await db.Database.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await db.Database.ExecuteSqlRawAsync(SingleUseEntry.CreateIfMissing, cancellationToken).ConfigureAwait(false);
        var manager = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        foreach (var client in options.Value.Clients)
        {
            var descriptor = Describe(client);
            var existing = await manager.FindByClientIdAsync(client.ClientId, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                await manager.CreateAsync(descriptor, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await manager.UpdateAsync(existing, descriptor, cancellationToken).ConfigureAwait(false);
            }
        }

        logger.LogInformation("SMART authorization server: {Count} client(s) registered.", options.Value.Clients.Count);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal static OpenIddictApplicationDescriptor Describe(SmartClientRegistration client)
    {
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = client.ClientId,
            DisplayName = client.DisplayName ?? client.ClientId,
            ConsentType = ConsentTypes.Implicit,
            ClientType = client.Type == SmartClientType.Public ? ClientTypes.Public : ClientTypes.Confidential,
        };
        if (client.Type == SmartClientType.ConfidentialSymmetric)
        {
            descriptor.ClientSecret = client.ClientSecret;
        }

        if (client.Type is SmartClientType.ConfidentialAsymmetric or SmartClientType.BackendService)
        {
            // Keys by URL are fetched when an assertion arrives (JwksUrlHandler). Until then OpenIddict (which wants a key for a
            // confidential client without secret) gets a throwaway public key whose private half is discarded: it verifies nothing.
            descriptor.JsonWebKeySet = client.Jwks is { Length: > 0 } jwks ? new JsonWebKeySet(jwks) : PlaceholderKeySet();
        }

        if (client.Type != SmartClientType.Public)
        {
            descriptor.Permissions.Add(Permissions.Endpoints.Introspection);
            descriptor.Permissions.Add(Permissions.Endpoints.Revocation);
        }

        descriptor.Permissions.Add(Permissions.Endpoints.Token);
        if (client.Type == SmartClientType.BackendService)
        {
            descriptor.Permissions.Add(Permissions.GrantTypes.ClientCredentials);
        }
        else
        {
            descriptor.Permissions.Add(Permissions.Endpoints.Authorization);
            descriptor.Permissions.Add(Permissions.GrantTypes.AuthorizationCode);
            descriptor.Permissions.Add(Permissions.GrantTypes.RefreshToken);
            descriptor.Permissions.Add(Permissions.ResponseTypes.Code);
            descriptor.Requirements.Add(Requirements.Features.ProofKeyForCodeExchange);
            foreach (var uri in client.RedirectUris)
            {
                descriptor.RedirectUris.Add(new Uri(uri, UriKind.Absolute));
            }
        }

        return descriptor;
    }

    private static JsonWebKeySet PlaceholderKeySet()
    {
        using var rsa = RSA.Create(2048);
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(false)) { KeyId = "placeholder-until-jwks-url-is-fetched" });
        jwk.Use = "sig";
        var set = new JsonWebKeySet();
        set.Keys.Add(jwk);
        return set;
    }

    /// <summary>Loads the PEM signing key, creating it (RSA 3072) when the file does not exist yet.</summary>
    internal static RsaSecurityKey LoadOrCreateSigningKey(string path)
    {
        var rsa = RSA.Create();
        if (File.Exists(path))
        {
            rsa.ImportFromPem(File.ReadAllText(path));
        }
        else
        {
            rsa.KeySize = 3072;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var pem = rsa.ExportPkcs8PrivateKeyPem();
            File.WriteAllText(path, pem);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        var parameters = rsa.ExportParameters(false);
        var kid = Base64UrlEncoder.Encode(SHA256.HashData(parameters.Modulus!)[..16]);
        return new RsaSecurityKey(rsa) { KeyId = kid };
    }
}
