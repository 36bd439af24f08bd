using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Igia.Fhir.Pipeline;
using Igia.Fhir.Storage;
using Igia.Workflow.Internal;
using Igia.Workflow.Sla;
using Igia.Workflow.Subscriptions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Workflow.Engine;

/// <summary>
/// The embedded workflow engine: one background loop that (1) tails the FHIR store's change feed (the transactional
/// outbox) and, per change, arms or cancels SLA timers and appends Subscription notifications with their event numbers,
/// all in one workflow-database transaction with the cursor; (2) fires due timers; (3) delivers the outbox over
/// rest-hook with retries and back-off; (4) sends heartbeats. All time comes from <see cref="TimeProvider"/>.
/// </summary>
internal sealed partial class WorkflowEngine : BackgroundService
{
    internal static readonly Meter Meter = new("Igia.Workflow");
    private static readonly Counter<long> Delivered = Meter.CreateCounter<long>("igia.workflow.notifications.delivered", description: "Subscription notifications delivered, by type.");
    private static readonly Counter<long> Failed = Meter.CreateCounter<long>("igia.workflow.notifications.failed", description: "Failed notification attempts.");
    private static readonly Counter<long> TimersFired = Meter.CreateCounter<long>("igia.workflow.sla.missed", description: "Tasks whose due time passed while open.");
    private static readonly JsonSerializerOptionsHolder Json = new();

    private readonly WorkflowDatabase _db;
    private readonly IFhirStore _store;
    private readonly IFhirInteractionExecutor _executor;
    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _time;
    private readonly WorkflowOptions _options;
    private readonly SlaService _sla;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<WorkflowEngine> _logger;
    private readonly WorkflowSignal _signal;
    private readonly Dictionary<string, SubscriptionState> _subscriptions = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _cursor;

    public WorkflowEngine(IOptions<WorkflowOptions> options, IFhirStore store, IFhirInteractionExecutor executor, IHttpClientFactory http, TimeProvider time, SlaService sla, WorkflowSignal signal, IHostApplicationLifetime lifetime, ILogger<WorkflowEngine> logger)
    {
        _signal = signal;
        _options = options.Value;
        _db = new WorkflowDatabase(_options.DatabasePath);
        _store = store;
        _executor = executor;
        _http = http;
        _time = time;
        _sla = sla;
        _lifetime = lifetime;
        _logger = logger;
    }

    /// <summary>The engine's view of one Subscription.</summary>
    internal sealed class SubscriptionState
    {
        public required SubscriptionInfo Info { get; set; }

        public required string State { get; set; }

        public long Events { get; set; }

        public int Failures { get; set; }

        public DateTimeOffset LastSent { get; set; }
    }

    /// <summary>Completes once the engine has loaded its state (tests and $status wait on it).</summary>
    public Task Ready => _ready.Task;

    /// <summary>Asks the loop to look at the change feed now (called after each committed write).</summary>
    public void Wake() => _signal.Wake();

    /// <summary>The engine's state of a Subscription, for <c>$status</c>; null when unknown.</summary>
    public (SubscriptionInfo Info, string State, long Events)? GetStatus(string id)
    {
        lock (_subscriptions)
        {
            return _subscriptions.TryGetValue(id, out var s) ? (s.Info, s.State, s.Events) : null;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Start once the app runs: the FHIR store has been created or migrated by then.
        try
        {
            await Task.Delay(Timeout.Infinite, _lifetime.ApplicationStarted).WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (_lifetime.ApplicationStarted.IsCancellationRequested)
        {
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (_store is not IFhirChangeFeed feed)
        {
            LogNoFeed(_logger, _store.GetType().Name);
            _ready.TrySetException(new InvalidOperationException("Igia.Workflow needs a FHIR store with a change feed (IFhirChangeFeed), such as the embedded SQLite store."));
            return;
        }

        await _db.InitializeAsync(stoppingToken);
        await LoadAsync(stoppingToken);
        _ready.TrySetResult();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await PumpAsync(feed, stoppingToken))
                {
                }

                await _sla.FireDueAsync(_db, stoppingToken);
                await EnqueueHeartbeatsAsync(stoppingToken);
                await DeliverAsync(stoppingToken);
                await WaitAsync(await NextWakeAsync(stoppingToken), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Keep the loop alive; the state is durable, so the next round retries. No message text: it may carry data.
                LogLoopError(_logger, e.GetType().FullName, e.StackTrace);
                await WaitAsync(_options.PollInterval, stoppingToken);
            }
        }
    }

    private async Task WaitAsync(TimeSpan delay, CancellationToken ct)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(delay, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, ct);
        try
        {
            await _signal.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }
    }

    private async Task<TimeSpan> NextWakeAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var next = now + _options.PollInterval;
        await using var connection = await _db.OpenAsync(ct);
        if (await connection.ScalarAsync(null, "SELECT MIN(due) FROM wf_timer", ct) is long due && due < next.UtcTicks)
        {
            next = new DateTimeOffset(due, TimeSpan.Zero);
        }

        if (await connection.ScalarAsync(null, "SELECT MIN(next_attempt) FROM wf_outbox", ct) is long attempt && attempt < next.UtcTicks)
        {
            next = new DateTimeOffset(attempt, TimeSpan.Zero);
        }

        lock (_subscriptions)
        {
            foreach (var s in _subscriptions.Values)
            {
                if (s.Info.Heartbeat is { } hb && s.State is "active" or "error" && s.LastSent + hb < next)
                {
                    next = s.LastSent + hb;
                }
            }
        }

        return next - now;
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        await using var connection = await _db.OpenAsync(ct);
        _cursor = await connection.ScalarAsync(null, "SELECT seq FROM wf_cursor WHERE name = 'changes'", ct) as long? ?? 0;
        await using var cmd = connection.Command(null, "SELECT id, json, state, events, failures, last_sent FROM wf_subscription");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        lock (_subscriptions)
        {
            _subscriptions.Clear();
        }

        while (await reader.ReadAsync(ct))
        {
            var subscription = Json.Parse<Subscription>(reader.GetString(1));
            SubscriptionInfo info;
            try
            {
                info = SubscriptionInfo.Parse(subscription, _options.TopicBase);
            }
            catch (FhirException)
            {
                continue;
            }

            lock (_subscriptions)
            {
                _subscriptions[reader.GetString(0)] = new SubscriptionState
                {
                    Info = info,
                    State = reader.GetString(2),
                    Events = reader.GetInt64(3),
                    Failures = reader.GetInt32(4),
                    LastSent = new DateTimeOffset(reader.GetInt64(5), TimeSpan.Zero),
                };
            }
        }
    }

    /// <summary>Processes one batch of the change feed; true when there may be more.</summary>
    private async Task<bool> PumpAsync(IFhirChangeFeed feed, CancellationToken ct)
    {
        const int Batch = 500;
        var changes = await feed.ReadChangesAsync(_cursor, Batch, ct);
        if (changes.Count == 0)
        {
            return false;
        }

        var now = _time.GetUtcNow();
        await using var connection = await _db.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        try
        {
            foreach (var change in changes)
            {
                var stored = change.Resource;
                Resource? resource = null;
                if (stored.Json is not null && (stored.ResourceType is "Subscription" or "Task" || NeedsResource(stored.ResourceType)))
                {
                    resource = Json.Parse<Resource>(stored.Json);
                }

                if (stored.ResourceType == "Subscription")
                {
                    await OnSubscriptionChangedAsync(connection, tx, stored, resource as Subscription, now, ct);
                }
                else if (stored.ResourceType == "Task")
                {
                    await _sla.OnTaskChangedAsync(connection, tx, stored, resource as FhirTask, ct);
                }

                await AppendEventsAsync(connection, tx, stored, resource, ct);
            }

            _cursor = changes[^1].Sequence;
            await connection.ExecAsync(tx, "INSERT INTO wf_cursor(name, seq) VALUES ('changes', $seq) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq", ct, ("$seq", _cursor));
            await tx.CommitAsync(ct);
        }
        catch
        {
            // The in-memory view may be ahead of what was rolled back: reload it from the database.
            await tx.RollbackAsync(CancellationToken.None);
            await LoadAsync(CancellationToken.None);
            throw;
        }

        return changes.Count == Batch;
    }

    private bool NeedsResource(string type)
    {
        lock (_subscriptions)
        {
            return _subscriptions.Values.Any(s => s.Info.ResourceType == type && (!s.Info.Filter.IsEmpty || s.Info.Payload == "full-resource"));
        }
    }

    private async Task AppendEventsAsync(SqliteConnection connection, SqliteTransaction tx, StoredResource stored, Resource? resource, CancellationToken ct)
    {
        List<SubscriptionState> matching;
        lock (_subscriptions)
        {
            matching = _subscriptions.Values.Where(s => s.State is "active" or "error" && s.Info.ResourceType == stored.ResourceType && s.Info.Filter.Matches(resource)).ToList();
        }

        foreach (var s in matching)
        {
            s.Events++;
            await connection.ExecAsync(tx, "UPDATE wf_subscription SET events = $events WHERE id = $id", ct, ("$events", s.Events), ("$id", s.Info.Id));
            await connection.ExecAsync(tx, """
                INSERT INTO wf_outbox(sub_id, kind, event_number, event_time, focus_type, focus_id, focus_version, focus_method, next_attempt)
                VALUES ($sub, 'event-notification', $n, $t, $type, $id, $v, $m, 0)
                """, ct, ("$sub", s.Info.Id), ("$n", s.Events), ("$t", stored.LastUpdated.UtcTicks), ("$type", stored.ResourceType), ("$id", stored.Id), ("$v", stored.VersionId), ("$m", stored.Method));
        }
    }

    private async Task OnSubscriptionChangedAsync(SqliteConnection connection, SqliteTransaction tx, StoredResource stored, Subscription? subscription, DateTimeOffset now, CancellationToken ct)
    {
        SubscriptionState? existing;
        lock (_subscriptions)
        {
            _subscriptions.TryGetValue(stored.Id, out existing);
        }

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
            lock (_subscriptions)
            {
                _subscriptions.Remove(stored.Id);
            }

            await connection.ExecAsync(tx, "DELETE FROM wf_subscription WHERE id = $id", ct, ("$id", stored.Id));
            await connection.ExecAsync(tx, "DELETE FROM wf_outbox WHERE sub_id = $id", ct, ("$id", stored.Id));
            return;
        }

        // A new Subscription, or one a client set back to 'requested', gets a handshake; the engine's own writes
        // (active/error) only refresh the stored copy.
        var handshake = existing is null || (info.Status == Subscription.SubscriptionStatus.Requested && existing.State != "requested");
        var state = handshake ? "requested" : existing!.State;
        var s = existing ?? new SubscriptionState { Info = info, State = state, LastSent = now };
        s.Info = info;
        s.State = state;
        if (handshake)
        {
            s.Failures = 0;
            await connection.ExecAsync(tx, "DELETE FROM wf_outbox WHERE sub_id = $id AND kind = 'handshake'", ct, ("$id", stored.Id));
            await connection.ExecAsync(tx, "INSERT INTO wf_outbox(sub_id, kind, next_attempt) VALUES ($id, 'handshake', 0)", ct, ("$id", stored.Id));
        }

        await connection.ExecAsync(tx, """
            INSERT INTO wf_subscription(id, json, state, events, failures, last_sent) VALUES ($id, $json, $state, $events, $failures, $last)
            ON CONFLICT(id) DO UPDATE SET json = excluded.json, state = excluded.state, failures = excluded.failures
            """, ct, ("$id", stored.Id), ("$json", stored.Json), ("$state", state), ("$events", s.Events), ("$failures", s.Failures), ("$last", s.LastSent.UtcTicks));
        lock (_subscriptions)
        {
            _subscriptions[stored.Id] = s;
        }
    }

    private async Task EnqueueHeartbeatsAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        List<SubscriptionState> due;
        lock (_subscriptions)
        {
            due = _subscriptions.Values.Where(s => s.Info.Heartbeat is { } hb && s.State is "active" or "error" && s.LastSent + hb <= now).ToList();
        }

        if (due.Count == 0)
        {
            return;
        }

        await using var connection = await _db.OpenAsync(ct);
        foreach (var s in due)
        {
            // Only when nothing else is queued: any notification already tells the receiver the subscription is alive.
            if (await connection.ScalarAsync(null, "SELECT COUNT(*) FROM wf_outbox WHERE sub_id = $id", ct, ("$id", s.Info.Id)) is long n && n == 0)
            {
                await connection.ExecAsync(null, "INSERT INTO wf_outbox(sub_id, kind, next_attempt) VALUES ($id, 'heartbeat', 0)", ct, ("$id", s.Info.Id));
            }

            s.LastSent = now;
        }
    }

    /// <summary>Sends, per Subscription and in order, what is due in the outbox; stops at a Subscription's first failure.</summary>
    private async Task DeliverAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        List<OutboxItem> heads = [];
        await using (var connection = await _db.OpenAsync(ct))
        {
            await using var cmd = connection.Command(null, """
                SELECT o.id, o.sub_id, o.kind, o.event_number, o.event_time, o.focus_type, o.focus_id, o.focus_version, o.focus_method, o.attempts, o.next_attempt
                FROM wf_outbox o WHERE o.id IN (SELECT MIN(id) FROM wf_outbox GROUP BY sub_id)
                """);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                if (reader.GetInt64(10) <= now.UtcTicks)
                {
                    heads.Add(Read(reader));
                }
            }
        }

        await Parallel.ForEachAsync(heads, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (head, token) =>
        {
            var item = head;
            while (item is not null && await SendAsync(item, token))
            {
                item = await NextAsync(item, token);
            }
        });
    }

    private async Task<OutboxItem?> NextAsync(OutboxItem after, CancellationToken ct)
    {
        await using var connection = await _db.OpenAsync(ct);
        await using var cmd = connection.Command(null, """
            SELECT id, sub_id, kind, event_number, event_time, focus_type, focus_id, focus_version, focus_method, attempts, next_attempt
            FROM wf_outbox WHERE sub_id = $sub AND id > $id ORDER BY id LIMIT 1
            """, ("$sub", after.SubscriptionId), ("$id", after.Id));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) && reader.GetInt64(10) <= _time.GetUtcNow().UtcTicks ? Read(reader) : null;
    }

    private static OutboxItem Read(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetInt64(3),
        r.IsDBNull(4) ? null : new DateTimeOffset(r.GetInt64(4), TimeSpan.Zero), r.IsDBNull(5) ? null : r.GetString(5),
        r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : r.GetInt32(7), r.IsDBNull(8) ? null : r.GetString(8), r.GetInt32(9));

    /// <summary>POSTs one notification; true when the receiver took it (2xx).</summary>
    private async Task<bool> SendAsync(OutboxItem item, CancellationToken ct)
    {
        SubscriptionState? s;
        lock (_subscriptions)
        {
            _subscriptions.TryGetValue(item.SubscriptionId, out s);
        }

        if (s is null)
        {
            await using var connection = await _db.OpenAsync(ct);
            await connection.ExecAsync(null, "DELETE FROM wf_outbox WHERE id = $id", ct, ("$id", item.Id));
            return true;
        }

        Resource? focus = null;
        if (item.Kind == "event-notification" && s.Info.Payload == "full-resource" && item.FocusMethod != "DELETE")
        {
            await using var session = await _store.OpenSessionAsync(FhirSessionMode.Read, ct);
            var version = await session.ReadAsync(item.FocusType!, item.FocusId!, item.FocusVersion, ct);
            focus = version?.Json is { } json ? Json.Parse<Resource>(json) : null;
        }

        var state = item.Kind == "handshake" ? "requested" : s.State;
        var bundle = NotificationBuilder.Build(s.Info, state, item.Kind == "handshake" ? 0 : item.EventNumber ?? s.Events, item, focus, _options.FhirBaseUrl.TrimEnd('/'), _time.GetUtcNow());
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

        var now = _time.GetUtcNow();
        await using (var connection = await _db.OpenAsync(ct))
        {
            if (ok)
            {
                await connection.ExecAsync(null, "DELETE FROM wf_outbox WHERE id = $id", ct, ("$id", item.Id));
                s.LastSent = now;
                var wasFailing = s.Failures > 0 || s.State != "active";
                s.Failures = 0;
                if (wasFailing)
                {
                    s.State = "active";
                    await connection.ExecAsync(null, "UPDATE wf_subscription SET state = 'active', failures = 0, last_sent = $t WHERE id = $id", ct, ("$id", s.Info.Id), ("$t", now.UtcTicks));
                    await SetStatusAsync(s.Info.Id, Subscription.SubscriptionStatus.Active, null, ct);
                }

                Delivered.Add(1, new KeyValuePair<string, object?>("type", item.Kind));
                return true;
            }

            Failed.Add(1, new KeyValuePair<string, object?>("type", item.Kind));
            s.Failures++;
            var delay = TimeSpan.FromTicks(Math.Min(_options.MaxRetryDelay.Ticks, _options.RetryDelay.Ticks * (1L << Math.Min(item.Attempts, 30))));
            await connection.ExecAsync(null, "UPDATE wf_outbox SET attempts = attempts + 1, next_attempt = $next WHERE id = $id", ct, ("$id", item.Id), ("$next", (now + delay).UtcTicks));
            await connection.ExecAsync(null, "UPDATE wf_subscription SET failures = $f WHERE id = $id", ct, ("$id", s.Info.Id), ("$f", s.Failures));
            LogDeliveryFailed(_logger, item.Kind, s.Info.Id, status is null ? "no response" : ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture), item.Attempts + 1);
            if (s.Failures >= _options.ErrorAfterFailures && s.State != "error")
            {
                s.State = "error";
                await connection.ExecAsync(null, "UPDATE wf_subscription SET state = 'error' WHERE id = $id", ct, ("$id", s.Info.Id));
                await SetStatusAsync(s.Info.Id, Subscription.SubscriptionStatus.Error, $"Delivery failed {s.Failures} times in a row; retrying with back-off.", ct);
            }
        }

        return false;
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Workflow engine round failed with {ExceptionType}; retrying. {StackTrace}")]
    private static partial void LogLoopError(ILogger logger, string? exceptionType, string? stackTrace);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification {Kind} for Subscription/{SubscriptionId} failed ({Status}), attempt {Attempt}; will retry.")]
    private static partial void LogDeliveryFailed(ILogger logger, string kind, string subscriptionId, string status, int attempt);

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
