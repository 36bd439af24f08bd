using System.Globalization;
using System.Text;
using Hl7.Fhir.Model;
using Igia.Audit.Internal;
using Igia.Fhir.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Igia.Audit.Capture;

/// <summary>
/// Builds the AuditEvents: IHE BALP for FHIR REST interactions (agent roles exactly as each BALP profile defines them),
/// DICOM/IHE for security events, and a generic pattern for opted-in non-FHIR endpoints.
/// </summary>
internal sealed partial class AuditEventFactory
{
    private readonly AuditOptions _options;
    private readonly TimeProvider _time;

    public AuditEventFactory(IOptions<AuditOptions> options, TimeProvider time, IHostEnvironment? environment = null)
    {
        _options = options.Value;
        _time = time;
        SourceId = _options.SourceId ?? $"{environment?.ApplicationName ?? "igia"}@{Environment.MachineName}";
    }

    /// <summary>This server's identity in the events.</summary>
    public string SourceId { get; }

    /// <summary>Makes the id of a new event (a version-7 GUID); tests set a fixed one to compare events.</summary>
    internal Func<string> NewId { get; set; } = FhirId.New;

    /// <summary>The BALP pattern an interaction follows.</summary>
    internal enum Pattern
    {
        Create,
        Read,
        Update,
        Delete,
        Query,
        Other,
    }

    /// <summary>
    /// The events of one FHIR interaction: one per patient involved (BALP Patient* profiles), or one without a patient.
    /// Success events of create/read/update/delete/search claim the matching BALP profile; failures claim none.
    /// </summary>
    public List<AuditEvent> ForInteraction(FhirInteraction interaction, int status, FhirResponse? response, IEnumerable<string>? knownPatients)
    {
        var (pattern, caller, patients, type, id) = Prepare(interaction, status, response, knownPatients);
        var events = new List<AuditEvent>(patients.Count);
        foreach (var patient in patients)
        {
            events.Add(Build(interaction, pattern, caller, status, response, type, id, patient));
        }

        return events;
    }

    /// <summary>One null patient: the single event of an interaction that involves no patient.</summary>
    private static readonly string?[] NoPatient = [null];

    /// <summary>
    /// What every event of an interaction shares: its BALP pattern, the caller, the resource, and the patients it involves
    /// in order (one event each), or <see cref="NoPatient"/> when it involves none.
    /// </summary>
    private (Pattern Pattern, CallerInfo Caller, IReadOnlyCollection<string?> Patients, string? Type, string? Id) Prepare(FhirInteraction interaction, int status, FhirResponse? response, IEnumerable<string>? knownPatients)
    {
        var pattern = PatternOf(interaction.Kind);
        var caller = CallerInfo.From(interaction.User, HttpOf(interaction), _options.RequestIdHeader);
        var success = status < 400;
        var patients = new SortedSet<string>(StringComparer.Ordinal);
        if (knownPatients is not null)
        {
            patients.UnionWith(knownPatients);
        }

        var type = response?.ResourceType ?? interaction.ResourceType;
        var id = response?.Id ?? interaction.Id;
        switch (interaction.Kind)
        {
            case FhirInteractionKind.Read or FhirInteractionKind.VRead:
                if (success)
                {
                    // A read's body is usually still the stored JSON: look at it without parsing it (keeps the read fast path).
                    if (response?.StoredJson is { } stored)
                    {
                        PatientExtractor.FromStoredJson(stored, interaction.BaseUrl, patients);
                    }
                    else
                    {
                        PatientExtractor.FromResource(response?.Resource, interaction.BaseUrl, patients);
                    }
                }

                break;
            case FhirInteractionKind.Create or FhirInteractionKind.Update or FhirInteractionKind.Patch:
                if (success && response?.StoredJson is { } writtenJson)
                {
                    PatientExtractor.FromStoredJson(writtenJson, interaction.BaseUrl, patients);
                }
                else
                {
                    PatientExtractor.FromResource(success && response?.Resource is { } written and not OperationOutcome ? written : interaction.Resource is Parameters ? null : interaction.Resource, interaction.BaseUrl, patients);
                }

                break;
            case FhirInteractionKind.Search or FhirInteractionKind.History or FhirInteractionKind.Operation:
                PatientExtractor.FromSearch(interaction, patients);
                if (success && response?.StoredEntries is { } entries)
                {
                    // A search Bundle whose entries are still the stored JSON: look at them without parsing them (keeps the
                    // search fast path, where the stored JSON is spliced into the answer). Its other entries are
                    // OperationOutcomes, which name no patient.
                    foreach (var entry in entries)
                    {
                        PatientExtractor.FromStoredJson(entry, interaction.BaseUrl, patients);
                    }
                }
                else if (success)
                {
                    PatientExtractor.FromResource(response?.Resource, interaction.BaseUrl, patients);
                }

                break;
        }

        if (type == "Patient" && id is not null && FhirId.IsValid(id) && interaction.Kind is not (FhirInteractionKind.Search or FhirInteractionKind.Batch or FhirInteractionKind.Transaction))
        {
            patients.Add(id);
        }

        return (pattern, caller, patients.Count == 0 ? NoPatient : patients, type, id);
    }

    /// <summary>
    /// Agent roles per BALP: Read has the client as 110152 Destination and the server as 110153 Source; Create, Update and
    /// Query the reverse; Delete has the client as 110150 Application and the server as custodian (<c>null</c> here).
    /// The user is the information recipient (IRCP) or the author (AUT).
    /// </summary>
    private static (string Client, string? Server, string User) RolesOf(Pattern pattern) => pattern switch
    {
        Pattern.Read => ("110152", "110153", "IRCP"),
        Pattern.Create or Pattern.Update => ("110153", "110152", "AUT"),
        Pattern.Delete => ("110150", null, "AUT"),
        _ => ("110153", "110152", "IRCP"),
    };

    /// <summary>The server agent's role: a DICOM role code, or custodian when <see cref="RolesOf"/> gives none.</summary>
    private static CodeableConcept ServerRole(string? code) =>
        code is null ? AuditCodes.Concept(AuditCodes.ProvenanceParticipantType, "custodian", "Custodian") : AuditCodes.DcmConcept(code);

    /// <summary>The display of a user role code from <see cref="RolesOf"/>.</summary>
    private static string UserRoleDisplay(string userCode) => userCode == "IRCP" ? "information recipient" : "author (originator)";

    /// <summary>The BALP profile a successful event of the pattern claims, in its Patient variant when a patient is involved.</summary>
    private static string ProfileOf(Pattern pattern, bool hasPatient) => (pattern, hasPatient) switch
    {
        (Pattern.Create, false) => AuditCodes.ProfileCreate,
        (Pattern.Create, true) => AuditCodes.ProfilePatientCreate,
        (Pattern.Read, false) => AuditCodes.ProfileRead,
        (Pattern.Read, true) => AuditCodes.ProfilePatientRead,
        (Pattern.Update, false) => AuditCodes.ProfileUpdate,
        (Pattern.Update, true) => AuditCodes.ProfilePatientUpdate,
        (Pattern.Delete, false) => AuditCodes.ProfileDelete,
        (Pattern.Delete, true) => AuditCodes.ProfilePatientDelete,
        (_, false) => AuditCodes.ProfileQuery,
        (_, true) => AuditCodes.ProfilePatientQuery,
    };

    /// <summary>
    /// Whether a successful event also claims OAUTHaccessTokenUse.Comprehensive: the OAuth client as 110150 with its id, and a
    /// user who is the information recipient only with the token id and subject.
    /// </summary>
    private static bool ClaimsOAuthComprehensive(CallerInfo caller, string userCode) =>
        caller.ClientId is not null && (!caller.HasUser || userCode != "IRCP" || (caller.TokenId is not null && caller.Subject is not null));

    private AuditEvent Build(FhirInteraction interaction, Pattern pattern, CallerInfo caller, int status, FhirResponse? response, string? type, string? id, string? patient)
    {
        var success = status < 400;
        var ev = NewEvent(AuditCodes.RestType, [new Coding(AuditCodes.RestfulInteraction, SubtypeOf(interaction), SubtypeOf(interaction))], ActionOf(interaction.Kind), status, success ? null : response?.Resource as OperationOutcome);

        var (clientCode, serverCode, userCode) = RolesOf(pattern);
        ev.Agent.Add(ClientAgent(AuditCodes.DcmConcept(clientCode), caller));
        ev.Agent.Add(ServerAgent(ServerRole(serverCode), interaction.BaseUrl));
        if (caller.HasUser)
        {
            ev.Agent.Add(UserAgent(AuditCodes.Concept(AuditCodes.ParticipationType, userCode, UserRoleDisplay(userCode)), caller));
        }

        if (caller.ClientId is not null && pattern != Pattern.Delete)
        {
            ev.Agent.Add(ApplicationAgent(caller.ClientId));
        }

        switch (pattern)
        {
            case Pattern.Create or Pattern.Read or Pattern.Update or Pattern.Delete:
                ev.Entity.Add(DataEntity(type, id, interaction.VersionId));
                break;
            case Pattern.Query:
                ev.Entity.Add(QueryEntity(interaction));
                break;
            default:
                if (interaction.Kind is FhirInteractionKind.Batch or FhirInteractionKind.Transaction)
                {
                    var count = (interaction.Resource as Bundle)?.Entry.Count ?? 0;
                    ev.Entity.Add(new AuditEvent.EntityComponent
                    {
                        What = new ResourceReference { Display = "Bundle" },
                        Type = AuditCodes.EntitySystemObject,
                        Role = AuditCodes.RoleJob,
                        Description = string.Create(CultureInfo.InvariantCulture, $"{interaction.Kind.ToString().ToLowerInvariant()} Bundle of {count} entries"),
                    });
                }
                else if (interaction.Kind != FhirInteractionKind.Capabilities)
                {
                    ev.Entity.Add(QueryEntity(interaction));
                    if (id is not null && type is not null)
                    {
                        ev.Entity.Add(DataEntity(type, id, interaction.VersionId));
                    }
                }

                break;
        }

        if (patient is not null)
        {
            ev.Entity.Add(PatientEntity(patient));
        }

        if (caller.RequestId is not null)
        {
            ev.Entity.Add(RequestEntity(caller.RequestId));
        }

        if (success && pattern != Pattern.Other)
        {
            ev.Meta = new Meta { Profile = [ProfileOf(pattern, patient is not null)] };
            if (ClaimsOAuthComprehensive(caller, userCode))
            {
                ev.Meta.ProfileElement.Add(new Canonical(AuditCodes.ProfileOAuthComprehensive));
            }
        }

        return ev;
    }

    /// <summary>
    /// The event of a request to an opted-in non-FHIR endpoint, or of a FHIR request refused before it reached the
    /// pipeline (malformed, unauthenticated): DICOM 110110 Patient Record (or FHIR <c>rest</c>), no BALP profile.
    /// </summary>
    public List<AuditEvent> ForHttpRequest(HttpContext http, int status, bool fhir, string? patientId, AuditEvent.AuditEventAction? action)
    {
        var caller = CallerInfo.From(http.User, http, _options.RequestIdHeader);
        var act = action ?? http.Request.Method switch
        {
            "POST" => AuditEvent.AuditEventAction.C,
            "PUT" or "PATCH" => AuditEvent.AuditEventAction.U,
            "DELETE" => AuditEvent.AuditEventAction.D,
            "GET" or "HEAD" => AuditEvent.AuditEventAction.R,
            _ => AuditEvent.AuditEventAction.E,
        };
        var type = fhir ? AuditCodes.RestType : AuditCodes.DcmCoding("110110");
        var ev = NewEvent(type, [], act, status, null);
        var (clientCode, serverCode, userCode) = RolesOf(act switch
        {
            AuditEvent.AuditEventAction.R => Pattern.Read,
            AuditEvent.AuditEventAction.D => Pattern.Delete,
            AuditEvent.AuditEventAction.C or AuditEvent.AuditEventAction.U => Pattern.Create,
            _ => Pattern.Other,
        });
        ev.Agent.Add(ClientAgent(AuditCodes.DcmConcept(clientCode), caller));
        ev.Agent.Add(ServerAgent(ServerRole(serverCode), ServerUrl(http)));
        if (caller.HasUser)
        {
            ev.Agent.Add(UserAgent(AuditCodes.Concept(AuditCodes.ParticipationType, userCode, UserRoleDisplay(userCode)), caller));
        }

        if (caller.ClientId is not null && act != AuditEvent.AuditEventAction.D)
        {
            ev.Agent.Add(ApplicationAgent(caller.ClientId));
        }

        ev.Entity.Add(PathEntity(http, AuditCodes.RoleDomainResource));
        if (patientId is not null && FhirId.IsValid(patientId))
        {
            ev.Entity.Add(PatientEntity(patientId));
        }

        if (caller.RequestId is not null)
        {
            ev.Entity.Add(RequestEntity(caller.RequestId));
        }

        return [ev];
    }

    /// <summary>The AuditEvent of a security event.</summary>
    public AuditEvent ForSecurityEvent(SecurityEvent security)
    {
        ArgumentNullException.ThrowIfNull(security);
        var caller = CallerInfo.From(security.User, security.HttpContext, _options.RequestIdHeader, security.UserId, security.ClientId);
        var failure = security.Kind is SecurityEventKind.AuthenticationFailure or SecurityEventKind.AuthorizationDenied || !security.Success;
        var outcome = security.Outcome ?? (failure ? AuditEvent.AuditEventOutcome.N4 : AuditEvent.AuditEventOutcome.N0);
        var (type, subtype) = security.Kind switch
        {
            SecurityEventKind.AuthenticationFailure => (AuditCodes.DcmCoding("110113"), AuditCodes.DcmCoding("110126")),
            SecurityEventKind.AuthorizationDenied => (AuditCodes.DcmCoding("110113"), AuditCodes.DcmCoding("110132")),
            SecurityEventKind.TokenIssued => (AuditCodes.DcmCoding("110114"), new Coding(AuditCodes.IheEventTypeCode, "ITI-71", "Get Access Token")),
            SecurityEventKind.Login => (AuditCodes.DcmCoding("110114"), AuditCodes.DcmCoding("110122")),
            SecurityEventKind.Logout => (AuditCodes.DcmCoding("110114"), AuditCodes.DcmCoding("110123")),
            _ => throw new ArgumentOutOfRangeException(nameof(security), security.Kind, "Unknown security event kind."),
        };

        var ev = NewEvent(type, [subtype], AuditEvent.AuditEventAction.E, 0, null);
        ev.Outcome = outcome;
        ev.OutcomeDesc = Truncate(security.Description, 500);
        var serverUrl = security.HttpContext is { } http ? ServerUrl(http) : "";
        if (security.Kind == SecurityEventKind.TokenIssued)
        {
            // IHE IUA ITI-71 (Get Access Token): client, authorization server, optional user; one token-request entity.
            ev.Agent.Add(ClientAgent(AuditCodes.DcmConcept("110150"), caller));
            ev.Agent.Add(ServerAgent(AuditCodes.Concept(AuditCodes.BalpUserAgentTypes, "AuthzOauthService", "OAuth Authorization Server"), serverUrl));
            if (caller.HasUser)
            {
                ev.Agent.Add(UserAgent(AuditCodes.Concept(AuditCodes.ParticipationType, "IRCP", "information recipient"), caller));
            }

            ev.Entity.Add(new AuditEvent.EntityComponent
            {
                Type = AuditCodes.EntitySystemObject,
                Role = AuditCodes.RoleQuery,
                Query = Encoding.UTF8.GetBytes(security.TokenRequest is { Length: > 0 } request ? request : "grant_type=unspecified"),
            });
            if (outcome == AuditEvent.AuditEventOutcome.N0)
            {
                ev.Meta = new Meta { Profile = [AuditCodes.ProfileIua71] };
            }

            return ev;
        }

        ev.Agent.Add(ClientAgent(AuditCodes.DcmConcept("110150"), caller));
        var serverRole = security.Kind is SecurityEventKind.Login or SecurityEventKind.Logout
            ? AuditCodes.Concept(AuditCodes.ExtraSecurityRoleType, "authserver", "authorization server")
            : AuditCodes.Concept(AuditCodes.ExtraSecurityRoleType, "dataprocessor", "data processor");
        ev.Agent.Add(ServerAgent(serverRole, serverUrl));
        if (caller.HasUser)
        {
            ev.Agent.Add(UserAgent(AuditCodes.Concept(AuditCodes.ExtraSecurityRoleType, "humanuser", "human user"), caller));
        }

        if (security.HttpContext is { } context)
        {
            ev.Entity.Add(PathEntity(context, AuditCodes.RoleSecurityResource));
        }

        if (security.PatientId is { } patientId && FhirId.IsValid(patientId))
        {
            ev.Entity.Add(PatientEntity(patientId));
        }

        if (caller.RequestId is not null)
        {
            ev.Entity.Add(RequestEntity(caller.RequestId));
        }

        return ev;
    }

    /// <summary>Fills in what an application-built AuditEvent lacks: id, recorded, source.</summary>
    public void Complete(AuditEvent auditEvent)
    {
        auditEvent.Id ??= NewId();
        auditEvent.Recorded ??= _time.GetUtcNow();
        auditEvent.Source ??= Source();
    }

    private AuditEvent NewEvent(Coding type, List<Coding> subtype, AuditEvent.AuditEventAction action, int status, OperationOutcome? outcome) =>
        new()
        {
            Id = NewId(),
            Type = type,
            Subtype = subtype,
            Action = action,
            Recorded = _time.GetUtcNow(),
            Outcome = status < 400 ? AuditEvent.AuditEventOutcome.N0 : status < 500 ? AuditEvent.AuditEventOutcome.N4 : AuditEvent.AuditEventOutcome.N8,
            OutcomeDesc = status < 400 ? null : OutcomeDescOf(status, outcome),
            Source = Source(),
        };

    private static string OutcomeDescOf(int status, OperationOutcome? outcome) =>
        Truncate(string.Create(CultureInfo.InvariantCulture, $"HTTP {status}{(outcome?.Issue.FirstOrDefault()?.Diagnostics is { } d ? ": " + d : "")}"), 500)!;

    private AuditEvent.SourceComponent Source() => new()
    {
        Site = _options.Site,
        Observer = new ResourceReference { Identifier = new Identifier { Value = SourceId }, Display = SourceId },
        Type = [AuditCodes.ApplicationServer],
    };

    private static AuditEvent.AgentComponent ClientAgent(CodeableConcept type, CallerInfo caller) => new()
    {
        Type = type,
        Who = caller.ClientId is not null
            ? new ResourceReference { Identifier = new Identifier { Value = caller.ClientId } }
            : new ResourceReference { Display = caller.ClientAddress ?? Environment.MachineName },
        Requestor = !caller.HasUser,
        Network = caller.ClientAddress is not null
            ? new AuditEvent.NetworkComponent { Address = caller.ClientAddress, Type = caller.AddressIsIp ? AuditEvent.AuditEventAgentNetworkType.N2 : AuditEvent.AuditEventAgentNetworkType.N1 }
            : new AuditEvent.NetworkComponent { Address = Environment.MachineName, Type = AuditEvent.AuditEventAgentNetworkType.N1 },
    };

    private AuditEvent.AgentComponent ServerAgent(CodeableConcept type, string baseUrl) => new()
    {
        Type = type,
        Who = new ResourceReference { Identifier = new Identifier { Value = SourceId }, Display = SourceId },
        Requestor = false,
        Network = baseUrl.Length > 0
            ? new AuditEvent.NetworkComponent { Address = baseUrl, Type = AuditEvent.AuditEventAgentNetworkType.N5 }
            : new AuditEvent.NetworkComponent { Address = Environment.MachineName, Type = AuditEvent.AuditEventAgentNetworkType.N1 },
    };

    private static AuditEvent.AgentComponent UserAgent(CodeableConcept type, CallerInfo caller)
    {
        var agent = new AuditEvent.AgentComponent
        {
            Type = type,
            Who = new ResourceReference
            {
                Reference = caller.FhirUser,
                Identifier = caller.Subject is null ? null : new Identifier { System = AsUri(caller.Issuer), Value = caller.Subject },
            },
            Requestor = true,
        };
        if (caller.TokenId is not null)
        {
            agent.PolicyElement.Add(new FhirUri(caller.TokenId));
        }

        return agent;
    }

    private static AuditEvent.AgentComponent ApplicationAgent(string clientId) => new()
    {
        Type = AuditCodes.DcmConcept("110150"),
        Who = new ResourceReference { Identifier = new Identifier { Value = clientId } },
        Requestor = false,
    };

    private static AuditEvent.EntityComponent DataEntity(string? type, string? id, string? versionId) => new()
    {
        What = type is not null && id is not null
            ? new ResourceReference(versionId is null ? $"{type}/{id}" : $"{type}/{id}/_history/{versionId}")
            : new ResourceReference { Display = type ?? "unknown" },
        Type = AuditCodes.EntitySystemObject,
        Role = AuditCodes.RoleDomainResource,
    };

    private static AuditEvent.EntityComponent PatientEntity(string patientId) => new()
    {
        What = new ResourceReference("Patient/" + patientId),
        Type = AuditCodes.EntityPerson,
        Role = AuditCodes.RolePatient,
    };

    private static AuditEvent.EntityComponent RequestEntity(string requestId) => new()
    {
        What = new ResourceReference { Identifier = new Identifier { Value = requestId } },
        Type = AuditCodes.RequestIdType,
    };

    private static AuditEvent.EntityComponent QueryEntity(FhirInteraction interaction) => new()
    {
        Type = AuditCodes.EntitySystemObject,
        Role = AuditCodes.RoleQuery,
        Query = Encoding.UTF8.GetBytes(RequestLine(interaction)),
    };

    private static AuditEvent.EntityComponent PathEntity(HttpContext http, Coding role) => new()
    {
        What = new ResourceReference { Identifier = new Identifier { System = "urn:ietf:rfc:3986", Value = ServerUrl(http) + http.Request.Path.Value } },
        Type = AuditCodes.EntitySystemObject,
        Role = role,
    };

    /// <summary>The request as <c>METHOD base/path?params</c>: the query of a search (form parameters included).</summary>
    internal static string RequestLine(FhirInteraction interaction)
    {
        var path = interaction.RelativeUrl;
        var q = path.IndexOf('?');
        if (q >= 0)
        {
            path = path[..q];
        }

        var sb = new StringBuilder(interaction.Method.Length + interaction.BaseUrl.Length + path.Length + 64);
        sb.Append(interaction.Method).Append(' ').Append(interaction.BaseUrl).Append('/').Append(path);
        var first = true;
        foreach (var (name, value) in interaction.Parameters)
        {
            sb.Append(first ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
            first = false;
        }

        return sb.ToString();
    }

    private static string ServerUrl(HttpContext http) => $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}";

    private static HttpContext? HttpOf(FhirInteraction interaction) => interaction.HttpContext ?? interaction.Parent?.HttpContext;

    internal static Pattern PatternOf(FhirInteractionKind kind) => kind switch
    {
        FhirInteractionKind.Read or FhirInteractionKind.VRead => Pattern.Read,
        FhirInteractionKind.Create => Pattern.Create,
        FhirInteractionKind.Update or FhirInteractionKind.Patch => Pattern.Update,
        FhirInteractionKind.Delete => Pattern.Delete,
        FhirInteractionKind.Search => Pattern.Query,
        _ => Pattern.Other,
    };

    private static AuditEvent.AuditEventAction ActionOf(FhirInteractionKind kind) => kind switch
    {
        FhirInteractionKind.Read or FhirInteractionKind.VRead => AuditEvent.AuditEventAction.R,
        FhirInteractionKind.Create => AuditEvent.AuditEventAction.C,
        FhirInteractionKind.Update or FhirInteractionKind.Patch => AuditEvent.AuditEventAction.U,
        FhirInteractionKind.Delete => AuditEvent.AuditEventAction.D,
        _ => AuditEvent.AuditEventAction.E,
    };

    private static string SubtypeOf(FhirInteraction interaction) => interaction.Kind switch
    {
        FhirInteractionKind.Read => "read",
        FhirInteractionKind.VRead => "vread",
        FhirInteractionKind.Create => "create",
        FhirInteractionKind.Update => "update",
        FhirInteractionKind.Patch => "patch",
        FhirInteractionKind.Delete => "delete",
        FhirInteractionKind.Search => interaction.ResourceType is null && interaction.CompartmentType is null ? "search-system" : "search-type",
        FhirInteractionKind.History => interaction.Id is not null ? "history-instance" : interaction.ResourceType is not null ? "history-type" : "history-system",
        FhirInteractionKind.Capabilities => "capabilities",
        FhirInteractionKind.Batch => "batch",
        FhirInteractionKind.Transaction => "transaction",
        _ => "operation",
    };

    private static string? AsUri(string? issuer) => issuer is not null && Uri.TryCreate(issuer, UriKind.Absolute, out _) ? issuer : null;

    private static string? Truncate(string? s, int max) => s is null || s.Length <= max ? s : s[..max];
}
