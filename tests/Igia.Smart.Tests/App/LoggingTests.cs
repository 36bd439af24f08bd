using System.Net;
using Igia.Smart.Tests.Infrastructure;

namespace Igia.Smart.Tests.App;

/// <summary>Tokens, codes, verifiers, states and secrets never reach the logs, whatever the flow.</summary>
[Collection(SmartCollection.Name)]
public sealed class LoggingTests(SmartEnvironment env)
{
    /// <summary>
    /// ASP.NET Core's own request log writes each request URL, query string included, at Information level; for the callback
    /// that is the (single-use, PKCE-bound) code and the state. It is the host's log, not this package's, and docs/smart-app.md
    /// says to keep it at Warning (as the default templates do) — so it is left out here, and everything else is checked at Trace.
    /// </summary>
    private static readonly string[] HostRequestLog = ["Microsoft.AspNetCore.Hosting.Diagnostics"];

    [Fact]
    public async Task Logs_LaunchesRefreshesFailuresAndFhirCalls_NeverContainTokensCodesVerifiersStatesOrSecrets()
    {
        var since = OidcProviderProcess.Now;
        foreach (var app in new[] { env.PublicApp, env.SymmetricApp, env.Rs384App, env.Es384App })
        {
            using var browser = new HeadlessBrowser();
            var launch = await env.RegisterLaunchAsync();
            Assert.Equal(HttpStatusCode.OK, (await browser.RunAsync(app.Url($"/launch?iss={Uri.EscapeDataString(env.FhirBase)}&launch={launch}"))).Status);
            var token = (await browser.GetAsync(app.Url("/token"))).Body;
            await env.Provider.RevokeAccessTokenAsync(token);
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(app.Url("/patient"))).Status);
            using var failing = new HeadlessBrowser();
            Assert.Equal(HttpStatusCode.BadRequest, (await failing.RunAsync(app.Url("/launch?server=ehr"), new LoginForm(Quirk: "id-token-bad-signature"))).Status);
            using var replaying = new HeadlessBrowser();
            var replayed = await replaying.RunAsync(app.Url("/launch?server=ehr"));
            await replaying.GetAsync(replayed.Callback!);
        }

        var secrets = new HashSet<string>(StringComparer.Ordinal) { SmartEnvironment.SymmetricSecret };
        foreach (var request in (await env.Provider.GetRequestsAsync()).Where(r => r.At >= since))
        {
            foreach (var name in new[] { "code", "code_verifier", "state", "refresh_token", "client_assertion", "client_secret", "nonce" })
            {
                if (request.Param(name) is { Length: >= 16 } value)
                {
                    secrets.Add(value);
                }
            }

            if (request.Authorization is { } authorization)
            {
                secrets.Add(authorization.Split(' ')[1]);
            }
        }

        foreach (var seen in env.Fhir.Tokens)
        {
            secrets.Add(seen.Token);
        }

        Assert.True(secrets.Count > 40, $"expected many secrets to look for, found {secrets.Count}");
        foreach (var app in env.Apps)
        {
            var lines = app.Logs.Lines.Where(l => !HostRequestLog.Any(c => l.Contains(" " + c + ":", StringComparison.Ordinal))).ToList();
            Assert.NotEmpty(lines);
            foreach (var secret in secrets)
            {
                var leak = lines.FirstOrDefault(l => l.Contains(secret, StringComparison.Ordinal));
                Assert.True(leak is null, $"A secret appeared in {app.Client.ClientId}'s log: {leak?[..Math.Min(leak.Length, 120)]}");
            }
        }
    }
}
