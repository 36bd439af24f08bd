using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text.Json;
using Hl7.Fhir.Model;
using Igia.Fhir.Pipeline;
using Microsoft.AspNetCore.Authentication;
using Igia.Workflow.Engine;
using Microsoft.Extensions.Options;

namespace Igia.Workflow.Subscriptions;

/// <summary>
/// The authorization context of each Subscription: the principal of the last client that wrote it (recorded inside the
/// write's transaction by <see cref="SubscriptionValidator"/>; the engine's own status writes keep the previous one),
/// kept in the workflow database (<c>wf_subscriber</c>). Notification content is read back through the FHIR pipeline as
/// that principal, so every installed filter (SMART scopes and patient compartment, application policies, audit)
/// decides what the subscriber may receive.
/// </summary>
internal sealed class SubscriberAccess
{
    /// <summary>Where <see cref="SubscriberCaptureFilter"/> leaves the authenticated principal of a request for the validator.</summary>
    internal static readonly object PrincipalKey = new();

    private readonly WorkflowOptions _options;
    private readonly IServiceProvider _services;
    private readonly WorkflowDatabase _database;
    private readonly ConcurrentDictionary<(string Id, int Version), ClaimsPrincipal?> _cache = new();

    public SubscriberAccess(IOptions<WorkflowOptions> options, IServiceProvider services, WorkflowDatabase database)
    {
        _options = options.Value;
        _services = services;
        _database = database;
    }

    /// <summary>The principal on whose behalf a write was made: the one a capture filter authenticated, else the interaction's user.</summary>
    public static ClaimsPrincipal WriterOf(FhirInteraction interaction)
    {
        for (var i = interaction; i is not null; i = i.Parent)
        {
            if (i.Items.TryGetValue(PrincipalKey, out var p) && p is ClaimsPrincipal principal)
            {
                return principal;
            }
        }

        var root = interaction;
        while (root.Parent is not null)
        {
            root = root.Parent;
        }

        return root.User.Identity?.IsAuthenticated == true ? root.User : interaction.User;
    }

    /// <summary>
    /// Records who wrote version <paramref name="version"/> of a Subscription. Called by the write validator while the FHIR
    /// write is in progress, but stored in the workflow database, outside that write's transaction: a write that then rolls
    /// back leaves a row for a version that never existed, and the next write of that version replaces it (upsert).
    /// </summary>
    public void Record(string subscriptionId, int version, ClaimsPrincipal writer)
    {
        var system = ReferenceEquals(writer, _options.SystemUser);
        using var connection = _database.Open();
        using var cmd = connection.Command(
            null,
            system
                // The engine's own status writes keep the client's context; a Subscription the system itself created runs as the system.
                ? "INSERT INTO wf_subscriber(sub_id, version, principal) SELECT @id, @v, @p WHERE NOT EXISTS (SELECT 1 FROM wf_subscriber WHERE sub_id = @id)"
                : "INSERT INTO wf_subscriber(sub_id, version, principal) VALUES (@id, @v, @p) ON CONFLICT(sub_id, version) DO UPDATE SET principal = excluded.principal",
            ("@id", subscriptionId), ("@v", version), ("@p", system ? SystemMarker : Serialize(writer)));
        cmd.ExecuteNonQuery();
        _cache.Clear();
    }

    /// <summary>The principal that Subscription version <paramref name="version"/> runs as, or null when none was recorded (nothing is then disclosed).</summary>
    public ClaimsPrincipal? PrincipalOf(string subscriptionId, int? version)
    {
        var key = (subscriptionId, version ?? int.MaxValue);
        if (_cache.TryGetValue(key, out var cached))
        {
            return cached;
        }

        using var connection = _database.Open();
        using var cmd = connection.Command(null, "SELECT principal FROM wf_subscriber WHERE sub_id = @id AND version <= @v ORDER BY version DESC LIMIT 1", ("@id", subscriptionId), ("@v", key.Item2));
        var json = cmd.ExecuteScalar() as string;
        var principal = json is null ? null : json == SystemMarker ? _options.SystemUser : Deserialize(json);
        if (_cache.Count > 10_000)
        {
            _cache.Clear();
        }

        _cache[key] = principal;
        return principal;
    }

    /// <summary>
    /// What an event notification may carry: the focus is read through the FHIR pipeline as the Subscription's principal
    /// (the exact version; for a deletion, the version before it). When that read is refused (401/403/404/410), the
    /// event is sent without focus, as an <c>empty</c> notification with its event number (numbers stay gapless).
    /// Other failures throw, so the delivery is retried.
    /// </summary>
    public async Task<(bool Withheld, Resource? Focus)> ReadFocusAsync(SubscriptionInfo subscription, OutboxItem item, CancellationToken ct)
    {
        if (item.Kind != "event-notification" || subscription.Payload == "empty" || item.FocusType is null || item.FocusId is null || item.FocusVersion is not { } version)
        {
            return (false, null);
        }

        var principal = PrincipalOf(subscription.Id, subscription.VersionId);
        if (principal is null)
        {
            return (true, null);
        }

        var deleted = item.FocusMethod == "DELETE";
        var readVersion = deleted ? version - 1 : version;
        if (readVersion < 1)
        {
            return (true, null);
        }

        var v = readVersion.ToString(CultureInfo.InvariantCulture);
        var executor = (IFhirInteractionExecutor)_services.GetService(typeof(IFhirInteractionExecutor))!;
        var response = await executor.ExecuteAsync(new FhirInteraction
        {
            Kind = FhirInteractionKind.VRead,
            ResourceType = item.FocusType,
            Id = item.FocusId,
            VersionId = v,
            Method = "GET",
            BaseUrl = _options.FhirBaseUrl.TrimEnd('/'),
            RelativeUrl = $"{item.FocusType}/{item.FocusId}/_history/{v}",
            User = principal,
            CancellationToken = ct,
        });
        if (response.IsSuccess)
        {
            return (false, deleted || subscription.Payload != "full-resource" ? null : response.Resource);
        }

        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            return (true, null);
        }

        throw new InvalidOperationException($"Reading the focus of a notification for Subscription/{subscription.Id} failed with {(int)response.StatusCode}; the delivery will be retried.");
    }

    private const string SystemMarker = "system";

    private sealed record IdentityData(string? AuthenticationType, string? NameType, string? RoleType, string[][] Claims);

    private static string Serialize(ClaimsPrincipal principal) => JsonSerializer.Serialize(
        principal.Identities.Where(i => i.IsAuthenticated).Select(i => new IdentityData(
            i.AuthenticationType, i.NameClaimType, i.RoleClaimType, [.. i.Claims.Select(c => new[] { c.Type, c.Value, c.ValueType, c.Issuer })])).ToArray());

    private static ClaimsPrincipal Deserialize(string json)
    {
        var identities = JsonSerializer.Deserialize<IdentityData[]>(json) ?? [];
        return identities.Length == 0
            ? new ClaimsPrincipal(new ClaimsIdentity())
            : new ClaimsPrincipal(identities.Select(i => new ClaimsIdentity(i.Claims.Select(c => new System.Security.Claims.Claim(c[0], c[1], c[2], c[3])), i.AuthenticationType, i.NameType, i.RoleType)));
    }
}

/// <summary>
/// For writes that may carry a Subscription, authenticates the request with
/// <see cref="SubscriptionOptions.AuthenticationScheme"/> (when set and the pipeline's user is anonymous — the SMART
/// resource server authenticates inside its own filter) so that <see cref="SubscriptionValidator"/> can record who wrote it.
/// Runs before the store session: authentication may call out (introspection, keys) and must not hold the writer.
/// </summary>
internal sealed class SubscriberCaptureFilter(IOptions<WorkflowOptions> options) : IFhirInteractionFilter
{
    public int Order => FhirFilterOrder.Authorization - 1;

    public async ValueTask<FhirResponse> InvokeAsync(FhirInteraction interaction, FhirInteractionDelegate next)
    {
        if (options.Value.Subscriptions.AuthenticationScheme is { } scheme && interaction.Parent is null && interaction.HttpContext is { } http
            && interaction.User.Identity?.IsAuthenticated != true && MayWriteSubscription(interaction))
        {
            var result = await http.AuthenticateAsync(scheme);
            if (result.Succeeded && result.Principal is { } principal)
            {
                interaction.Items[SubscriberAccess.PrincipalKey] = principal;
            }
        }

        return await next(interaction);
    }

    private static bool MayWriteSubscription(FhirInteraction interaction) => interaction.Kind switch
    {
        FhirInteractionKind.Create or FhirInteractionKind.Update or FhirInteractionKind.Patch => interaction.ResourceType == "Subscription",
        FhirInteractionKind.Batch or FhirInteractionKind.Transaction => interaction.Resource is Bundle bundle
            && bundle.Entry.Any(e => e.Resource is Subscription || e.Request?.Url?.StartsWith("Subscription", StringComparison.Ordinal) == true),
        _ => false,
    };
}
