using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Igia.Audit.Tests.Infrastructure;

/// <summary>
/// A real rsyslog (Debian's packages rsyslog and rsyslog-gnutls, installed by .ci/run; missing, the tests fail) listening for RFC 5425 syslog over TLS on
/// 127.0.0.1, with certificates made by the test (a CA, a server certificate, a client certificate for mutual TLS). It
/// writes what it receives to a file as <c>MSGID\tSTRUCTURED-DATA\tMSG</c> lines.
/// </summary>
public sealed class RsyslogServer : IAsyncDisposable
{
    private readonly string _config;
    private readonly string _pidFile;
    private Process? _process;

    private RsyslogServer(string folder, int port, X509Certificate2 ca, X509Certificate2 clientCertificate)
    {
        Folder = folder;
        Port = port;
        CaCertificate = ca;
        ClientCertificate = clientCertificate;
        OutputFile = Path.Combine(folder, "received.log");
        _config = Path.Combine(folder, "rsyslog.conf");
        _pidFile = Path.Combine(folder, "rsyslogd.pid");
    }

    public string Folder { get; }

    public int Port { get; }

    public string OutputFile { get; }

    /// <summary>The CA that issued the server's certificate: the sink's trusted root.</summary>
    public X509Certificate2 CaCertificate { get; }

    /// <summary>A client certificate (with private key) issued by the same CA, for mutual TLS.</summary>
    public X509Certificate2 ClientCertificate { get; }

    /// <summary>Starts rsyslog on a free port; it requires a client certificate issued by its CA.</summary>
    public static async Task<RsyslogServer> StartAsync()
    {
        await EnsureInstalledAsync();
        var folder = TestPaths.NewTempFolder("rsyslog");
        var (ca, server, client) = MakeCertificates();
        File.WriteAllText(Path.Combine(folder, "ca.pem"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, "server-cert.pem"), server.ExportCertificatePem());
        using (var key = server.GetRSAPrivateKey()!)
        {
            File.WriteAllText(Path.Combine(folder, "server-key.pem"), key.ExportPkcs8PrivateKeyPem());
        }

        var rsyslog = new RsyslogServer(folder, FreePort(), ca, client);
        File.WriteAllText(rsyslog._config, $$"""
            global(
              workDirectory="{{folder}}"
              maxMessageSize="256k"
              defaultNetstreamDriver="gtls"
              defaultNetstreamDriverCAFile="{{folder}}/ca.pem"
              defaultNetstreamDriverCertFile="{{folder}}/server-cert.pem"
              defaultNetstreamDriverKeyFile="{{folder}}/server-key.pem"
            )
            module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")
            input(type="imtcp" address="127.0.0.1" port="{{rsyslog.Port}}")
            template(name="audit" type="string" string="%msgid%\t%structured-data%\t%msg%\n")
            action(type="omfile" file="{{rsyslog.OutputFile}}" template="audit")
            """);
        await rsyslog.StartProcessAsync();
        return rsyslog;
    }

    /// <summary>Starts (or restarts) the rsyslogd process and waits until it accepts connections.</summary>
    public async Task StartProcessAsync()
    {
        File.Delete(_pidFile);
        var info = new ProcessStartInfo("/usr/sbin/rsyslogd", ["-n", "-f", _config, "-i", _pidFile])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(120); // generous: a loaded CI machine
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"rsyslogd exited with code {_process.ExitCode}; config {_config}.");
            }

            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Stops rsyslogd the way a service manager does (SIGTERM) and waits for it to exit.</summary>
    public async Task StopProcessAsync()
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
        {
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _process.Dispose();
        _process = null;
    }

    /// <summary>
    /// The messages rsyslog has written so far: (MSGID, STRUCTURED-DATA, MSG without the BOM). Only complete lines: rsyslog
    /// may be half-way through writing the last one.
    /// </summary>
    public IReadOnlyList<(string MsgId, string StructuredData, string Message)> Messages()
    {
        if (!File.Exists(OutputFile))
        {
            return [];
        }

        string text;
        using (var s = new FileStream(OutputFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            text = new StreamReader(s, Encoding.UTF8, detectEncodingFromByteOrderMarks: false).ReadToEnd();
        }

        return text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t', 3))
            .Where(p => p.Length == 3)
            .Select(p => (p[0], p[1], p[2].TrimStart('\uFEFF')))
            .ToList();
    }

    /// <summary>
    /// Waits until rsyslog has written a message for every one of <paramref name="sequences"/>: a sink that has sent
    /// everything (lag 0) does not mean rsyslog, another process, has processed and written it yet.
    /// </summary>
    public async Task WaitForSequencesAsync(IEnumerable<long> sequences)
    {
        var expected = sequences.ToHashSet();
        await AuditLogContent.WaitUntilAsync(
            () => expected.IsSubsetOf(Messages().Select(m => SeqOf(m.StructuredData))), TimeSpan.FromSeconds(120), $"rsyslog has written all {expected.Count} messages");
    }

    /// <summary>The <c>seq</c> of a message's structured data.</summary>
    public static long SeqOf(string structuredData)
    {
        var at = structuredData.IndexOf("seq=\"", StringComparison.Ordinal) + 5;
        return long.Parse(structuredData[at..structuredData.IndexOf('"', at)], System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        TestPaths.TryDelete(Folder);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static (X509Certificate2 Ca, X509Certificate2 Server, X509Certificate2 Client) MakeCertificates()
    {
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Igia Audit Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var ca = caRequest.CreateSelfSigned(now, now.AddDays(2));

        X509Certificate2 Issue(string subject, bool server)
        {
            var key = RSA.Create(2048);
            var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
            if (server)
            {
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(IPAddress.Loopback);
                san.AddDnsName("localhost");
                request.CertificateExtensions.Add(san.Build());
            }

            var serial = RandomNumberGenerator.GetBytes(12);
            serial[0] &= 0x7F;
            using var issued = request.Create(ca, now, now.AddDays(1), serial);
            var withKey = issued.CopyWithPrivateKey(key);
            // Re-import so that the private key is usable by SslStream on Linux.
            return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        }

        return (ca, Issue("CN=127.0.0.1", server: true), Issue("CN=igia-audit-test-client", server: false));
    }

    /// <summary>
    /// The command that installs rsyslog and its GnuTLS driver from Debian's packages (run by .ci/run). The test never
    /// installs anything itself and never skips: without rsyslog it fails with this message.
    /// </summary>
    public const string InstallCommand = "apt-get install -y --no-install-recommends rsyslog rsyslog-gnutls";

    /// <summary>Fails with a clear message when rsyslogd or its GnuTLS network driver is missing.</summary>
    private static Task EnsureInstalledAsync()
    {
        var daemon = File.Exists("/usr/sbin/rsyslogd");
        var gtls = Directory.GetDirectories("/usr/lib").Append("/usr/lib").Any(d => File.Exists(Path.Combine(d, "rsyslog", "lmnsd_gtls.so")));
        if (!daemon || !gtls)
        {
            throw new InvalidOperationException(
                $"The syslog sink tests need a real rsyslog with TLS: {(daemon ? "rsyslogd is installed but its GnuTLS driver (lmnsd_gtls.so) is missing" : "/usr/sbin/rsyslogd was not found")}. "
                + $"Install Debian's packages first ('{InstallCommand}'; .ci/run does this).");
        }

        return Task.CompletedTask;
    }
}
