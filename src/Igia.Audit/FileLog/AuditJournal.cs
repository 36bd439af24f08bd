using System.Buffers;
using System.Text;
using Igia.Audit.Internal;
using Microsoft.Extensions.Logging;

namespace Igia.Audit.FileLog;

/// <summary>
/// Writes the local audit log: appends batches of records (one write, one fdatasync: group commit), keeps the hash
/// chain across files and restarts, writes checkpoints and rotates files. Not thread-safe: one writer thread owns it.
/// </summary>
internal sealed partial class AuditJournal : IDisposable
{
    private readonly FileAuditLogOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 20);
    private readonly ArrayBufferWriter<byte> _scratch = new(16 * 1024);
    private readonly byte[] _lastHash = Encoding.ASCII.GetBytes(LogFormat.GenesisHash);
    private FileStream? _lock;
    private FileStream? _file;
    private DateTimeOffset _fileCreated;
    private long _committedLength;
    private long _sinceCheckpoint;
    private DateTimeOffset _lastCheckpoint;

    public AuditJournal(FileAuditLogOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        Folder = Path.GetFullPath(options.Folder);
    }

    /// <summary>The log folder (absolute).</summary>
    public string Folder { get; }

    /// <summary>The sequence number of the last durable record (0 when the log is empty).</summary>
    public long LastSequence { get; private set; }

    /// <summary>The hash of the last durable record.</summary>
    public string LastHash => Encoding.ASCII.GetString(_lastHash);

    /// <summary>The file being appended to, if any.</summary>
    public string? CurrentFile => _file?.Name;

    /// <summary>Takes the folder's lock and finds where the chain ends (repairing a torn last line).</summary>
    public void Open()
    {
        Directory.CreateDirectory(Folder);
        try
        {
            _lock = new FileStream(Path.Combine(Folder, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"The audit log folder '{Folder}' is in use by another process; one process writes a log folder at a time.", e);
        }

        _lastCheckpoint = _time.GetUtcNow();
        var tailVerified = true;
        var files = LogFormat.ListFiles(Folder);
        for (var i = files.Length - 1; i >= 0; i--)
        {
            var scan = Recover(files[i], repairTail: i == files.Length - 1);
            if (scan.LastSeq > 0)
            {
                LastSequence = scan.LastSeq;
                Encoding.ASCII.GetBytes(scan.LastHash!, _lastHash);
                _sinceCheckpoint = i == files.Length - 1 ? scan.SinceCheckpoint : 0;
                tailVerified = scan.TailVerified;
                if (!scan.TailVerified)
                {
                    LogTailUnverified(_logger, Path.GetFileName(files[i]));
                }

                break;
            }
        }

        if (files.Length > 0)
        {
            var last = files[^1];
            var first = LogFormat.FirstSeqOf(last);
            if (first <= LastSequence + 1 && new FileInfo(last).Length < _options.MaxFileBytes)
            {
                _file = new FileStream(last, FileMode.Open, FileAccess.Write, FileShare.Read, bufferSize: 0);
                _committedLength = _file.Seek(0, SeekOrigin.End);
                _fileCreated = CreatedOf(last);
            }
        }

        if (_sinceCheckpoint > 0 && _file is not null && tailVerified)
        {
            // Anchor the records written before the restart (a crash leaves them after the last checkpoint) — but only a
            // tail that verifies: a signature must never bless records that were changed while the process was down.
            WriteCheckpointNow();
        }
    }

    /// <summary>True when a time-based checkpoint is due (records written since the last one and the interval passed).</summary>
    public bool CheckpointDue => _sinceCheckpoint > 0 && _time.GetUtcNow() - _lastCheckpoint >= _options.CheckpointInterval;

    /// <summary>
    /// Appends <paramref name="batch"/> with one write and one flush. All or nothing: on failure the file is cut back to
    /// where it was, no sequence number is used, and the exception propagates.
    /// </summary>
    public void Append(IReadOnlyList<PendingRecord> batch)
    {
        var now = _time.GetUtcNow();
        if (_file is null || _committedLength >= _options.MaxFileBytes || now - _fileCreated >= _options.MaxFileAge)
        {
            Rotate(now);
        }

        _buffer.ResetWrittenCount();
        var seq = LastSequence;
        Span<byte> prev = stackalloc byte[LogFormat.HashHexLength];
        _lastHash.CopyTo(prev);
        Span<byte> hash = stackalloc byte[LogFormat.HashHexLength];
        foreach (var record in batch)
        {
            seq++;
            LogFormat.WriteRecord(_buffer, _scratch, seq, prev, record.Json, hash);
            record.Sequence = seq;
            record.Hash = Encoding.ASCII.GetString(hash);
            hash.CopyTo(prev);
        }

        var since = _sinceCheckpoint + batch.Count;
        var checkpoint = since >= _options.CheckpointEveryRecords || now - _lastCheckpoint >= _options.CheckpointInterval;
        if (checkpoint)
        {
            LogFormat.WriteCheckpoint(_buffer, seq, Encoding.ASCII.GetString(prev), now, _options.SigningKey);
        }

        WriteAndFlush(_buffer.WrittenSpan);
        LastSequence = seq;
        prev.CopyTo(_lastHash);
        _sinceCheckpoint = checkpoint ? 0 : since;
        if (checkpoint)
        {
            _lastCheckpoint = now;
        }
    }

    /// <summary>Writes a checkpoint for the last record now (if any record is not yet covered by one).</summary>
    public void WriteCheckpointNow()
    {
        if (LastSequence == 0 || _file is null || _sinceCheckpoint == 0)
        {
            return;
        }

        var now = _time.GetUtcNow();
        _buffer.ResetWrittenCount();
        LogFormat.WriteCheckpoint(_buffer, LastSequence, LastHash, now, _options.SigningKey);
        WriteAndFlush(_buffer.WrittenSpan);
        _sinceCheckpoint = 0;
        _lastCheckpoint = now;
    }

    private void WriteAndFlush(ReadOnlySpan<byte> bytes)
    {
        var file = _file!;
        try
        {
            file.Write(bytes);
            if (_options.FlushToDisk)
            {
                NativeFile.FlushData(file);
            }

            _committedLength += bytes.Length;
        }
        catch
        {
            // Cut a partial write back so the file stays a sequence of whole lines; the caller retries the batch.
            try
            {
                file.SetLength(_committedLength);
                file.Position = _committedLength;
            }
            catch (IOException)
            {
                // Recovery at the next start trims a torn tail.
            }

            throw;
        }
    }

    private void Rotate(DateTimeOffset now)
    {
        if (_file is not null)
        {
            WriteCheckpointNow();
            _file.Dispose();
            _file = null;
        }

        var path = Path.Combine(Folder, LogFormat.FileName(LastSequence + 1, now));
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _committedLength = 0;
        _fileCreated = now;
        NativeFile.FlushDirectory(Folder);
    }

    private static DateTimeOffset CreatedOf(string path)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        var dash = name.LastIndexOf('-');
        return dash > 0 && DateTimeOffset.TryParseExact(name[(dash + 1)..], "yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var created)
            ? created
            : new DateTimeOffset(File.GetCreationTimeUtc(path), TimeSpan.Zero);
    }

    private readonly record struct RecoveryScan(long LastSeq, string? LastHash, long SinceCheckpoint, bool TailVerified);

    /// <summary>Finds the last record of a file; trims a torn (unterminated) last line when <paramref name="repairTail"/>.</summary>
    private RecoveryScan Recover(string path, bool repairTail)
    {
        var bytes = File.ReadAllBytes(path);
        var span = bytes.AsSpan();
        var end = span.LastIndexOf((byte)'\n') + 1;
        if (end < span.Length && repairTail)
        {
            // A crash in the middle of a write: these bytes were never flushed as a whole, so no response waited on them.
            LogTornTail(_logger, Path.GetFileName(path), span.Length - end);
            using var f = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read);
            f.SetLength(end);
            NativeFile.FlushData(f);
        }

        long lastSeq = 0;
        string? lastHash = null;
        long since = 0;
        var verified = true;
        string? expectedPrev = null;
        var rest = span[..end];
        while (rest.Length > 0)
        {
            var nl = rest.IndexOf((byte)'\n');
            var line = rest[..nl];
            rest = rest[(nl + 1)..];
            if (LogFormat.TryParseRecord(line, out var record))
            {
                var prev = Encoding.ASCII.GetString(record.Prev);
                if (!record.HashMatches() || (expectedPrev is not null && prev != expectedPrev) || (lastSeq > 0 && record.Seq != lastSeq + 1))
                {
                    verified = false;
                }

                lastSeq = record.Seq;
                lastHash = Encoding.ASCII.GetString(record.Hash);
                expectedPrev = lastHash;
                since++;
            }
            else if (LogFormat.TryParseCheckpoint(line, out _))
            {
                since = 0;
            }
            else
            {
                verified = false;
            }
        }

        return new RecoveryScan(lastSeq, lastHash, since, verified);
    }

    public void Dispose()
    {
        try
        {
            WriteCheckpointNow();
        }
        catch (IOException e)
        {
            LogCloseFailed(_logger, e.GetType().Name);
        }

        _file?.Dispose();
        _file = null;
        _lock?.Dispose();
        _lock = null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit log {File}: removed {Bytes} bytes of a record that was being written when the process stopped (it was never acknowledged).")]
    private static partial void LogTornTail(ILogger logger, string file, int bytes);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Audit log {File}: the hash chain of the last file does not verify; run the audit log verifier. Appending continues.")]
    private static partial void LogTailUnverified(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit log: the closing checkpoint could not be written ({ExceptionType}).")]
    private static partial void LogCloseFailed(ILogger logger, string exceptionType);
}
