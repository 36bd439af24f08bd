using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Audit.Tests.Infrastructure;

/// <summary>
/// A real ASP.NET Core authentication scheme for tests: the principal's claims come from the <c>X-Test-Principal</c>
/// header (<c>sub=u1;fhirUser=Practitioner/p1;client_id=app;jti=t1;iss=https://idp</c>), standing in for the SMART
/// token handler (issue 5) with the same claim names. <c>invalid</c> fails authentication.
/// </summary>
public sealed class TestAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Test";
    public const string Header = "X-Test-Principal";

    public static string Principal(string sub = "user-1", string? fhirUser = "Practitioner/dr-1", string? clientId = "app-1", string? jti = "token-1", string? iss = "https://idp.example.org") =>
        string.Join(";", new[] { ("sub", sub), ("fhirUser", fhirUser), ("client_id", clientId), ("jti", jti), ("iss", iss) }.Where(p => p.Item2 is not null).Select(p => $"{p.Item1}={p.Item2}"));

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var value = Request.Headers[Header].ToString();
        if (value.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (value == "invalid")
        {
            return Task.FromResult(AuthenticateResult.Fail("The test token is invalid."));
        }

        var pairs = value.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToList();
        var issuer = pairs.FirstOrDefault(p => p[0] == "iss")?[1] ?? "https://idp.example.org";
        var claims = pairs.Where(p => p[0] != "iss").Select(p => new Claim(p[0], p[1], ClaimValueTypes.String, issuer)).ToList();
        claims.Add(new Claim("iss", issuer, ClaimValueTypes.String, issuer));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, "sub", "role"));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }
}
