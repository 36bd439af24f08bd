using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Igia.Fhir.Client;
using Igia.Fhir.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace Igia.Fhir.Tests.Client;

/// <summary>Registration, options validation, the factory and the typed-client form.</summary>
public sealed class ClientRegistrationTests
{
    /// <summary>A typed client, as an application would write one.</summary>
    public sealed class PatientDirectory(IgiaFhirClient fhir)
    {
        public IgiaFhirClient Fhir { get; } = fhir;

        public Task<Patient?> FindAsync(string id) => Fhir.ReadAsync<Patient>($"Patient/{id}");
    }

    private static void ValidateOnStart(IServiceProvider services) => services.GetRequiredService<IStartupValidator>().Validate();

    [Fact]
    public void AddIgiaFhirClient_WithoutBaseUrl_FailsValidationAtStart()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddIgiaFhirClient("ehr", _ => { });
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => ValidateOnStart(provider));

        Assert.Contains(e.Failures, f => f.Contains("ehr") && f.Contains("BaseUrl"));
    }

    [Theory]
    [InlineData("fhir/relative")]
    [InlineData("ftp://example.org/fhir")]
    [InlineData("https://example.org/fhir?x=1")]
    public void AddIgiaFhirClient_BadBaseUrl_FailsValidation(string url)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddIgiaFhirClient("ehr", o => o.BaseUrl = new Uri(url, UriKind.RelativeOrAbsolute));
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => ValidateOnStart(provider));

        Assert.Contains(e.Failures, f => f.Contains("BaseUrl"));
    }

    [Fact]
    public void AddIgiaFhirClient_InconsistentTimeoutsAndRanges_ReportsEachProblem()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddIgiaFhirClient("ehr", o =>
        {
            o.BaseUrl = new Uri("https://example.org/fhir");
            o.AttemptTimeout = TimeSpan.FromMinutes(5);
            o.TotalTimeout = TimeSpan.FromMinutes(1);
            o.Retry.MaxRetryAttempts = 99;
            o.CircuitBreaker.FailureRatio = 2;
            o.Format = ResourceFormat.Unknown;
        });
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IIgiaFhirClientFactory>().CreateClient("ehr"));

        Assert.Contains(e.Failures, f => f.Contains("AttemptTimeout"));
        Assert.Contains(e.Failures, f => f.Contains("Retry.MaxRetryAttempts"));
        Assert.Contains(e.Failures, f => f.Contains("CircuitBreaker.FailureRatio"));
        Assert.Contains(e.Failures, f => f.Contains("Format"));
    }

    [Fact]
    public void CreateClient_UnknownName_ThrowsNamingIt()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddIgiaFhirClient("ehr", o => o.BaseUrl = new Uri("https://example.org/fhir"));
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IIgiaFhirClientFactory>().CreateClient("lab"));

        Assert.Contains("'lab'", e.Message);
    }

    [Fact]
    public void CreateClient_Twice_ReturnsFreshJsonClientsForTheBaseUrl()
    {
        using var provider = ClientTestServices.Build("https://example.org/fhir", name: "ehr");
        var factory = provider.GetRequiredService<IIgiaFhirClientFactory>();

        using var a = factory.CreateClient("ehr");
        using var b = factory.CreateClient("ehr");

        Assert.NotSame(a, b);
        Assert.Equal("ehr", a.Name);
        Assert.Equal(new Uri("https://example.org/fhir/"), a.Endpoint);
        Assert.Equal(ResourceFormat.Json, a.Settings.PreferredFormat);
        Assert.Equal(ReturnPreference.Representation, a.Settings.ReturnPreference);
    }

    [Fact]
    public async Task CreateAsync_Default_SendsJsonAcceptPreferAndUserAgent()
    {
        await using var server = await FaultServer.StartAsync(async (context, _) =>
        {
            var body = await FaultServer.ReadAsync<Patient>(context);
            body.Id = "1";
            await FaultServer.WriteAsync(context, body, 201);
        });
        await using var provider = ClientTestServices.Build(server.BaseUrl);
        using var client = provider.Client();

        await client.CreateAsync(new Patient { Active = true });

        var request = server.Requests.Single();
        Assert.Contains("application/fhir+json", request.Accept);
        Assert.Equal("return=representation", request.Prefer);
        Assert.StartsWith("Igia.Fhir.Client/", request.UserAgent);
    }

    [Fact]
    public async Task AddIgiaFhirClient_SameNameTwice_KeepsOneHandlerChain()
    {
        await using var server = await FaultServer.StartAsync((context, _) => FaultServer.WriteOutcomeAsync(context, 503, "busy"));
        var services = new ServiceCollection().AddLogging();
        services.AddIgiaFhirClient("ehr", o => o.BaseUrl = new Uri(server.BaseUrl));
        services.AddIgiaFhirClient("ehr", o =>
        {
            o.Retry.MaxRetryAttempts = 1;
            o.Retry.BaseDelay = TimeSpan.FromMilliseconds(10);
        });
        await using var provider = services.BuildServiceProvider();
        using var client = provider.Client("ehr");

        await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/1"));

        Assert.Equal(2, server.Count);
    }

    [Fact]
    public async Task AddIgiaFhirClient_BuilderConfigureRetry_AppliesOnTopOfTheDelegate()
    {
        await using var server = await FaultServer.StartAsync((context, _) => FaultServer.WriteOutcomeAsync(context, 503, "busy"));
        await using var provider = ClientTestServices.Build(server.BaseUrl, build: b => b.ConfigureRetry(r => r.MaxRetryAttempts = 4));
        using var client = provider.Client();

        await Assert.ThrowsAsync<FhirClientException>(() => client.ReadAsync<Patient>("Patient/1"));

        Assert.Equal(5, server.Count);
    }

    [Fact]
    public async Task AddIgiaFhirClient_TypedClient_GetsAClientOfItsOwnRegistration()
    {
        await using var host = await FhirTestHost.StartAsync();
        var created = await host.CreateAsync(new Patient { Name = [new HumanName { Family = "Typed" }] });
        var services = new ServiceCollection().AddLogging();
        services.AddIgiaFhirClient<PatientDirectory>(o => o.BaseUrl = new Uri(host.BaseUrl));
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        var directory = provider.GetRequiredService<PatientDirectory>();
        var other = provider.GetRequiredService<PatientDirectory>();
        var found = await directory.FindAsync(created.Id);

        Assert.Equal("Typed", found!.Name[0].Family);
        Assert.Equal(typeof(PatientDirectory).FullName, directory.Fhir.Name);
        Assert.NotSame(directory.Fhir, other.Fhir);
    }
}
