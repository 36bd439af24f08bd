using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Terminology;
using Igia.Terminology.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Igia.Terminology.Tests.Registration;

/// <summary><c>AddIgiaTerminology</c>: options validated at start, Firely's interface registered, health and loading.</summary>
public sealed class RegistrationTests
{
    [Fact]
    public async Task AddIgiaTerminology_InvalidOptions_FailsAtStart()
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TerminologyTestHost.StartAsync(c => c.AddResource(TestContent.TestCodeSystem()), o => o.MaxExpansionSize = 0));

        Assert.Contains(nameof(TerminologyOptions.MaxExpansionSize), e.Message);
    }

    [Fact]
    public async Task AddIgiaTerminology_Registered_ProvidesFirelysTerminologyService()
    {
        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddResource(TestContent.TestCodeSystem()));

        var firely = tx.Services.GetRequiredService<ITerminologyService>();

        Assert.Same(tx.Service, firely);
        var result = await firely.Lookup(new Parameters { { "system", new FhirUri(TestContent.System) }, { "code", new Code("A") } });
        Assert.Equal("Alpha", result.GetSingleValue<FhirString>("display")?.Value);
    }

    [Fact]
    public async Task AddIgiaTerminology_ContentLoaded_HealthCheckIsHealthyWithCounts()
    {
        await using var tx = await InProcessTerminology.CreateAsync(c => c.AddResource(TestContent.TestCodeSystem()).AddResource(TestContent.AllValueSet()));

        var report = await tx.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = report.Entries["igia-terminology"];
        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal(2, entry.Data["codeSystems"]);
        Assert.Equal(1, entry.Data["valueSets"]);
    }

    [Fact]
    public async Task Operation_BeforeContentIsLoaded_WaitsForIt()
    {
        // A wait longer than the 2-minute default: loading the core specification on a loaded CI machine must not turn this into a 503.
        await using var host = await TerminologyTestHost.StartAsync(c => c.AddFhirCorePackage(), o => o.LoadWaitTimeout = TimeSpan.FromMinutes(10), waitForContent: false);

        // The first request waits for the core specification to load instead of answering "unknown value set".
        var result = await host.Terminology.ValueSetValidateCode(new Parameters
        {
            { "url", new FhirUri("http://hl7.org/fhir/ValueSet/administrative-gender") },
            { "code", new Code("male") },
            { "system", new FhirUri("http://hl7.org/fhir/administrative-gender") },
        });

        Assert.True(result.GetSingleValue<FhirBoolean>("result")?.Value);
    }

    [Fact]
    public async Task Operation_ContentTakesLongerThanTheWait_Answers503()
    {
        await using var host = await TerminologyTestHost.StartAsync(c => c.AddFhirCorePackage(), o => o.LoadWaitTimeout = TimeSpan.FromTicks(1), waitForContent: false);

        using var response = await host.Client.GetAsync("ValueSet/$expand?url=http%3A%2F%2Fhl7.org%2Ffhir%2FValueSet%2Fadministrative-gender");

        // Either the content was already there (a very fast machine) or the caller is told to come back.
        Assert.True(response.StatusCode is System.Net.HttpStatusCode.OK or System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode.ToString());
    }
}
