using System.Net;
using Igia.Smart.AuthorizationServer.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Igia.Smart.AuthorizationServer.Tests;

/// <summary>
/// Two authorization-server instances on one database: an EHR launch, a picker selection and a Backend Services <c>jti</c>
/// are single use across both (the database row decides), and expired rows are purged.
/// </summary>
public sealed class MultiInstanceTests
{
    private const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    [Fact]
    public async Task EhrLaunch_MintedOnA_UsedOnB_RefusedAgainOnA()
    {
        await using var a = await AuthzHost.StartAsync();
        await using var b = await AuthzHost.StartAsync(o => o.ConnectionString = a.AuthzConnectionString);
        using var ehr = new Browser();
        await ehr.LoginAsync(a.BaseUrl, "dr");
        using var minted = await ehr.Http.PostAsync(a.Url("smart/launch"), new FormUrlEncodedContent(new Dictionary<string, string> { ["patient"] = "p3", ["encounter"] = "e-9" }));
        Assert.Equal(HttpStatusCode.OK, minted.StatusCode);
        var launch = (await minted.ReadObjectAsync())["launch"]!.GetValue<string>();

        // The database never holds the launch value itself.
        Assert.Equal(0, await ScalarAsync(a, $"SELECT COUNT(*) FROM IgiaSmartSingleUse WHERE Key LIKE '%{launch}%' OR Value LIKE '%{launch}%'"));

        using var app = new Browser();
        var (verifier, challenge) = Pkce.Create();
        var onB = await app.AuthorizeAsync(Pkce.AuthorizeUrl(b, "secret-app", "openid launch patient/*.rs", challenge, launch: launch), "dr");
        Assert.True(onB.ReachedClient, onB.Body);
        Assert.NotNull(onB.Param("code"));
        using var token = await TokenClient.ExchangeSecretAppCodeAsync(b, onB.Param("code")!, verifier);
        var json = await token.ReadObjectAsync();
        Assert.True(token.StatusCode == HttpStatusCode.OK, json.ToJsonString());
        Assert.Equal("p3", json["patient"]!.GetValue<string>());
        Assert.Equal("e-9", json["encounter"]!.GetValue<string>());

        var againOnA = await ehr.AuthorizeAsync(Pkce.AuthorizeUrl(a, "secret-app", "openid launch patient/*.rs", Pkce.Create().Challenge, launch: launch), "dr");
        Assert.Equal("invalid_request", againOnA.Param("error"));
        Assert.Null(againOnA.Param("code"));
    }

    [Fact]
    public async Task Launch_TakenConcurrentlyOnBothHosts_ExactlyOneWins()
    {
        await using var a = await AuthzHost.StartAsync();
        await using var b = await AuthzHost.StartAsync(o => o.ConnectionString = a.AuthzConnectionString);
        var launchesA = a.App.Services.GetRequiredService<ISmartLaunchContexts>();
        var launchesB = b.App.Services.GetRequiredService<ISmartLaunchContexts>();
        for (var i = 0; i < 20; i++)
        {
            var launch = await launchesA.CreateAsync(new SmartLaunchContext { Patient = "p" + i, FhirContext = ["ImagingStudy/" + i] }, CancellationToken.None);
            var takes = await Task.WhenAll(
                Task.Run(async () => await launchesA.TakeAsync(launch, CancellationToken.None)),
                Task.Run(async () => await launchesB.TakeAsync(launch, CancellationToken.None)),
                Task.Run(async () => await launchesB.TakeAsync(launch, CancellationToken.None)));
            var winners = takes.Where(t => t is not null).ToList();
            Assert.Single(winners);
            Assert.Equal("p" + i, winners[0]!.Patient);
            Assert.Equal(["ImagingStudy/" + i], winners[0]!.FhirContext);
        }

        var selectionsA = a.App.Services.GetRequiredService<ISmartPatientSelections>();
        var selectionsB = b.App.Services.GetRequiredService<ISmartPatientSelections>();
        var pick = await selectionsA.CreateAsync("dr", "p2", CancellationToken.None);
        Assert.Null(await selectionsB.TakeAsync(pick, "pat", CancellationToken.None)); // another user: refused, and burnt
        var pick2 = await selectionsA.CreateAsync("dr", "p2", CancellationToken.None);
        Assert.Equal("p2", await selectionsB.TakeAsync(pick2, "dr", CancellationToken.None));
        Assert.Null(await selectionsA.TakeAsync(pick2, "dr", CancellationToken.None));
    }

    [Fact]
    public async Task BackendJti_UsedOnA_ReplayedOnB_IsRefused_AndConcurrentUseHasOneWinner()
    {
        await using var a = await AuthzHost.StartAsync();
        await using var b = await AuthzHost.StartAsync(o => o.ConnectionString = a.AuthzConnectionString);
        using (var first = await TokenClient.PostAsync(a, Form(AuthzHost.BackendRsa.Assertion("backend", a.TokenUrl, jti: "shared-jti-1"))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        // Same client and jti, signed for B's token endpoint: B knows it was used on A.
        using (var replay = await TokenClient.PostAsync(b, Form(AuthzHost.BackendRsa.Assertion("backend", b.TokenUrl, jti: "shared-jti-1"))))
        {
            Assert.Equal("invalid_client", (await replay.ReadObjectAsync())["error"]!.GetValue<string>());
        }

        for (var i = 0; i < 5; i++)
        {
            var jti = "race-" + i;
            var responses = await Task.WhenAll(
                TokenClient.PostAsync(a, Form(AuthzHost.BackendEc.Assertion("backend", a.TokenUrl, jti: jti))),
                TokenClient.PostAsync(b, Form(AuthzHost.BackendEc.Assertion("backend", b.TokenUrl, jti: jti))));
            Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
            Assert.Equal(1, responses.Count(r => r.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized));
            foreach (var r in responses)
            {
                r.Dispose();
            }
        }
    }

    [Fact]
    public async Task ExpiredLaunch_IsRefused_AndExpiredRowsArePurged()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await AuthzHost.StartAsync(services: s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(time)));
        var launches = host.App.Services.GetRequiredService<ISmartLaunchContexts>();
        var old = await launches.CreateAsync(new SmartLaunchContext { Patient = "p1" }, CancellationToken.None);
        var old2 = await launches.CreateAsync(new SmartLaunchContext { Patient = "p2" }, CancellationToken.None);
        Assert.Equal(2, await ScalarAsync(host, "SELECT COUNT(*) FROM IgiaSmartSingleUse WHERE Key LIKE 'launch:%'"));

        time.Advance(TimeSpan.FromMinutes(6)); // LaunchLifetime is 5 minutes
        Assert.Null(await launches.TakeAsync(old, CancellationToken.None));

        var fresh = await launches.CreateAsync(new SmartLaunchContext { Patient = "p3" }, CancellationToken.None); // purges
        Assert.Equal(1, await ScalarAsync(host, "SELECT COUNT(*) FROM IgiaSmartSingleUse WHERE Key LIKE 'launch:%'"));
        Assert.Null(await launches.TakeAsync(old2, CancellationToken.None));
        Assert.Equal("p3", (await launches.TakeAsync(fresh, CancellationToken.None))!.Patient);
    }

    private static Dictionary<string, string> Form(string assertion) => new()
    {
        ["grant_type"] = "client_credentials", ["scope"] = "system/Patient.rs", ["client_assertion_type"] = AssertionType, ["client_assertion"] = assertion,
    };

    private static async Task<long> ScalarAsync(AuthzHost host, string sql)
    {
        await using var connection = new SqliteConnection(host.AuthzConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
