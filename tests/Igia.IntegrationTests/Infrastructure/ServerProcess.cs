using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Igia.IntegrationTests.Infrastructure;

/// <summary>
/// An ASP.NET Core app started as a child process (<c>dotnet app.dll --urls http://127.0.0.1:port …</c>) on a free
/// loopback port: a real Kestrel server, reached through real HTTP. Stopped (SIGTERM, then kill) on dispose.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;

    private ServerProcess(Process process, StringBuilder output, Uri baseAddress)
    {
        _process = process;
        _output = output;
        BaseAddress = baseAddress;
    }

    /// <summary><c>http://127.0.0.1:port/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Everything the app wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Whether the app writes <paramref name="text"/> to its output within <paramref name="timeout"/>. The console logger
    /// writes from a background queue and the output reaches this process asynchronously, so a line logged before the app
    /// answered may arrive here later than the answer.
    /// </summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(100);
        }

        return true;
    }

    /// <summary>
    /// Starts <c>dotnet <paramref name="appDll"/> --urls http://127.0.0.1:port</c> plus <paramref name="args"/> and waits
    /// until GET <paramref name="readyPath"/> answers 2xx. Picks another port when the first one was taken meanwhile.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(string appDll, string workingDirectory, string readyPath, TimeSpan timeout, params string[] args)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = GetFreePort();
            var baseAddress = new Uri($"http://127.0.0.1:{port}/");
            var startInfo = DotNet.CreateStartInfo(workingDirectory, [appDll, "--urls", baseAddress.ToString().TrimEnd('/'), .. args]);
            startInfo.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            var output = new StringBuilder();
            var process = new Process { StartInfo = startInfo };
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new ServerProcess(process, output, baseAddress);
            try
            {
                await server.WaitUntilReadyAsync(readyPath, timeout);
                return server;
            }
            catch (Exception) when (attempt < 3 && process.HasExited && server.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Stops the app: SIGTERM (a graceful shutdown) where the OS has it, then kills it if it is still running.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited && !OperatingSystem.IsWindows())
            {
                _ = SendSignal(_process.Id, 15 /* SIGTERM */);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try
                {
                    await _process.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
        catch (InvalidOperationException)
        {
        }
        finally
        {
            DotNet.Kill(_process);
            _process.Dispose();
        }
    }

    private async Task WaitUntilReadyAsync(string readyPath, TimeSpan timeout)
    {
        // No per-request limit: a refused connection fails at once, and an app that accepted the request but is slow to
        // answer its first one (JIT, a loaded machine) gets the whole remaining time instead of being asked again and again.
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        using var overall = new CancellationTokenSource(timeout);
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The app exited with {_process.ExitCode} before it was ready.\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(readyPath, overall.Token);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                last = new HttpRequestException($"GET {readyPath} answered {(int)response.StatusCode}.");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"The app at {BaseAddress} was not ready within {timeout} ({last?.Message}).\n{Output}");
    }

    private static int GetFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

#pragma warning disable SYSLIB1054 // a two-int call needs no marshalling source generator
    [DllImport("libc", EntryPoint = "kill")]
    private static extern int SendSignal(int pid, int signal);
#pragma warning restore SYSLIB1054
}
