using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>Default <see cref="ISmartUserStore"/>: the users of <see cref="SmartAuthorizationServerOptions.Users"/>.</summary>
internal sealed class ConfiguredUserStore(IOptions<SmartAuthorizationServerOptions> options) : ISmartUserStore
{
    public ValueTask<SmartUser?> ValidateAsync(string username, string password, CancellationToken cancellationToken)
    {
        var user = Find(username);
        // Compare in constant time; compare against a dummy when the user is unknown so both paths cost the same.
        var expected = Encoding.UTF8.GetBytes(user?.Password ?? "\0unknown-user\0");
        var given = Encoding.UTF8.GetBytes(password ?? "");
        var ok = CryptographicOperations.FixedTimeEquals(SHA256.HashData(expected), SHA256.HashData(given));
        return ValueTask.FromResult(user is not null && ok ? user : null);
    }

    public ValueTask<SmartUser?> FindAsync(string username, CancellationToken cancellationToken) => ValueTask.FromResult(Find(username));

    private SmartUser? Find(string? username) =>
        options.Value.Users.FirstOrDefault(u => string.Equals(u.Username, username, StringComparison.Ordinal));
}
