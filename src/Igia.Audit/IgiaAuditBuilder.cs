using Igia.Audit.FhirStore;
using Igia.Audit.FileLog;
using Igia.Audit.Logging;
using Igia.Audit.Syslog;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Igia.Audit;

/// <summary>Further configuration of the audit trail returned by <c>AddIgiaAudit</c>; calls chain.</summary>
/// <param name="Services">The application's service collection.</param>
public sealed record IgiaAuditBuilder(IServiceCollection Services)
{
    /// <summary>
    /// Sets where the local hash-chained log is written (default <c>data/audit</c>) and how (rotation, checkpoints, signing key).
    /// The local log is always written: it is the journal the other sinks are fed from.
    /// </summary>
    public IgiaAuditBuilder WriteToFile(string folder, Action<FileAuditLogOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Services.Configure<FileAuditLogOptions>(o =>
        {
            o.Folder = folder;
            configure?.Invoke(o);
        });
        return this;
    }

    /// <summary>
    /// Also writes every record as an AuditEvent resource into the Igia FHIR store (through the interaction pipeline), so
    /// that <c>GET AuditEvent?patient=…</c> answers "who looked at this patient's record". Records are written in order,
    /// after they are durable locally, in transactions of up to 100; when the store is unavailable they wait in the local
    /// log and are retried, without duplicates. Needs <c>AddIgiaFhirServer</c> with update-as-create allowed.
    /// </summary>
    /// <param name="writeAs">
    /// The caller the sink's writes run as, for authorization filters: with Igia.Smart's resource server, give an identity
    /// of its authentication scheme with <c>system/AuditEvent.cru</c> scopes. Default: an internal system principal
    /// (authentication type <c>Igia.Audit.System</c>, scopes <c>system/AuditEvent.c/.u/.r</c>).
    /// </param>
    public IgiaAuditBuilder WriteToFhirStore(System.Security.Claims.ClaimsPrincipal? writeAs = null)
    {
        Services.AddSingleton<IAuditSink>(sp => new FhirStoreAuditSink(sp, writeAs ?? FhirStoreAuditSink.SystemPrincipal));
        return this;
    }

    /// <summary>
    /// Also sends every record to an ATNA audit record repository as RFC 5424 syslog over TLS (RFC 5425), the payload a
    /// DICOM PS3.15 audit message (XML) or the FHIR AuditEvent (JSON), masked by default. Delivery is confirmed per batch
    /// (the collector closes the connection after reading it all); when the collector is down records wait in the local
    /// log and are retried in order. Call again with another <paramref name="name"/> for a second repository.
    /// </summary>
    public IgiaAuditBuilder WriteToSyslog(Action<SyslogAuditSinkOptions> configure, string name = "syslog")
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.AddOptions<SyslogAuditSinkOptions>(name).Configure(configure).ValidateDataAnnotations().ValidateOnStart();
        Services.AddSingleton<IAuditSink>(sp => new SyslogAuditSink(name, sp.GetRequiredService<IOptionsMonitor<SyslogAuditSinkOptions>>().Get(name), sp.GetRequiredService<IOptions<AuditOptions>>()));
        return this;
    }

    /// <summary>
    /// Also writes a one-line, masked summary of every record to the application's logs (category <c>Igia.Audit.Events</c>,
    /// level Information) — for log pipelines and SIEMs that read text logs.
    /// </summary>
    public IgiaAuditBuilder WriteToLogger()
    {
        Services.AddSingleton<IAuditSink, LoggerAuditSink>();
        return this;
    }

    /// <summary>Adds a custom sink (see <see cref="IAuditSink"/>).</summary>
    public IgiaAuditBuilder AddSink<TSink>()
        where TSink : class, IAuditSink
    {
        Services.AddSingleton<IAuditSink, TSink>();
        return this;
    }
}
