using System.Diagnostics;
using System.Threading.Channels;
using Igia.Audit.FileLog;
using Igia.Audit.Internal;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Igia.Audit.Pipeline;

/// <summary>
/// The durable pipeline: captured records go into a bounded channel; one writer thread drains it in batches and appends
/// each batch to the local log with a single fdatasync (group commit), then releases the requests waiting on those
/// records and wakes the sink forwarders, which deliver from memory or, when behind, from the log itself.
/// </summary>
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
    public ValueTask EnqueueAsync(PendingRecord record) => _channel.Writer.WriteAsync(record, _stopping.Token);

    /// <summary>Queues a record if there is room.</summary>
    public bool TryEnqueue(PendingRecord record) => _channel.Writer.TryWrite(record);

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
        var batch = new List<PendingRecord>(_options.MaxBatchSize);
        var delay = TimeSpan.FromMilliseconds(50);
        Task<bool>? wait = null;
        var checkpointWait = _logOptions.CheckpointInterval < TimeSpan.FromSeconds(1) ? _logOptions.CheckpointInterval : TimeSpan.FromSeconds(1);
        while (true)
        {
            if (batch.Count == 0)
            {
                wait ??= reader.WaitToReadAsync().AsTask();
                if (!wait.Wait(checkpointWait))
                {
                    TryTimedCheckpoint();
                    continue;
                }

                var more = wait.Result;
                wait = null;
                if (!more)
                {
                    break;
                }

                while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var record))
                {
                    batch.Add(record);
                }

                if (batch.Count == 0)
                {
                    continue;
                }
            }

            using var activity = AuditTelemetry.ActivitySource.StartActivity("audit write", ActivityKind.Internal);
            activity?.SetTag("igia.audit.batch.size", batch.Count);
            try
            {
                _journal!.Append(batch);
            }
            catch (Exception e)
            {
                _telemetry.WriteFailures.Add(1);
                activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
                var first = _failure is null;
                _failure = $"The local audit log cannot be written: {e.GetType().Name} ({(e as IOException)?.HResult ?? 0}).";
                if (first)
                {
                    LogWriteFailed(_logger, e.GetType().Name, e.Message);
                }

                var unavailable = new AuditUnavailableException("The audit record could not be made durable: the local audit log cannot be written.", e);
                foreach (var record in batch)
                {
                    record.Durable?.TrySetException(unavailable);
                }

                if (_stopping.IsCancellationRequested)
                {
                    LogDroppedOnShutdown(_logger, batch.Count + _channel.Reader.Count);
                    break;
                }

                Thread.Sleep(delay);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
                continue;
            }

            delay = TimeSpan.FromMilliseconds(50);
            if (_failure is not null)
            {
                _failure = null;
                LogRecovered(_logger);
            }

            foreach (var record in batch)
            {
                if (_forwarders.Count > 0)
                {
                    _recent.Add(new AuditRecord(record.Sequence, record.Hash!, record.Json, null));
                }

                record.Durable?.TrySetResult();
            }

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
        using (cancellationToken.Register(() => _stopping.Cancel()))
        {
            await Task.Run(() => _writer?.Join(), CancellationToken.None).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        _journal.Dispose();
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var forwarder in _forwarders)
        {
            await forwarder.StopAsync().ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        // Registered both as a singleton and as a hosted service: the container may dispose it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stopping.Cancel();
        _channel.Writer.TryComplete();
        _writer?.Join(TimeSpan.FromSeconds(5));
        _journal?.Dispose();
        foreach (var forwarder in _forwarders)
        {
            forwarder.Dispose();
        }

        _stopping.Dispose();
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
