using Igia.Terminology;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Igia.Terminology.Tests.Infrastructure;

/// <summary>The terminology service in process (no web server): its services built and its content loader run.</summary>
public sealed class InProcessTerminology : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly List<IHostedService> _hosted;

    private InProcessTerminology(ServiceProvider provider, List<IHostedService> hosted)
    {
        _provider = provider;
        _hosted = hosted;
    }

    /// <summary>The service.</summary>
    public IgiaTerminologyService Service => _provider.GetRequiredService<IgiaTerminologyService>();

    /// <summary>The application's services.</summary>
    public IServiceProvider Services => _provider;

    /// <summary>Builds the service with the given content and waits until it is loaded.</summary>
    public static async Task<InProcessTerminology> CreateAsync(Action<IgiaTerminologyBuilder> content, Action<TerminologyOptions>? options = null, Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        collection.AddLogging();
        content(collection.AddIgiaTerminology(options));
        services?.Invoke(collection);
        var provider = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var h in hosted)
        {
            await h.StartAsync(CancellationToken.None);
        }

        await provider.GetRequiredService<ITerminologyContent>().WhenLoadedAsync().WaitAsync(TimeSpan.FromMinutes(5));
        return new InProcessTerminology(provider, hosted);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var h in _hosted)
        {
            await h.StopAsync(CancellationToken.None);
        }

        await _provider.DisposeAsync();
    }
}
