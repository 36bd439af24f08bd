using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Storage;
using Igia.Workflow.Internal;
using Igia.Workflow.Sla;
using Igia.Workflow.Subscriptions;
using System.Data.Common;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Quartz;

namespace Igia.Workflow.Engine;

/// <summary>
/// What the workflow's Quartz.NET jobs do. The engine keeps no state in memory: every job reads what it needs from
/// the workflow database, so any node of a cluster can run any job.
/// <list type="bullet">
/// <item><see cref="PumpAsync"/> (the change-feed job, one node at a time) tails the FHIR store's change feed after the
/// cursor and, per change, appends Subscription notifications with their event numbers to the outbox and records the
/// cursor in one workflow-database transaction; it arms, moves or cancels the Tasks' SLA timers (Quartz triggers)
/// before that commit, so a crash re-arms them from the feed.</item>
/// <item><see cref="DeliverAsync"/> (one job per Subscription, one node at a time) sends the outbox in order over
/// rest-hook and schedules a retry trigger with back-off on failure.</item>
/// </list>
/// All time comes from <see cref="TimeProvider"/>.
/// </summary>
internal sealed partial class WorkflowEngine
{
    internal static readonly Meter Meter = new("Igia.Workflow");
    private static readonly Counter<long> Delivered = Meter.CreateCounter<long>("igia.workflow.notifications.delivered", description: "Subscription notifications delivered, by type.");
    private static readonly Counter<long> Failed = Meter.CreateCounter<long>("igia.workflow.notifications.failed", description: "Failed notification attempts.");
    private static readonly JsonSerializerOptionsHolder Json = new();

    private readonly IFhirStore _store;
    private readonly IFhirInteractionExecutor _executor;
    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _time;
    private readonly WorkflowOptions _options;
    private readonly SlaService _sla;
    private readonly ILogger<WorkflowEngine> _logger;
    private readonly WorkflowSignal _signal;
    private readonly SubscriberAccess _access;
    private int _noFeedLogged;

    public WorkflowEngine(IOptions<WorkflowOptions> options, IFhirStore store, IFhirInteractionExecutor executor, IHttpClientFactory http, TimeProvider time, SlaService sla, WorkflowSignal signal, ILogger<WorkflowEngine> logger, SubscriberAccess access, WorkflowDatabase database)
    {
        _signal = signal;
        _access = access;
        _options = options.Value;
        Database = database;
        _store = store;
        _executor = executor;
        _http = http;
        _time = time;
        _sla = sla;
        _logger = logger;
    }

    /// <summary>The workflow database (cursor, outbox, subscription counters, missed Tasks).</summary>
    public WorkflowDatabase Database { get; }

    /// <summary>How many times an SLA timer fired in this process, per Task id (diagnostics; the scale-out tests count them across nodes).</summary>
    internal System.Collections.Concurrent.ConcurrentDictionary<string, int> TimerFirings { get; } = new(StringComparer.Ordinal);

    /// <summary>The engine's view of one Subscription, as stored.</summary>
    internal sealed class SubscriptionState
    {
        public required SubscriptionInfo Info { get; init; }

        public required string State { get; set; }

        public long Events { get; set; }

        public int Failures { get; set; }
    }

    /// <summary>The engine's state of a Subscription, for <c>$status</c>; null when unknown.</summary>
    public (SubscriptionInfo Info, string State, long Events)? GetStatus(string id)
    {
        using var connection = Database.Open();
        using var cmd = connection.Command(null, "SELECT json, state, events, failures FROM wf_subscription WHERE id = @id", ("@id", id));
        using var reader = cmd.ExecuteReader();
        return reader.Read() && Parse(id, reader) is { } s ? (s.Info, s.State, s.Events) : null;
    }

    private SubscriptionState? Parse(string id, DbDataReader reader)
    {
        try
        {
            return new SubscriptionState
            {
                Info = SubscriptionInfo.Parse(Json.Parse<Subscription>(reader.GetString(0)), _options.TopicBase),
                State = reader.GetString(1),
                Events = reader.GetInt64(2),
                Failures = reader.GetInt32(3),
            };
        }
        catch (FhirException)
        {
            LogUnreadableSubscription(_logger, id);
            return null;
        }
    }

    private async Task<Dictionary<string, SubscriptionState>> LoadSubscriptionsAsync(DbConnection connection, DbTransaction? tx, CancellationToken ct)
    {
        var result = new Dictionary<string, SubscriptionState>(StringComparer.Ordinal);
        await using var cmd = connection.Command(tx, "SELECT json, state, events, failures, id FROM wf_subscription");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetString(4);
            if (Parse(id, reader) is { } s)
            {
                result[id] = s;
            }
        }

        return result;
    }

    /// <summary>Processes the change feed up to its end, one batch per workflow-database transaction.</summary>
    public async Task PumpAsync(IScheduler scheduler, CancellationToken ct)
    {
        if (_store is not IFhirChangeFeed feed)
        {
            if (Interlocked.Exchange(ref _noFeedLogged, 1) == 0)
            {
                LogNoFeed(_logger, _store.GetType().Name);
            }

            return;
        }

        while (await PumpBatchAsync(scheduler, feed, ct))
        {
        }
    }

    /// <summary>Processes one batch of the change feed; true when there may be more.</summary>
    /// <remarks>
    /// Three steps, because the Quartz.NET tables may live in the same SQLite file: read and decide (no write lock), then
    /// arm or cancel the timers through Quartz, then write the outbox and the cursor in one short write transaction. A crash
    /// between the steps redoes the batch; every step is idempotent, and only this job (one node at a time) writes them.
    /// </remarks>
    private async Task<bool> PumpBatchAsync(IScheduler scheduler, IFhirChangeFeed feed, CancellationToken ct)
    {
        const int Batch = 500;
        var now = _time.GetUtcNow();
        var added = new HashSet<string>(StringComparer.Ordinal);
        var removed = new HashSet<string>(StringComparer.Ordinal);
        var touched = new HashSet<string>(StringComparer.Ordinal);
        var writes = new List<(string Sql, (string Name, object? Value)[] Parameters)>();
        var timers = new Dictionary<string, DateTimeOffset?>(StringComparer.Ordinal);
        int count;
        await using (var connection = await Database.OpenAsync(ct))
        {
            var cursor = await connection.ScalarAsync(null, "SELECT seq FROM wf_cursor WHERE name = 'changes'", ct) as long? ?? 0;
            var changes = await feed.ReadChangesAsync(cursor, Batch, ct);
            count = changes.Count;
            if (count == 0)
            {
                return false;
            }

            var subscriptions = await LoadSubscriptionsAsync(connection, null, ct);
            foreach (var change in changes)
            {
                var stored = change.Resource;
                Resource? resource = null;
                if (stored.Json is not null && (stored.ResourceType is "Subscription" or "Task" || NeedsResource(subscriptions, stored.ResourceType)))
                {
                    resource = Json.Parse<Resource>(stored.Json);
                }

                if (stored.ResourceType == "Subscription")
                {
                    OnSubscriptionChanged(writes, subscriptions, stored, resource as Subscription, now, added, removed, touched);
                }
                else if (stored.ResourceType == "Task")
                {
                    timers[stored.Id] = await _sla.TimerAfterChangeAsync(connection, null, stored, resource as FhirTask, ct);
                }

                AppendEvents(writes, subscriptions, stored, resource, touched);
            }

            writes.Add(("INSERT INTO wf_cursor(name, seq) VALUES ('changes', @seq) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq", [("@seq", changes[^1].Sequence)]));
        }

        foreach (var (taskId, due) in timers)
        {
            await _signal.SetTimerAsync(scheduler, taskId, due, ct);
        }

        foreach (var id in added)
        {
            await _signal.EnsureDeliveryJobAsync(scheduler, id, ct);
        }

        await using (var connection = await Database.OpenAsync(ct))
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            foreach (var (sql, parameters) in writes)
            {
                await connection.ExecAsync(tx, sql, ct, parameters);
            }

            await tx.CommitAsync(ct);
        }

        foreach (var id in removed)
        {
            await _signal.DeleteDeliveryJobAsync(scheduler, id, ct);
        }

        foreach (var id in touched)
        {
            _signal.WakeDelivery(scheduler, id);
        }

        return count == Batch;
    }

    private static bool NeedsResource(Dictionary<string, SubscriptionState> subscriptions, string type) =>
        subscriptions.Values.Any(s => s.Info.ResourceType == type && (!s.Info.Filter.IsEmpty || s.Info.Payload == "full-resource"));

    private static void AppendEvents(List<(string, (string, object?)[])> writes, Dictionary<string, SubscriptionState> subscriptions, StoredResource stored, Resource? resource, HashSet<string> touched)
    {
        foreach (var s in subscriptions.Values)
        {
            if (s.State is not ("active" or "error") || s.Info.ResourceType != stored.ResourceType || !s.Info.Filter.Matches(resource))
            {
                continue;
            }

            s.Events++;
            touched.Add(s.Info.Id);
            writes.Add(("""
                UPDATE wf_subscription SET events = @n WHERE id = @sub;
                INSERT INTO wf_outbox(sub_id, kind, event_number, event_time, focus_type, focus_id, focus_version, focus_method, next_attempt)
                VALUES (@sub, 'event-notification', @n, @t, @type, @id, @v, @m, 0)
                """, [("@sub", s.Info.Id), ("@n", s.Events), ("@t", stored.LastUpdated.UtcTicks), ("@type", stored.ResourceType), ("@id", stored.Id), ("@v", stored.VersionId), ("@m", stored.Method)]));
        }
    }

    private void OnSubscriptionChanged(List<(string, (string, object?)[])> writes, Dictionary<string, SubscriptionState> subscriptions, StoredResource stored, Subscription? subscription, DateTimeOffset now,
        HashSet<string> added, HashSet<string> removed, HashSet<string> touched)
    {
        subscriptions.TryGetValue(stored.Id, out var existing);
        SubscriptionInfo? info = null;
        if (subscription is not null)
        {
            try
            {
                info = SubscriptionInfo.Parse(subscription, _options.TopicBase);
            }
            catch (FhirException)
            {
                // Refused at write time; an older version written before Igia.Workflow was added is ignored.
            }
        }

        if (info is null || info.Status == Subscription.SubscriptionStatus.Off || (info.End is { } end && end <= now))
        {
            subscriptions.Remove(stored.Id);
            added.Remove(stored.Id);
            touched.Remove(stored.Id);
            removed.Add(stored.Id);
            writes.Add(("DELETE FROM wf_subscription WHERE id = @id; DELETE FROM wf_outbox WHERE sub_id = @id", [("@id", stored.Id)]));
            if (stored.Deleted)
            {
                // Its recorded writers go with it; a later re-creation under the same id (a higher version) keeps its own.
                writes.Add(("DELETE FROM wf_subscriber WHERE sub_id = @id AND version < @v", [("@id", stored.Id), ("@v", stored.VersionId)]));
            }

            return;
        }

        // A new Subscription, or one a client set back to 'requested', gets a handshake; the engine's own writes
        // (active/error) only refresh the stored copy.
        var handshake = existing is null || (info.Status == Subscription.SubscriptionStatus.Requested && existing.State != "requested");
        var s = new SubscriptionState { Info = info, State = handshake ? "requested" : existing!.State, Events = existing?.Events ?? 0, Failures = handshake ? 0 : existing!.Failures };
        subscriptions[stored.Id] = s;
        removed.Remove(stored.Id);
        if (existing is null)
        {
            added.Add(stored.Id);
        }

        if (handshake)
        {
            touched.Add(stored.Id);
            writes.Add(("""
                DELETE FROM wf_outbox WHERE sub_id = @id AND kind = 'handshake';
                INSERT INTO wf_outbox(sub_id, kind, next_attempt) VALUES (@id, 'handshake', 0);
                """, [("@id", stored.Id)]));
        }

        // State and failures belong to delivery (another node may be delivering now): only a handshake resets them.
        writes.Add(("""
            INSERT INTO wf_subscription(id, json, state, events, failures, last_sent) VALUES (@id, @json, @state, @events, @failures, @last)
            ON CONFLICT(id) DO UPDATE SET json = excluded.json,
                state = CASE WHEN @handshake = 1 THEN 'requested' ELSE wf_subscription.state END,
                failures = CASE WHEN @handshake = 1 THEN 0 ELSE wf_subscription.failures END
            """, [("@id", stored.Id), ("@json", stored.Json), ("@state", s.State), ("@events", s.Events), ("@failures", s.Failures), ("@last", now.UtcTicks), ("@handshake", handshake ? 1 : 0)]));
    }

    /// <summary>
    /// Queues a heartbeat for each Subscription whose heartbeat period passed with nothing sent (only when nothing else is
    /// queued: any notification tells the receiver the subscription is alive), and wakes the delivery of every
    /// Subscription whose next notification is due (the safety net behind the after-commit nudges).
    /// </summary>
    public async Task EnqueueHeartbeatsAndWakeDueAsync(IScheduler scheduler, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var due = new List<string>();
        await using var connection = await Database.OpenAsync(ct);
        var subscriptions = await LoadSubscriptionsAsync(connection, null, ct);
        var lastSent = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var cmd = connection.Command(null, "SELECT id, last_sent FROM wf_subscription WHERE state IN ('active', 'error') AND NOT EXISTS (SELECT 1 FROM wf_outbox o WHERE o.sub_id = wf_subscription.id)"))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                lastSent[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        foreach (var (id, last) in lastSent)
        {
            if (subscriptions.TryGetValue(id, out var s) && s.Info.Heartbeat is { } hb && new DateTimeOffset(last, TimeSpan.Zero) + hb <= now)
            {
                await connection.ExecAsync(null, """
                    INSERT INTO wf_outbox(sub_id, kind, next_attempt) SELECT @id, 'heartbeat', 0 WHERE NOT EXISTS (SELECT 1 FROM wf_outbox WHERE sub_id = @id);
                    UPDATE wf_subscription SET last_sent = @now WHERE id = @id;
                    """, ct, ("@id", id), ("@now", now.UtcTicks));
            }
        }

        await using (var cmd = connection.Command(null, "SELECT sub_id FROM wf_outbox o WHERE o.id IN (SELECT MIN(id) FROM wf_outbox GROUP BY sub_id) AND o.next_attempt <= @now", ("@now", now.UtcTicks)))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                due.Add(reader.GetString(0));
            }
        }

        foreach (var id in due)
        {
            _signal.WakeDelivery(scheduler, id);
        }
    }

    /// <summary>
    /// Sends, in order, what is due in one Subscription's outbox; stops at the first failure and schedules the retry.
    /// A shutdown stops it between two notifications, never in the middle of one (so none is sent twice).
    /// </summary>
    public async Task DeliverAsync(IScheduler scheduler, string subscriptionId, CancellationToken ct)
    {
        SubscriptionState? s;
        await using (var connection = await Database.OpenAsync(ct))
        {
            await using var cmd = connection.Command(null, "SELECT json, state, events, failures FROM wf_subscription WHERE id = @id", ("@id", subscriptionId));
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            s = await reader.ReadAsync(ct) ? Parse(subscriptionId, reader) : null;
        }

        if (s is null)
        {
            await using var connection = await Database.OpenAsync(ct);
            await connection.ExecAsync(null, "DELETE FROM wf_outbox WHERE sub_id = @id", ct, ("@id", subscriptionId));
            return;
        }

        // Reads the head of the outbox a window at a time (one query for many notifications), then sends it in order:
        // consecutive events together, up to the Subscription's backport-max-count per notification; other kinds alone.
        var window = Math.Max(s.Info.MaxCount, 32);
        while (!ct.IsCancellationRequested)
        {
            var items = new List<(OutboxItem Item, long NextAttempt)>();
            await using (var connection = await Database.OpenAsync(ct))
            {
                await using var cmd = connection.Command(null, """
                    SELECT id, sub_id, kind, event_number, event_time, focus_type, focus_id, focus_version, focus_method, attempts, next_attempt
                    FROM wf_outbox WHERE sub_id = @sub ORDER BY id LIMIT @n
                    """, ("@sub", subscriptionId), ("@n", window));
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    items.Add((Read(reader), reader.GetInt64(10)));
                }
            }

            if (items.Count == 0)
            {
                return;
            }

            var i = 0;
            while (i < items.Count && !ct.IsCancellationRequested)
            {
                if (items[i].NextAttempt > _time.GetUtcNow().UtcTicks)
                {
                    await _signal.ScheduleRetryAsync(scheduler, subscriptionId, new DateTimeOffset(items[i].NextAttempt, TimeSpan.Zero), ct);
                    return;
                }

                var group = new List<OutboxItem> { items[i].Item };
                while (group[0].Kind == "event-notification" && group.Count < s.Info.MaxCount && i + group.Count < items.Count
                    && items[i + group.Count] is { Item.Kind: "event-notification", NextAttempt: 0 } more)
                {
                    group.Add(more.Item);
                }

                // Not cancelled half-way: the POST and the outbox rows' removal go together (bounded by the notification timeout).
                var next = await SendAsync(s, group, CancellationToken.None);
                if (next is not null)
                {
                    await _signal.ScheduleRetryAsync(scheduler, subscriptionId, next.Value, CancellationToken.None);
                    return;
                }

                i += group.Count;
            }
        }
    }

    private static OutboxItem Read(DbDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetInt64(3),
        r.IsDBNull(4) ? null : new DateTimeOffset(r.GetInt64(4), TimeSpan.Zero), r.IsDBNull(5) ? null : r.GetString(5),
        r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : r.GetInt32(7), r.IsDBNull(8) ? null : r.GetString(8), r.GetInt32(9));

    /// <summary>POSTs one notification (one or more events); null when the receiver took it (2xx), else when to try again.</summary>
    private async Task<DateTimeOffset?> SendAsync(SubscriptionState s, IReadOnlyList<OutboxItem> items, CancellationToken ct)
    {
        var item = items[0];
        var events = new List<NotificationEvent>(items.Count);
        foreach (var e in items)
        {
            // The focus as the Subscription's writer may read it (through the pipeline); refused -> sent as empty.
            try
            {
                var (withheld, focus) = await _access.ReadFocusAsync(s.Info, e, ct);
                events.Add(new NotificationEvent(e, focus, withheld));
            }
            catch (InvalidOperationException)
            {
                // The focus read failed on our side (a 5xx from the pipeline): nothing is sent, and the attempt counts as a
                // failed delivery, retried with the same back-off as a failed POST.
                LogFocusReadFailed(_logger, s.Info.Id);
                return await FailedAttemptAsync(s, item, null, ct);
            }
        }

        var state = item.Kind == "handshake" ? "requested" : s.State;
        var eventsSinceStart = item.Kind == "handshake" ? 0 : items[^1].EventNumber ?? s.Events;
        var bundle = NotificationBuilder.Build(s.Info, state, item.Kind, eventsSinceStart, events, _options.FhirBaseUrl.TrimEnd('/'), _time.GetUtcNow());
        bool ok;
        HttpStatusCode? status = null;
        try
        {
            using var client = _http.CreateClient(HttpClientName);
            using var request = new HttpRequestMessage(HttpMethod.Post, s.Info.Endpoint)
            {
                Content = new StringContent(Json.Serialize(bundle), Encoding.UTF8, s.Info.ContentType),
            };
            foreach (var (name, value) in s.Info.Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var timeout = new CancellationTokenSource(s.Info.Timeout ?? _options.NotificationTimeout);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
            using var response = await client.SendAsync(request, linked.Token);
            status = response.StatusCode;
            ok = response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            ok = false;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            ok = false;
        }

        if (!ok)
        {
            return await FailedAttemptAsync(s, item, status, ct);
        }

        var now = _time.GetUtcNow();
        await using var connection = await Database.OpenAsync(ct);
        var wasFailing = s.Failures > 0 || s.State != "active";
        await connection.ExecAsync(null, """
            DELETE FROM wf_outbox WHERE sub_id = @id AND id >= @item AND id <= @last;
            UPDATE wf_subscription SET last_sent = @t, state = CASE WHEN @ok = 1 THEN 'active' ELSE state END, failures = 0 WHERE id = @id;
            """, ct, ("@item", item.Id), ("@last", items[^1].Id), ("@id", s.Info.Id), ("@t", now.UtcTicks), ("@ok", wasFailing ? 1 : 0));
        s.Failures = 0;
        if (wasFailing)
        {
            s.State = "active";
            await SetStatusAsync(s.Info.Id, Subscription.SubscriptionStatus.Active, null, ct);
        }

        Delivered.Add(items.Count, new KeyValuePair<string, object?>("type", item.Kind));
        return null;
    }

    /// <summary>Records a failed delivery attempt (back-off on the outbox row; error state after repeated failures); returns when to try again.</summary>
    private async Task<DateTimeOffset?> FailedAttemptAsync(SubscriptionState s, OutboxItem item, HttpStatusCode? status, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        await using var connection = await Database.OpenAsync(ct);
        Failed.Add(1, new KeyValuePair<string, object?>("type", item.Kind));
        s.Failures++;
        var delay = TimeSpan.FromTicks(Math.Min(_options.MaxRetryDelay.Ticks, _options.RetryDelay.Ticks * (1L << Math.Min(item.Attempts, 30))));
        var next = now + delay;
        await connection.ExecAsync(null, """
            UPDATE wf_outbox SET attempts = attempts + 1, next_attempt = @next WHERE id = @item;
            UPDATE wf_subscription SET failures = @f WHERE id = @id;
            """, ct, ("@item", item.Id), ("@next", next.UtcTicks), ("@id", s.Info.Id), ("@f", s.Failures));
        LogDeliveryFailed(_logger, item.Kind, s.Info.Id, status is null ? "no response" : ((int)status).ToString(CultureInfo.InvariantCulture), item.Attempts + 1);
        if (s.Failures >= _options.ErrorAfterFailures && s.State != "error")
        {
            s.State = "error";
            await connection.ExecAsync(null, "UPDATE wf_subscription SET state = 'error' WHERE id = @id", ct, ("@id", s.Info.Id));
            await SetStatusAsync(s.Info.Id, Subscription.SubscriptionStatus.Error, $"Delivery failed {s.Failures} times in a row; retrying with back-off.", ct);
        }

        return next;
    }

    /// <summary>Writes the Subscription's status through the pipeline (so it is audited and searchable).</summary>
    private async Task SetStatusAsync(string id, Subscription.SubscriptionStatus status, string? error, CancellationToken ct)
    {
        var read = await _executor.ExecuteAsync(Interactions.Read("Subscription", id, null, _options, ct));
        if (read.Resource is not Subscription subscription || subscription.Status == status)
        {
            return;
        }

        subscription.Status = status;
        subscription.Error = error;
        var written = await _executor.ExecuteAsync(Interactions.Update(subscription, read.VersionId, _options, ct));
        if (!written.IsSuccess)
        {
            LogStatusWriteFailed(_logger, id, (int)written.StatusCode);
        }
    }

    /// <summary>The named HttpClient used for rest-hook notifications (configure it with <c>AddHttpClient</c>).</summary>
    public const string HttpClientName = "Igia.Workflow.RestHook";

    [LoggerMessage(Level = LogLevel.Error, Message = "Igia.Workflow needs a FHIR store with a change feed (IFhirChangeFeed); {Store} has none. The engine is not running.")]
    private static partial void LogNoFeed(ILogger logger, string store);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscription/{SubscriptionId} as stored by the engine can no longer be read; it is skipped.")]
    private static partial void LogUnreadableSubscription(ILogger logger, string subscriptionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification {Kind} for Subscription/{SubscriptionId} failed ({Status}), attempt {Attempt}; will retry.")]
    private static partial void LogDeliveryFailed(ILogger logger, string kind, string subscriptionId, string status, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The focus of a notification for Subscription/{SubscriptionId} could not be read (server error); the delivery is retried with back-off.")]
    private static partial void LogFocusReadFailed(ILogger logger, string subscriptionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write the status of Subscription/{SubscriptionId}: {Status}.")]
    private static partial void LogStatusWriteFailed(ILogger logger, string subscriptionId, int status);
}

/// <summary>FHIR JSON (de)serialisation with Firely's System.Text.Json support.</summary>
internal sealed class JsonSerializerOptionsHolder
{
    private readonly System.Text.Json.JsonSerializerOptions _options = new System.Text.Json.JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    public T Parse<T>(string json)
        where T : Resource => (T)System.Text.Json.JsonSerializer.Deserialize<Resource>(json, _options)!;

    public string Serialize(Resource resource) => System.Text.Json.JsonSerializer.Serialize(resource, _options);
}
