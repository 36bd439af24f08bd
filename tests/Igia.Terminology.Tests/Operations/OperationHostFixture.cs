using Igia.Terminology.Tests.Infrastructure;

namespace Igia.Terminology.Tests.Operations;

/// <summary>A real FHIR server (Kestrel on 127.0.0.1) with the terminology operations and the small test content.</summary>
public sealed class OperationHostFixture : IAsyncLifetime
{
    public TerminologyTestHost Host { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Host = await TerminologyTestHost.StartAsync(c => c.AddResource(TestContent.TestCodeSystem()).AddResource(TestContent.AllValueSet()));

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
