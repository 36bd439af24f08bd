using System.Globalization;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Igia.Fhir.Client;
using Igia.Fhir.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Igia.Fhir.Tests.Client;

/// <summary>64 tasks sharing one registration (and one client instance) against the Igia FHIR server.</summary>
public sealed class ClientConcurrencyTests : IAsyncLifetime
{
    private FhirTestHost _host = null!;

    public async Task InitializeAsync() => _host = await FhirTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static async Task WorkAsync(IgiaFhirClient client, int i)
    {
        var tag = $"task-{i.ToString(CultureInfo.InvariantCulture)}";
        var created = await client.CreateAsync(new Patient { Name = [new HumanName { Family = tag }], Identifier = [new Identifier("urn:test:task", tag)] });
        var read = await client.ReadAsync<Patient>($"Patient/{created!.Id}");
        Assert.Equal(tag, read!.Name[0].Family);

        var updated = await client.UpdateWithRetryAsync<Patient>(created.Id, p => p.Name[0].Given = [tag]);
        Assert.Equal(tag, updated.Name[0].Given.Single());
        Assert.Equal("2", updated.Meta.VersionId);

        var existing = await client.CreateIfNoneExistAsync(new Patient { Name = [new HumanName { Family = "dup" }] }, new SearchParams().Where($"identifier=urn:test:task|{tag}"));
        Assert.False(existing.Created);
        Assert.Equal(created.Id, existing.Resource!.Id);

        var found = new List<Patient>();
        await foreach (var p in client.SearchAllAsync<Patient>(new SearchParams().Where($"identifier=urn:test:task|{tag}")))
        {
            found.Add(p);
        }

        Assert.Equal(created.Id, Assert.Single(found).Id);
    }

    [Fact]
    public async Task CreateClient_64ConcurrentTasks_EachGetsItsOwnCorrectResults()
    {
        await using var services = ClientTestServices.Build(_host.BaseUrl);

        await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            using var client = services.Client();
            await WorkAsync(client, i);
        })));
    }

    [Fact]
    public async Task IgiaFhirClient_OneInstanceSharedBy64Tasks_HelpersStayCorrect()
    {
        await using var services = ClientTestServices.Build(_host.BaseUrl);
        using var shared = services.Client();

        await Task.WhenAll(Enumerable.Range(100, 64).Select(i => Task.Run(() => WorkAsync(shared, i))));
    }
}
