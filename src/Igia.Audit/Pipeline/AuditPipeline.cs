using System.Diagnostics;
using System.Threading.Channels;
using Igia.Audit.FileLog;
using Igia.Audit.Internal;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Audit.Pipeline;

/// <summary>
/// The durable pipeline: captured records go into a bounded channel; a writer thread drains it in batches and appends
/// each batch to the local log with a single fdatasync (group commit), then releases the requests waiting on those
/// records and wakes the sink forwarders, which deliver from memory or, when behind, from the log itself. One fdatasync is
/// in flight at a time, and everything that arrives during it joins the next batch (classic group commit).
/// A record is released only when a sync that began after it was written has returned.
/// </summary>
/// <remarks>
/// There were two writer lanes whose fdatasyncs overlapped: the second lane synced the few records that arrived during the
/// first one's sync, which doubled the fsyncs (half as many records per fsync at 32, 64 and 128 connections) without a
/// measurable gain in throughput, and a second lane waiting its turn only added wake-ups. Resuming the waiting requests
/// costs the writer a few thread-pool work items (see <see cref="Release"/>), so it is back for the next batch at once.
/// </remarks>
internal sealed partial class AuditPipeline : IHostedService, IDisposable
{
    private readonly AuditOptions _options;
    private readonly FileAuditLogOptions _logOptions;
    private readonly ILogger<AuditPipeline> _logger;
    private readonly AuditTelemetry _telemetry;
    private readonly Channel<PendingRecord> _channel;
    private readonly RecentRecords _recent = new(8192);
    private readonly List<SinkForwarder> _forwarders = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Set by every enqueue, so that the writer waiting for records wakes directly. (Waiting on the channel's
    /// <c>WaitToReadAsync</c> instead cost a thread-pool work item per wake-up before the writer itself was woken.)
    /// </summary>
    private readonly ManualResetEventSlim _arrived = new(false, spinCount: 10);
    private TimeSpan _retryDelay;
    private long _retryAt;
    private AuditJournal? _journal;
    private Thread? _writer;
    private long _durableSequence;
    private volatile string? _failure;
    private int _disposed;

    public AuditPipeline(
        IOptions<AuditOptions> options,
        IOptions<FileAuditLogOptions> logOptions,
        IEnumerable<IAuditSink> sinks,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        AuditTelemetry telemetry)
    {
        _options = options.Value;
        _logOptions = logOptions.Value;
        _logger = loggerFactory.CreateLogger<AuditPipeline>();
        _telemetry = telemetry;
        Time = time;
        _channel = Channel.CreateBounded<PendingRecord>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        var folder = Path.GetFullPath(_logOptions.Folder);
        foreach (var sink in sinks)
        {
            _forwarders.Add(new SinkForwarder(sink, this, folder, _options.SinkRetryMaxDelay, loggerFactory.CreateLogger<SinkForwarder>(), telemetry));
        }

        if (_forwarders.Select(f => f.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count() != _forwarders.Count)
        {
            throw new InvalidOperationException("Two audit sinks have the same name; each sink needs a unique name.");
        }

        telemetry.ObserveQueue(() => _channel.Reader.Count, () => _forwarders.Select(f => new System.Diagnostics.Metrics.Measurement<long>(Math.Max(0, DurableSequence - f.Cursor), new KeyValuePair<string, object?>("sink", f.Name))));
    }

    public TimeProvider Time { get; }

    /// <summary>The sequence number of the last durable record.</summary>
    public long DurableSequence => Volatile.Read(ref _durableSequence);

    /// <summary>Null while the local log accepts writes; otherwise why it does not.</summary>
    public string? Failure => _failure;

    /// <summary>The sinks' forwarders, for health reporting.</summary>
    public IReadOnlyList<SinkForwarder> Forwarders => _forwarders;

    /// <summary>The log folder (absolute).</summary>
    public string Folder => _journal?.Folder ?? Path.GetFullPath(_logOptions.Folder);

    /// <summary>Completes when the log is open and the writer runs.</summary>
    public Task Started => _started.Task;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_journal is not null)
        {
            return Task.CompletedTask;
        }

        if (_logOptions.SigningKey is null)
        {
            LogUnsignedCheckpoints(_logger);
        }
        else if (!_logOptions.SigningKey.CanSign)
        {
            throw new InvalidOperationException("The audit log signing key has no private part; it can verify checkpoints but not sign them.");
        }

        _journal = new AuditJournal(_logOptions, Time, _logger);
        _journal.Open();
        Volatile.Write(ref _durableSequence, _journal.LastSequence);
        _writer = new Thread(WriterLoop) { IsBackground = true, Name = "Igia.Audit writer" };
        _writer.Start();

        foreach (var forwarder in _forwarders)
        {
            forwarder.Start(_stopping.Token);
        }

        _started.TrySetResult();
        return Task.CompletedTask;
    }

    /// <summary>Queues a record (waits only when the queue is full). Never drops.</summary>
    public ValueTask EnqueueAsync(PendingRecord record)
    {
        if (TryEnqueue(record))
        {
            return default;
        }

        return EnqueueWhenRoomAsync(record);
    }

    /// <summary>Queues a record if there is room.</summary>
    public bool TryEnqueue(PendingRecord record)
    {
        if (!_channel.Writer.TryWrite(record))
        {
            return false;
        }

        _arrived.Set();
        return true;
    }

    private async ValueTask EnqueueWhenRoomAsync(PendingRecord record)
    {
        await _channel.Writer.WriteAsync(record, _stopping.Token).ConfigureAwait(false);
        _arrived.Set();
    }

    /// <summary>
    /// Lets go of the records every sink has taken, so that records held for sinks die young instead of ageing into the
    /// old generation of the GC (which would make every record cost a full collection's share).
    /// </summary>
    internal void Delivered()
    {
        var min = long.MaxValue;
        foreach (var forwarder in _forwarders)
        {
            min = Math.Min(min, forwarder.Cursor);
        }

        _recent.ReleaseUpTo(min);
    }

    /// <summary>Records <paramref name="from"/>..<paramref name="to"/> (durable), from memory when recent, else from the log.</summary>
    internal List<AuditRecord> ReadRange(long from, long to, int max, LogReader reader)
    {
        to = Math.Min(to, from + max - 1);
        var result = new List<AuditRecord>((int)(to - from + 1));
        if (_recent.TryGetRange(from, to, result))
        {
            return result;
        }

        return reader.Read(from, to, max);
    }

    private void WriterLoop()
    {
        var reader = _channel.Reader;
        var journal = _journal!;
        var batch = new List<PendingRecord>(_options.MaxBatchSize);
        var checkpointWait = _logOptions.CheckpointInterval < TimeSpan.FromSeconds(1) ? _logOptions.CheckpointInterval : TimeSpan.FromSeconds(1);
        while (true)
        {
            if (batch.Count > 0)
            {
                // The batch whose write failed goes again, after the back-off: nothing newer is written before it.
                var pause = _retryAt - Environment.TickCount64;
                if (pause > 0)
                {
                    Thread.Sleep((int)pause);
                }
            }

            while (batch.Count == 0)
            {
                while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var record))
                {
                    batch.Add(record);
                }

                if (batch.Count > 0)
                {
                    break;
                }

                if (reader.Completion.IsCompleted)
                {
                    // Completed (stopping) and drained.
                    return;
                }

                // Reset, then look again: a record queued before the reset is seen by the look, one queued after it
                // sets the event again (enqueue = write, then set).
                _arrived.Reset();
                if (reader.TryPeek(out _) || reader.Completion.IsCompleted)
                {
                    continue;
                }

                if (!_arrived.Wait(checkpointWait))
                {
                    TryTimedCheckpoint();
                }
            }

            using var activity = AuditTelemetry.ActivitySource.StartActivity("audit write", ActivityKind.Internal);
            activity?.SetTag("igia.audit.batch.size", batch.Count);
            try
            {
                journal.Append(batch);
            }
            catch (Exception e)
            {
                // Nothing of the batch was kept (a failed sync cuts the file back): it is written again as it is.
                ScheduleRetry();
                _telemetry.WriteFailures.Add(1);
                activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
                var first = _failure is null;
                _failure = $"The local audit log cannot be written: {e.GetType().Name} ({(e as IOException)?.HResult ?? 0}).";
                if (first)
                {
                    LogWriteFailed(_logger, e.GetType().Name, e.Message);
                }

                Release(batch, new AuditUnavailableException("The audit record could not be made durable: the local audit log cannot be written.", e));
                if (_stopping.IsCancellationRequested)
                {
                    LogDroppedOnShutdown(_logger, batch.Count + _channel.Reader.Count);
                    return;
                }

                continue;
            }

            if (_failure is not null)
            {
                _retryDelay = TimeSpan.Zero;
                _failure = null;
                LogRecovered(_logger);
            }

            if (_forwarders.Count > 0)
            {
                foreach (var record in batch)
                {
                    _recent.Add(new AuditRecord(record.Sequence, record.Hash!, record.Json, null));
                }
            }

            Release(batch, null);

            _telemetry.RecordsWritten.Add(batch.Count);
            _telemetry.BatchSize.Record(batch.Count);
            Volatile.Write(ref _durableSequence, batch[^1].Sequence);
            batch.Clear();
            foreach (var forwarder in _forwarders)
            {
                forwarder.Signal();
            }
        }
    }

    /// <summary>
    /// Completes the waits of <paramref name="batch"/>'s records (faults them with <paramref name="error"/>). The waiting
    /// requests resume inline in a few thread-pool work items, one per core at most, each completing a share of the
    /// records: N waiting requests cost a few thread wake-ups instead of N (and nothing runs on the writer thread).
    /// </summary>
    private static void Release(List<PendingRecord> batch, Exception? error)
    {
        var waiting = 0;
        foreach (var record in batch)
        {
            if (record.Durable is { Task.IsCompleted: false })
            {
                waiting++;
            }
        }

        if (waiting == 0)
        {
            return;
        }

        var items = Math.Clamp((waiting + 3) / 4, 1, Environment.ProcessorCount);
        var per = (waiting + items - 1) / items;
        var chunk = new List<TaskCompletionSource>(per);
        foreach (var record in batch)
        {
            if (record.Durable is { Task.IsCompleted: false } durable)
            {
                chunk.Add(durable);
                if (chunk.Count == per)
                {
                    Complete(chunk, error);
                    chunk = new List<TaskCompletionSource>(per);
                }
            }
        }

        if (chunk.Count > 0)
        {
            Complete(chunk, error);
        }

        static void Complete(List<TaskCompletionSource> waits, Exception? error) =>
            ThreadPool.UnsafeQueueUserWorkItem(static state =>
            {
                foreach (var wait in state.Waits)
                {
                    if (state.Error is null)
                    {
                        wait.TrySetResult();
                    }
                    else
                    {
                        wait.TrySetException(state.Error);
                    }
                }
            }, (Waits: waits, Error: error), preferLocal: false);
    }

    /// <summary>The back-off before the failed records are tried again (50 ms doubling to 2 s).</summary>
    private void ScheduleRetry()
    {
        _retryDelay = _retryDelay == TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromTicks(Math.Min(_retryDelay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
        _retryAt = Environment.TickCount64 + (long)_retryDelay.TotalMilliseconds;
    }

    private void TryTimedCheckpoint()
    {
        try
        {
            if (_journal!.CheckpointDue)
            {
                _journal.WriteCheckpointNow();
            }
        }
        catch (IOException e)
        {
            LogWriteFailed(_logger, e.GetType().Name, e.Message);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_journal is null)
        {
            return;
        }

        // Let the writer drain what was captured, then close the log with a checkpoint, then let sinks catch up briefly.
        _channel.Writer.TryComplete();
        _arrived.Set();
        using (cancellationToken.Register(() => _stopping.Cancel()))
        {
            await Task.Run(JoinWriter, CancellationToken.None).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        _journal.Dispose();
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var forwarder in _forwarders)
        {
            await forwarder.StopAsync().ConfigureAwait(false);
        }
    }

    private void JoinWriter() => _writer?.Join();

    public void Dispose()
    {
        // Registered both as a singleton and as a hosted service: the container may dispose it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stopping.Cancel();
        _channel.Writer.TryComplete();
        _arrived.Set();
        _writer?.Join(TimeSpan.FromSeconds(5));

        _journal?.Dispose();
        foreach (var forwarder in _forwarders)
        {
            forwarder.Dispose();
        }

        _stopping.Dispose();
        if (_writer is not { IsAlive: true })
        {
            _arrived.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit log checkpoints are not signed: no signing key is configured (FileAuditLogOptions.SigningKey). A rewrite of the whole chain would not be detected.")]
    private static partial void LogUnsignedCheckpoints(ILogger logger);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The local audit log cannot be written ({ExceptionType}: {Reason}). Guaranteed requests fail with 503 until it recovers; records are kept and retried.")]
    private static partial void LogWriteFailed(ILogger logger, string exceptionType, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The local audit log is writable again.")]
    private static partial void LogRecovered(ILogger logger);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Shutting down with {Count} audit records that could not be written to the local log.")]
    private static partial void LogDroppedOnShutdown(ILogger logger, int count);
}

/// <summary>
/// The durable records not yet taken by every sink, by sequence number (up to a capacity), so that sinks that keep up
/// never read the disk. Sinks that fall further behind read from the log.
/// </summary>
internal sealed class RecentRecords(int capacity)
{
    private readonly AuditRecord?[] _ring = new AuditRecord?[capacity];
    private readonly Lock _lock = new();
    private long _released;

    public void ReleaseUpTo(long sequence)
    {
        lock (_lock)
        {
            var from = Math.Max(_released + 1, sequence - _ring.Length + 1);
            for (var s = from; s <= sequence; s++)
            {
                ref var slot = ref _ring[s % _ring.Length];
                if (slot?.Sequence == s)
                {
                    slot = null;
                }
            }

            _released = Math.Max(_released, sequence);
        }
    }

    public void Add(AuditRecord record)
    {
        lock (_lock)
        {
            _ring[record.Sequence % _ring.Length] = record;
        }
    }

    public bool TryGetRange(long from, long to, List<AuditRecord> into)
    {
        lock (_lock)
        {
            for (var s = from; s <= to; s++)
            {
                var record = _ring[s % _ring.Length];
                if (record is null || record.Sequence != s)
                {
                    into.Clear();
                    return false;
                }

                into.Add(record);
            }
        }

        return true;
    }
}
