using System.Security.Claims;
using Igia.Smart.Protocol;
using Igia.Smart.ResourceServer;
using Igia.Smart.ResourceServer.Internal;
using Microsoft.Extensions.Options;

namespace Igia.Smart.Tests.ResourceServer;

/// <summary>The access cache hashes only the end of the Authorization header; a hit must still need the whole header.</summary>
public sealed class SmartAccessCacheTests
{
    private static readonly string Tail = new('s', 64);

    [Fact]
    public void Headers_that_differ_only_before_their_last_64_characters_are_different_entries()
    {
        var cache = new SmartAccessCache(Options.Create(new SmartResourceServerOptions()), TimeProvider.System);
        var remembered = "Bearer header.payload-a." + Tail;
        var access = Access();
        cache.Remember(remembered, jwt: true, access);

        Assert.Same(access, cache.Find(new string(remembered.AsSpan()))); // equal text, another string instance
        Assert.Null(cache.Find("Bearer header.payload-b." + Tail)); // same tail (a tampered payload keeps the signature)
        Assert.Null(cache.Find("Bearer header.payload-a" + Tail)); // one character shorter
        Assert.Null(cache.Find(Tail)); // the tail alone
    }

    [Fact]
    public void A_short_header_is_found_by_its_whole_text()
    {
        var cache = new SmartAccessCache(Options.Create(new SmartResourceServerOptions()), TimeProvider.System);
        var access = Access();
        cache.Remember("Bearer abc", jwt: true, access);

        Assert.Same(access, cache.Find("Bearer abc"));
        Assert.Null(cache.Find("Bearer abd"));
    }

    private static SmartAccess Access()
    {
        var exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim("exp", exp)], SmartResourceServerDefaults.AuthenticationScheme));
        return new SmartAccess(SmartScope.ParseGranted("patient/*.read"), "pa", null, null, principal);
    }
}
