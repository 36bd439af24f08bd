using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography.X509Certificates;

namespace Igia.Audit.Syslog;

/// <summary>Settings of an ATNA syslog sink (RFC 5424 messages over TLS, RFC 5425), validated at start-up.</summary>
public sealed class SyslogAuditSinkOptions
{
    /// <summary>The audit record repository's host name (also the name its TLS certificate must carry).</summary>
    [Required]
    public string Host { get; set; } = "";

    /// <summary>The TLS syslog port (6514 is the registered one).</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 6514;

    /// <summary>The payload: a DICOM PS3.15 audit message (XML, the ATNA default) or the FHIR AuditEvent (JSON).</summary>
    public SyslogPayloadFormat Format { get; set; } = SyslogPayloadFormat.DicomXml;

    /// <summary>
    /// Root certificates the repository's certificate must chain to. When empty, the system's trusted roots are used.
    /// </summary>
    public X509Certificate2Collection TrustedRoots { get; } = [];

    /// <summary>The client certificate (with private key) for mutual TLS, as ATNA requires of secure nodes.</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>Whether the masking rules (<see cref="AuditOptions.Masking"/>) apply to what is sent. On by default.</summary>
    public bool Mask { get; set; } = true;

    /// <summary>The RFC 5424 APP-NAME.</summary>
    [RegularExpression("^[!-~]{1,48}$")]
    public string AppName { get; set; } = "igia-audit";

    /// <summary>The RFC 5424 HOSTNAME; the machine's name when null.</summary>
    [RegularExpression("^[!-~]{1,255}$")]
    public string? Hostname { get; set; }

    /// <summary>How long connecting, sending a batch and the repository's confirmation may take before the batch is retried.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>The syslog payload format.</summary>
public enum SyslogPayloadFormat
{
    /// <summary>The DICOM PS3.15 A.5 audit message XML (MSGID <c>IHE+RFC-3881</c>).</summary>
    DicomXml,

    /// <summary>The FHIR AuditEvent as JSON (MSGID <c>IHE+FHIR</c>).</summary>
    FhirJson,
}
