using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Igia.Terminology.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Igia.Terminology.Tests.Remote;

/// <summary>Counts the terminology operations a server receives.</summary>
public sealed class OperationCounter
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Increment() => Interlocked.Increment(ref _count);
}

/// <summary>A filter on the remote server that counts the operations it is sent.</summary>
public sealed class CountingFilter(OperationCounter counter) : IFhirInteractionFilter
{
    public ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next)
    {
        if (interaction.Kind == FhirInteractionKind.Operation)
        {
            counter.Increment();
        }

        return next(interaction);
    }
}

/// <summary>A second real FHIR terminology server (Kestrel on 127.0.0.1) that knows a code system the local engine does not.</summary>
public sealed class RemoteServerFixture : IAsyncLifetime
{
    public const string RemoteSystem = "http://example.org/fhir/CodeSystem/remote-only";
    public const string RemoteValueSet = "http://example.org/fhir/ValueSet/remote-only";

    public TerminologyTestHost Remote { get; private set; } = null!;

    public OperationCounter Counter { get; } = new();

    public async Task InitializeAsync()
    {
        var cs = new Hl7.Fhir.Model.CodeSystem
        {
            Url = RemoteSystem,
            Version = "3",
            Status = PublicationStatus.Active,
            Content = CodeSystemContentMode.Complete,
            Concept = [new() { Code = "r1", Display = "Remote one" }, new() { Code = "r2", Display = "Remote two" }],
        };
        var vs = new ValueSet
        {
            Url = RemoteValueSet,
            Status = PublicationStatus.Active,
            Compose = new ValueSet.ComposeComponent { Include = [new ValueSet.ConceptSetComponent { System = RemoteSystem }] },
        };
        Remote = await TerminologyTestHost.StartAsync(
            c => c.AddResource(cs).AddResource(vs),
            configureFhir: f => f.AddFilter<CountingFilter>(),
            configureServices: s => s.AddSingleton(Counter));
    }

    public async Task DisposeAsync() => await Remote.DisposeAsync();
}

/// <summary>Routing to a remote terminology server through the Igia FHIR client, with caching and fallback to the local engine.</summary>
public sealed class RemoteTerminologyTests(RemoteServerFixture fixture) : IClassFixture<RemoteServerFixture>
{
    private static Parameters ValidateRemote(string code) => new()
    {
        { "url", new FhirUri(RemoteServerFixture.RemoteSystem) },
        { "code", new Code(code) },
    };

    private Task<InProcessTerminology> LocalWithRemote(Action<Igia.Terminology.Remote.RemoteTerminologyServerOptions>? configure = null, Uri? baseUrl = null, Action<IServiceCollection>? services = null) =>
        InProcessTerminology.CreateAsync(
            c => c.AddResource(TestContent.TestCodeSystem()).AddRemoteServer(
                "remote",
                baseUrl ?? new Uri(fixture.Remote.BaseUrl),
                o =>
                {
                    o.CodeSystems.Add(RemoteServerFixture.RemoteSystem);
                    o.ValueSets.Add("http://example.org/fhir/ValueSet/remote-*");
                    configure?.Invoke(o);
                },
                client => client.ConfigureRetry(r => r.Enabled = false)),
            services: services);

    [Fact]
    public async Task AddRemoteServer_RoutedCodeSystem_IsAnsweredByTheRemoteServer()
    {
        await using var local = await LocalWithRemote();

        var result = await local.Service.CodeSystemValidateCode(ValidateRemote("r1"));

        Assert.True(result.GetSingleValue<FhirBoolean>("result")?.Value);
        Assert.Equal("Remote one", result.GetSingleValue<FhirString>("display")?.Value);
    }

    [Fact]
    public async Task AddRemoteServer_RoutedValueSetByPrefix_IsExpandedByTheRemoteServer()
    {
        await using var local = await LocalWithRemote();

        var vs = (ValueSet)await local.Service.Expand(new Parameters { { "url", new FhirUri(RemoteServerFixture.RemoteValueSet) } });

        Assert.Equal(["r1", "r2"], TestContent.Codes(vs));
    }

    [Fact]
    public async Task AddRemoteServer_OtherCodeSystems_AreAnsweredLocally()
    {
        await using var local = await LocalWithRemote();
        var before = fixture.Counter.Count;

        var result = await local.Service.CodeSystemValidateCode(new Parameters { { "url", new FhirUri(TestContent.System) }, { "code", new Code("A1") } });

        Assert.True(result.GetSingleValue<FhirBoolean>("result")?.Value);
        Assert.Equal(before, fixture.Counter.Count);
    }

    [Fact]
    public async Task AddRemoteServer_SameRequestTwice_IsSentOnceAndThenServedFromTheMemoryCache()
    {
        await using var local = await LocalWithRemote();
        var before = fixture.Counter.Count;

        var first = await local.Service.CodeSystemValidateCode(ValidateRemote("r2"));
        var second = await local.Service.CodeSystemValidateCode(ValidateRemote("r2"));
        await local.Service.CodeSystemValidateCode(ValidateRemote("r1"));

        Assert.Equal(before + 2, fixture.Counter.Count);
        Assert.True(first.IsExactly(second));
    }

    [Fact]
    public async Task AddRemoteServer_DistributedCache_ServesTheSecondRequestFromIt()
    {
        await using var local = await LocalWithRemote(o => o.UseDistributedCache = true, services: s => s.AddDistributedMemoryCache());
        var before = fixture.Counter.Count;

        await local.Service.CodeSystemValidateCode(ValidateRemote("r1"));
        var cached = await local.Service.CodeSystemValidateCode(ValidateRemote("r1"));

        Assert.Equal(before + 1, fixture.Counter.Count);
        Assert.True(cached.GetSingleValue<FhirBoolean>("result")?.Value);
    }

    [Fact]
    public async Task AddRemoteServer_CachingOff_SendsEveryRequest()
    {
        await using var local = await LocalWithRemote(o => o.CacheDuration = TimeSpan.Zero);
        var before = fixture.Counter.Count;

        await local.Service.CodeSystemValidateCode(ValidateRemote("r1"));
        await local.Service.CodeSystemValidateCode(ValidateRemote("r1"));

        Assert.Equal(before + 2, fixture.Counter.Count);
    }

    [Fact]
    public async Task AddRemoteServer_RemoteAnswers4xx_TheAnswerIsPassedOn()
    {
        await using var local = await LocalWithRemote();

        var e = await Assert.ThrowsAsync<TerminologyOperationException>(() =>
            local.Service.Expand(new Parameters { { "url", new FhirUri("http://example.org/fhir/ValueSet/remote-unknown") } }));

        Assert.InRange((int)e.Status, 400, 499);
        Assert.Contains("remote-unknown", e.Outcome!.Issue[0].Details!.Text);
    }

    [Fact]
    public async Task AddRemoteServer_ServerDownWithFallback_IsAnsweredLocally()
    {
        await using var local = await LocalWithRemote(baseUrl: new Uri("http://127.0.0.1:9/fhir"));

        var result = await local.Service.CodeSystemValidateCode(ValidateRemote("r1"));

        // The local engine does not know the code system: a proper answer, not an exception.
        Assert.False(result.GetSingleValue<FhirBoolean>("result")?.Value);
        var health = await local.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == "igia-terminology-remote-remote");
        Assert.Equal(HealthStatus.Degraded, health.Status);
    }

    [Fact]
    public async Task AddRemoteServer_ServerDownWithoutFallback_FailsWithBadGateway()
    {
        await using var local = await LocalWithRemote(o => o.FallbackToLocal = false, baseUrl: new Uri("http://127.0.0.1:9/fhir"));

        var e = await Assert.ThrowsAsync<TerminologyOperationException>(() => local.Service.CodeSystemValidateCode(ValidateRemote("r1")));

        Assert.InRange((int)e.Status, 500, 599);
        var health = await local.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == "igia-terminology-remote-remote");
        Assert.Equal(HealthStatus.Unhealthy, health.Status);
    }

    [Fact]
    public async Task AddRemoteServer_ServerUp_HealthCheckIsHealthy()
    {
        await using var local = await LocalWithRemote();

        var health = await local.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        Assert.Equal(HealthStatus.Healthy, health.Status);
    }

    [Fact]
    public async Task AddRemoteServer_NoRoutingRule_IsRefusedAtRegistration()
    {
        var services = new ServiceCollection();

        Assert.Throws<ArgumentException>(() => services.AddIgiaTerminology().AddRemoteServer("none", new Uri("http://127.0.0.1:9/"), _ => { }));
    }
}
