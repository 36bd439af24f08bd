using System.Buffers;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Audit.Internal;
using Igia.Audit.Masking;
using Microsoft.Extensions.Options;

namespace Igia.Audit.Syslog;

/// <summary>
/// Sends records to an ATNA audit record repository: RFC 5424 messages, octet-counted over TLS (RFC 5425), facility 10
/// (security/authorization), severity notice/warning/error by outcome, MSGID <c>IHE+RFC-3881</c> (DICOM XML) or
/// <c>IHE+FHIR</c> (JSON), structured data <c>[igia@32473 seq="…" id="…"]</c> so a collector can recognise a record.
/// <para>
/// Syslog over TLS has no acknowledgement, so each batch is confirmed by closing: after the batch, the sink sends TLS
/// close_notify and half-closes, and waits for the repository to close its side — which it does only after reading
/// everything. A batch that is not confirmed is retried (from the local log), so delivery is at least once; a record can
/// arrive twice only if the repository stops in the middle of reading a batch, and then carries the same <c>seq</c>.
/// </para>
/// </summary>
internal sealed class SyslogAuditSink : IAuditSink
{
    private const int Facility = 10;
    private readonly SyslogAuditSinkOptions _options;
    private readonly AuditMasker _masker;
    private readonly string _hostname;
    private readonly string _procId = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    public SyslogAuditSink(string name, SyslogAuditSinkOptions options, IOptions<AuditOptions> auditOptions)
    {
        Name = name;
        _options = options;
        _masker = new AuditMasker(auditOptions.Value.Masking);
        _hostname = options.Hostname ?? SafeHostName();
    }

    public string Name { get; }

    public async ValueTask WriteAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        var payload = new ArrayBufferWriter<byte>(records.Count * 2048);
        foreach (var record in records)
        {
            Frame(payload, record);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var token = timeout.Token;
        using var tcp = new TcpClient { NoDelay = false };
        await tcp.ConnectAsync(_options.Host, _options.Port, token).ConfigureAwait(false);
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = _options.Host,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificates = _options.ClientCertificate is null ? null : [_options.ClientCertificate],
            RemoteCertificateValidationCallback = ValidateServer,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        }, token).ConfigureAwait(false);

        await tls.WriteAsync(payload.WrittenMemory, token).ConfigureAwait(false);
        await tls.FlushAsync(token).ConfigureAwait(false);

        // Confirmation: close our side (TLS close_notify, then TCP FIN) and wait for the repository to close its side,
        // which it does after it has read everything we sent. A reset or a timeout leaves the batch unconfirmed.
        await tls.ShutdownAsync().ConfigureAwait(false);
        tcp.Client.Shutdown(SocketShutdown.Send);
        var buffer = new byte[256];
        try
        {
            while (await tls.ReadAsync(buffer, token).ConfigureAwait(false) > 0)
            {
                // A syslog collector sends nothing; drain whatever it does send.
            }
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            throw new IOException("The syslog repository reset the connection before confirming the batch.", e);
        }
    }

    /// <summary>Appends one RFC 5425 frame: <c>MSG-LEN SP SYSLOG-MSG</c>.</summary>
    internal void Frame(ArrayBufferWriter<byte> output, AuditRecord record)
    {
        var message = Message(record);
        output.Write(Encoding.ASCII.GetBytes(message.Length.ToString(CultureInfo.InvariantCulture)));
        output.Write(" "u8);
        output.Write(message);
    }

    /// <summary>One RFC 5424 message for a record.</summary>
    internal byte[] Message(AuditRecord record)
    {
        var ev = _options.Mask ? _masker.Apply(record.Event) : record.Event;
        var severity = ev.Outcome switch
        {
            AuditEvent.AuditEventOutcome.N0 or null => 5,
            AuditEvent.AuditEventOutcome.N4 => 4,
            _ => 3,
        };
        byte[] body;
        string msgId;
        if (_options.Format == SyslogPayloadFormat.DicomXml)
        {
            body = DicomAuditMessage.ToXml(ev);
            msgId = "IHE+RFC-3881";
        }
        else
        {
            body = _options.Mask ? FhirJson.Serialize(ev) : record.Json.ToArray();
            msgId = "IHE+FHIR";
        }

        var time = (ev.Recorded ?? DateTimeOffset.UtcNow).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        var header = string.Create(CultureInfo.InvariantCulture,
            $"<{(Facility * 8) + severity}>1 {time} {_hostname} {_options.AppName} {_procId} {msgId} [igia@32473 seq=\"{record.Sequence}\" id=\"{SdEscape(ev.Id ?? "")}\"] ");
        var headerBytes = Encoding.ASCII.GetBytes(header);
        var message = new byte[headerBytes.Length + 3 + body.Length];
        headerBytes.CopyTo(message, 0);
        message[headerBytes.Length] = 0xEF; // BOM: the MSG is UTF-8 (RFC 5424 MSG-UTF8)
        message[headerBytes.Length + 1] = 0xBB;
        message[headerBytes.Length + 2] = 0xBF;
        body.CopyTo(message, headerBytes.Length + 3);
        return message;
    }

    private bool ValidateServer(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0 || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return false;
        }

        if (_options.TrustedRoots.Count == 0)
        {
            return errors == SslPolicyErrors.None;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_options.TrustedRoots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements.Skip(1))
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    private static string SdEscape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("]", "\\]", StringComparison.Ordinal);

    private static string SafeHostName()
    {
        var name = Environment.MachineName;
        var safe = new string(name.Where(c => c is > ' ' and <= '~').ToArray());
        return safe.Length == 0 ? "-" : safe[..Math.Min(safe.Length, 255)];
    }
}
