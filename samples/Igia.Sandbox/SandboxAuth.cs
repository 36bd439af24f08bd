using System.Collections.Concurrent;
using System.Security.Claims;
using Hl7.Fhir.Model;
using Claim = System.Security.Claims.Claim;
using Igia.Fhir.Pipeline;
using Igia.Smart.AuthorizationServer;
using Igia.Smart.ResourceServer;

namespace Igia.Sandbox;

/// <summary>The sandbox's demo identities: users, the demo app, and the principal in-process work runs as.</summary>
internal static class SandboxAuth
{
    public const string DemoAppClientId = "igia-sandbox-app";
    public const string PractitionerUser = "practitioner";
    public const string PatientUser = "patient";
    public const string PractitionerNpi = "1234567890";
    public const string PatientMrn = "MRN100000";

    /// <summary>
    /// The sandbox itself (seeding, the patient picker, the launcher's patient list): an authenticated principal of the SMART
    /// resource server's kind with <c>system/*</c> scopes, so that in-process work passes the scope filter like any token would.
    /// </summary>
    public static ClaimsPrincipal System(string scope) => new(new ClaimsIdentity(
        [new Claim("sub", "igia-sandbox"), new Claim("client_id", "igia-sandbox"), new Claim("scope", scope)],
        SmartResourceServerDefaults.AuthenticationScheme));

    /// <summary>The first URL the sandbox listens on, as apps should see it (wildcard hosts become localhost).</summary>
    public static Uri PublicBaseUrl(IConfiguration configuration)
    {
        var urls = configuration["urls"] ?? configuration["ASPNETCORE_URLS"] ?? "http://localhost:5000";
        var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).First();
        first = first.Replace("://*", "://localhost", StringComparison.Ordinal).Replace("://+", "://localhost", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal).Replace("://[::]", "://localhost", StringComparison.Ordinal);
        return new Uri(first.TrimEnd('/') + "/");
    }
}

/// <summary>
/// Demo users whose FHIR identity is a seeded resource (found by NPI / MRN, since the seed's ids are server-assigned):
/// <c>practitioner</c>/<c>practitioner</c> and <c>patient</c>/<c>patient</c>.
/// </summary>
internal sealed class SandboxUserStore(IServiceScopeFactory scopes) : ISmartUserStore
{
    private readonly ConcurrentDictionary<string, string> _fhirUsers = new(StringComparer.Ordinal);

    public async ValueTask<SmartUser?> ValidateAsync(string username, string password, CancellationToken cancellationToken)
    {
        var user = await FindAsync(username, cancellationToken);
        // Demo credentials (password = user name), documented on the login page; compared in constant time anyway.
        return user is not null && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(password ?? ""), System.Text.Encoding.UTF8.GetBytes(username)) ? user : null;
    }

    public async ValueTask<SmartUser?> FindAsync(string username, CancellationToken cancellationToken)
    {
        var (type, search, display) = username switch
        {
            SandboxAuth.PractitionerUser => ("Practitioner", "http://hl7.org/fhir/sid/us-npi|" + SandboxAuth.PractitionerNpi, "Demo practitioner"),
            SandboxAuth.PatientUser => ("Patient", "urn:oid:1.2.36.146.595.217.0.1|" + SandboxAuth.PatientMrn, "Demo patient"),
            _ => (null, null, null),
        };
        if (type is null)
        {
            return null;
        }

        if (!_fhirUsers.TryGetValue(username, out var fhirUser))
        {
            await using var scope = scopes.CreateAsyncScope();
            var response = await scope.ServiceProvider.GetRequiredService<IFhirInteractionExecutor>().ExecuteAsync(new FhirInteraction
            {
                Kind = FhirInteractionKind.Search,
                ResourceType = type,
                Method = "GET",
                RelativeUrl = type,
                Parameters = [new("identifier", search!)],
                User = SandboxAuth.System($"system/{type}.rs"),
                CancellationToken = cancellationToken,
            });
            var id = (response.Resource as Bundle)?.Entry.Select(e => e.Resource?.Id).FirstOrDefault(i => i is not null);
            if (id is null)
            {
                return null;
            }

            fhirUser = _fhirUsers.GetOrAdd(username, $"{type}/{id}");
        }

        return new SmartUser { Username = username, Password = username, DisplayName = display, FhirUser = fhirUser };
    }
}
