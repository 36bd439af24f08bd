using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Igia.Workflow.Tests.Infrastructure;

/// <summary>
/// A private PostgreSQL cluster for one test: initdb into a temp folder, pg_ctl start on 127.0.0.1 and a free port,
/// stopped and deleted on dispose. Uses the Debian <c>postgresql</c> package's binaries; PostgreSQL refuses to run as
/// root, so under root it runs as the <c>postgres</c> user (runuser).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _folder;
    private readonly bool _asPostgresUser;

    private PostgresServer(string bin, string folder, int port, bool asPostgresUser)
    {
        _bin = bin;
        _folder = folder;
        Port = port;
        _asPostgresUser = asPostgresUser;
    }

    public int Port { get; }

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Timeout=30;Command Timeout=60";

    public static async Task<PostgresServer> StartAsync()
    {
        var bin = FindBin() ?? throw new InvalidOperationException("PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin): apt-get install -y postgresql.");
        var asPostgres = Environment.UserName == "root";
        var folder = Path.Combine(Path.GetTempPath(), "igia-pg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        if (asPostgres)
        {
            await RunAsync("chown", ["postgres:postgres", folder]);
        }

        var data = Path.Combine(folder, "data");
        await new PostgresServer(bin, folder, 0, asPostgres).PgAsync("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"]);

        // PostgreSQL cannot listen on port 0: a free port is picked and released first, and another process (or a
        // parallel test's server) may take it before the postmaster binds it. Then start again on another port.
        for (var attempt = 1; ; attempt++)
        {
            var server = new PostgresServer(bin, folder, FreePort(), asPostgres);
            try
            {
                await server.PgAsync("pg_ctl", ["-D", data, "-l", Path.Combine(folder, "log"), "-w", "-t", "120", "-o",
                    $"-p {server.Port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start"]);
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3 && !IsRunning(data))
            {
            }
        }
    }

    /// <summary>True when a postmaster of <paramref name="data"/> is up (its pid file exists); then a failed start is not a port clash.</summary>
    private static bool IsRunning(string data) => File.Exists(Path.Combine(data, "postmaster.pid"));

    private static string? FindBin()
    {
        if (!Directory.Exists("/usr/lib/postgresql"))
        {
            return null;
        }

        return Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending().FirstOrDefault();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private Task PgAsync(string tool, string[] args) =>
        _asPostgresUser ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. args]) : RunAsync(Path.Combine(_bin, tool), args);

    private static async Task RunAsync(string file, string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await stdout} {await stderr}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await PgAsync("pg_ctl", ["-D", Path.Combine(_folder, "data"), "-m", "immediate", "-w", "stop"]);
        }
        finally
        {
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
