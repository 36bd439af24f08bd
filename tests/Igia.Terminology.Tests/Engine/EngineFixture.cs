using Igia.Terminology.Tests.Infrastructure;

namespace Igia.Terminology.Tests.Engine;

/// <summary>The terminology service in process with the small test code system and value set, shared by a test class.</summary>
public sealed class EngineFixture : IAsyncLifetime
{
    public InProcessTerminology Terminology { get; private set; } = null!;

    public IgiaTerminologyService Service => Terminology.Service;

    public async Task InitializeAsync() =>
        Terminology = await InProcessTerminology.CreateAsync(c => c.AddResource(TestContent.TestCodeSystem()).AddResource(TestContent.AllValueSet()));

    public async Task DisposeAsync() => await Terminology.DisposeAsync();
}
