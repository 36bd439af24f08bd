using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Igia.Audit.FileLog;
using Igia.Audit.Internal;
using Microsoft.Extensions.Logging;

namespace Igia.Audit.Pipeline;

/// <summary>
/// Delivers the durable records to one sink, in order, from a persisted cursor (the sequence number of the last record
/// the sink accepted). The local log is the spool: when the sink is down, nothing is lost and nothing piles up in
/// memory; when it returns (or the process restarts), delivery resumes after the cursor.
/// </summary>
internal sealed partial class SinkForwarder : IDisposable
{
    private const int MaxBatch = 500;
    private readonly IAuditSink _sink;
    private readonly AuditPipeline _pipeline;
    private readonly TimeSpan _maxDelay;
    private readonly ILogger _logger;
    private readonly AuditTelemetry _telemetry;
    private readonly string _cursorPath;
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);
    private readonly LogReader _reader;
    private Task? _loop;
    private long _cursor;
    private int _consecutiveFailures;

    public SinkForwarder(IAuditSink sink, AuditPipeline pipeline, string folder, TimeSpan maxDelay, ILogger logger, AuditTelemetry telemetry)
    {
        if (!NamePattern().IsMatch(sink.Name))
        {
            throw new InvalidOperationException($"Audit sink name '{sink.Name}' is not valid: use 1 to 64 letters, digits, '-' or '_'.");
        }

        _sink = sink;
        _pipeline = pipeline;
        _maxDelay = maxDelay;
        _logger = logger;
        _telemetry = telemetry;
        _cursorPath = Path.Combine(folder, "cursors", sink.Name + ".cursor");
        _reader = new LogReader(folder);
    }

    public string Name => _sink.Name;

    /// <summary>The sequence number of the last record the sink accepted.</summary>
    public long Cursor => Volatile.Read(ref _cursor);

    /// <summary>Null while deliveries succeed; otherwise the type of the last failure.</summary>
    public string? LastError { get; private set; }

    public void Start(CancellationToken stopping)
    {
        _cursor = ReadCursor();
        _loop = Task.Run(() => RunAsync(stopping), CancellationToken.None);
    }

    public void Signal()
    {
        if (_signal.CurrentCount == 0)
        {
            _signal.Release();
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (!stopping.IsCancellationRequested)
        {
            var durable = _pipeline.DurableSequence;
            if (_cursor >= durable)
            {
                try
                {
                    await _signal.WaitAsync(TimeSpan.FromSeconds(1), stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                continue;
            }

            List<AuditRecord> records;
            try
            {
                records = _pipeline.ReadRange(_cursor + 1, durable, MaxBatch, _reader);
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                LastError = e.GetType().Name;
                LogReadFailed(_logger, _sink.Name, _cursor + 1, e.Message);
                if (!await DelayAsync(_maxDelay, stopping).ConfigureAwait(false))
                {
                    break;
                }

                continue;
            }

            using var activity = AuditTelemetry.ActivitySource.StartActivity("audit deliver " + _sink.Name, ActivityKind.Client);
            activity?.SetTag("igia.audit.sink", _sink.Name);
            activity?.SetTag("igia.audit.batch.size", records.Count);
            try
            {
                await _sink.WriteAsync(records, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                _telemetry.SinkFailures.Add(1, new KeyValuePair<string, object?>("sink", _sink.Name));
                activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
                LastError = e.GetType().Name;
                _consecutiveFailures++;
                if (_consecutiveFailures == 1)
                {
                    LogSinkDown(_logger, _sink.Name, e.GetType().Name, e.Message, records[0].Sequence);
                }
                else if (_consecutiveFailures % 20 == 0)
                {
                    LogSinkStillDown(_logger, _sink.Name, _consecutiveFailures, _pipeline.DurableSequence - _cursor);
                }

                if (!await DelayAsync(delay, stopping).ConfigureAwait(false))
                {
                    break;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _maxDelay.Ticks));
                continue;
            }

            if (_consecutiveFailures > 0)
            {
                LogSinkBack(_logger, _sink.Name, _consecutiveFailures);
            }

            _consecutiveFailures = 0;
            LastError = null;
            delay = TimeSpan.FromMilliseconds(100);
            Volatile.Write(ref _cursor, records[^1].Sequence);
            _pipeline.Delivered();
            _telemetry.SinkDelivered.Add(records.Count, new KeyValuePair<string, object?>("sink", _sink.Name));
            try
            {
                WriteCursor(_cursor);
            }
            catch (IOException e)
            {
                LogReadFailed(_logger, _sink.Name, _cursor, e.Message);
            }
        }
    }

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(delay, stopping).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private long ReadCursor()
    {
        try
        {
            return File.Exists(_cursorPath) && long.TryParse(File.ReadAllText(_cursorPath).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var c) ? c : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Replaces the cursor file atomically (write, flush, rename) so a crash leaves the old or the new value.</summary>
    private void WriteCursor(long cursor)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_cursorPath)!);
        var temp = _cursorPath + ".tmp";
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(System.Text.Encoding.ASCII.GetBytes(cursor.ToString(CultureInfo.InvariantCulture)));
            NativeFile.FlushData(f);
        }

        File.Move(temp, _cursorPath, overwrite: true);
    }

    public async Task StopAsync()
    {
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _signal.Dispose();
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit sink {Sink} failed ({ExceptionType}: {Reason}); records from {Sequence} on stay in the local log and are retried in order.")]
    private static partial void LogSinkDown(ILogger logger, string sink, string exceptionType, string reason, long sequence);

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit sink {Sink} still failing after {Attempts} attempts; {Lag} records waiting.")]
    private static partial void LogSinkStillDown(ILogger logger, string sink, int attempts, long lag);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit sink {Sink} is delivering again after {Attempts} failed attempts.")]
    private static partial void LogSinkBack(ILogger logger, string sink, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit sink {Sink}: reading record {Sequence} from the local log failed: {Reason}")]
    private static partial void LogReadFailed(ILogger logger, string sink, long sequence, string reason);
}
