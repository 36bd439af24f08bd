using Igia.IntegrationTests.Infrastructure;

namespace Igia.IntegrationTests.Sandbox;

/// <summary>
/// The sandbox as a user runs it: <c>dotnet Igia.Sandbox.dll --urls http://127.0.0.1:port --data folder</c>
/// (the build copies it next to these tests), a child process on a real Kestrel server.
/// </summary>
internal sealed class SandboxHost : IAsyncDisposable
{
    private SandboxHost(ServerProcess server)
    {
        Server = server;
        Http = new HttpClient { BaseAddress = new Uri(server.BaseAddress, "fhir/"), Timeout = TimeSpan.FromMinutes(3) };
    }

    /// <summary>The process.</summary>
    public ServerProcess Server { get; }

    /// <summary>A client for the FHIR base (<c>http://127.0.0.1:port/fhir/</c>): use relative URLs such as <c>Patient?_count=5</c>.</summary>
    public HttpClient Http { get; }

    /// <summary>
    /// Starts the sandbox on <paramref name="dataFolder"/>; returns once it answers (it seeds before it listens).
    /// <paramref name="noAuth"/> passes <c>--no-auth</c> (open FHIR API); otherwise the API wants SMART tokens.
    /// </summary>
    public static async Task<SandboxHost> StartAsync(string dataFolder, bool noAuth = true)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Igia.Sandbox.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: the test project should reference samples/Igia.Sandbox.");
        string[] args = noAuth ? ["--data", dataFolder, "--no-auth"] : ["--data", dataFolder];
        var server = await ServerProcess.StartAsync(dll, dataFolder, "/fhir/metadata", TimeSpan.FromMinutes(5), args);
        return new SandboxHost(server);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}
