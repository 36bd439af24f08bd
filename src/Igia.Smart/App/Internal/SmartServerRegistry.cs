using Igia.Smart.Protocol;
using Igia.Smart.Protocol.Internal;
using Microsoft.Extensions.Options;

namespace Igia.Smart.App.Internal;

/// <summary>The names given to <c>AddServer</c> (kept as a singleton instance in the service collection).</summary>
internal sealed class SmartServerNames
{
    private readonly List<string> _names = [];

    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_names)
            {
                return _names.ToArray();
            }
        }
    }

    public bool Add(string name)
    {
        lock (_names)
        {
            if (_names.Contains(name, StringComparer.Ordinal))
            {
                return false;
            }

            _names.Add(name);
            return true;
        }
    }
}

/// <summary>One registered server, resolved from its options.</summary>
internal sealed record SmartServer(string Name, SmartServerOptions Options)
{
    public Uri FhirBaseUrl => Options.FhirBaseUrl!;

    public SmartClientCredentials Credentials { get; } = new(
        Options.ClientId!,
        Options.ClientAuthentication,
        Options.ClientSecret,
        Options.SigningKey,
        Options.AssertionLifetime);
}

/// <summary>Finds registered servers by name or by FHIR base (the EHR launch allow-list).</summary>
internal sealed class SmartServerRegistry(SmartServerNames names, IOptionsMonitor<SmartServerOptions> options)
{
    public IReadOnlyList<string> Names => names.Names;

    public SmartServer? FindByName(string name) =>
        names.Names.Contains(name, StringComparer.Ordinal) ? new SmartServer(name, options.Get(name)) : null;

    /// <summary>The server whose FHIR base equals <paramref name="iss"/> (scheme and host case-insensitive, one trailing slash ignored).</summary>
    public SmartServer? FindByIssuer(Uri iss)
    {
        var wanted = SmartHttp.Normalize(iss);
        foreach (var name in names.Names)
        {
            var o = options.Get(name);
            if (o.FhirBaseUrl is { } baseUrl && string.Equals(SmartHttp.Normalize(baseUrl), wanted, StringComparison.Ordinal))
            {
                return new SmartServer(name, o);
            }
        }

        return null;
    }
}
