using System.Buffers;
using System.Text;
using Igia.Audit.Internal;
using Microsoft.Extensions.Logging;

namespace Igia.Audit.FileLog;

/// <summary>
/// Writes the local audit log: appends batches of records (one write, one fdatasync: group commit), keeps the hash
/// chain across files and restarts, writes checkpoints and rotates files.
/// </summary>
/// <remarks>
/// Writing and syncing are separate steps: <see cref="Write"/> (under a lock) appends a batch and returns a ticket;
/// <see cref="Sync"/> (outside the lock) fdatasyncs the file through a descriptor of its own and says whether the
/// ticket's records are durable. fdatasync makes durable everything written before the call, whoever wrote it. When a
/// sync fails, the file is cut back to the end of the last successful sync and every ticket past it is rolled back (its
/// batch is written again); no sequence number is left used.
/// </remarks>
internal sealed partial class AuditJournal : IDisposable
{
    private readonly FileAuditLogOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 20);
    private readonly byte[] _lastHash = Encoding.ASCII.GetBytes(LogFormat.GenesisHash);
    private readonly List<WriteTicket> _outstanding = [];
    private FileStream? _lock;
    private FileStream? _file;
    private FileStream? _syncHandle;
    private long _fileId;
    private DateTimeOffset _fileCreated;
    private long _committedLength;
    private bool _truncatePending;
    private long _sinceCheckpoint;
    private DateTimeOffset _lastCheckpoint;
    private SyncedState _synced;
    private long _durableSequence;

    /// <param name="options">The log's options.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Where to report recovery and failures.</param>
    public AuditJournal(FileAuditLogOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        Folder = Path.GetFullPath(options.Folder);
    }

    /// <summary>The end of the last successful sync of the current file: its length and the last record in it.</summary>
    private readonly record struct SyncedState(long Length, long Sequence, byte[] Hash);

    /// <summary>What one <see cref="Write"/> appended, for <see cref="Sync"/>.</summary>
    internal sealed class WriteTicket(FileStream? syncHandle, long fileId, long endLength, long lastSequence, byte[] lastHash)
    {
        public FileStream? SyncHandle { get; } = syncHandle;

        public long FileId { get; } = fileId;

        public long EndLength { get; } = endLength;

        public long LastSequence { get; } = lastSequence;

        public byte[] LastHash { get; } = lastHash;

        /// <summary>Set when a failed sync cut the file back before this ticket's records.</summary>
        public bool RolledBack { get; set; }
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
                OpenSyncHandles(last);
            }
        }

        _durableSequence = LastSequence;
        _synced = new SyncedState(_committedLength, LastSequence, (byte[])_lastHash.Clone());

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
    /// Appends <paramref name="batch"/> with one write and one flush (<see cref="Write"/> then <see cref="Sync"/>). All or
    /// nothing: on failure the file is cut back to where it was, no sequence number is used, and the exception propagates.
    /// </summary>
    public void Append(IReadOnlyList<PendingRecord> batch) => Sync(Write(batch));

    /// <summary>
    /// Appends <paramref name="batch"/> with one write, without flushing it: assigns the records' sequence numbers and
    /// hashes and returns the ticket to pass to <see cref="Sync"/>. On failure the file is cut back to where it was, no
    /// sequence number is used, and the exception propagates. Thread-safe; writes are appended in call order.
    /// </summary>
    public WriteTicket Write(IReadOnlyList<PendingRecord> batch)
    {
        lock (_gate)
        {
            if (_truncatePending)
            {
                CutBack();
            }

            var now = _time.GetUtcNow();
            if (_file is null || _committedLength >= _options.MaxFileBytes || now - _fileCreated >= _options.MaxFileAge)
            {
                Rotate(now);
            }

            _buffer.ResetWrittenCount();
            var seq = LastSequence;
            Span<byte> prev = stackalloc byte[LogFormat.HashHexLength];
            _lastHash.CopyTo(prev);
            foreach (var record in batch)
            {
                seq++;
                LogFormat.WriteRecord(_buffer, seq, prev, record.Json, prev);
                record.Sequence = seq;
                record.Hash = Encoding.ASCII.GetString(prev);
            }

            var since = _sinceCheckpoint + batch.Count;
            var checkpoint = since >= _options.CheckpointEveryRecords || now - _lastCheckpoint >= _options.CheckpointInterval;
            if (checkpoint)
            {
                LogFormat.WriteCheckpoint(_buffer, seq, Encoding.ASCII.GetString(prev), now, _options.SigningKey);
            }

            WriteOut(_buffer.WrittenSpan);
            LastSequence = seq;
            prev.CopyTo(_lastHash);
            _sinceCheckpoint = checkpoint ? 0 : since;
            if (checkpoint)
            {
                _lastCheckpoint = now;
            }

            var ticket = new WriteTicket(_syncHandle, _fileId, _committedLength, seq, prev.ToArray());
            _outstanding.Add(ticket);
            return ticket;
        }
    }

    /// <summary>
    /// Makes <paramref name="ticket"/>'s records durable: fdatasync through the sync descriptor (not under the write
    /// lock). Returns when they are durable — by this sync, by a later one, or by a rotation, which syncs the file it
    /// leaves. Throws <see cref="IOException"/> when they are not: the sync failed (the file is then cut back to the last
    /// successful sync, this ticket and every later one rolled back) or an earlier failure rolled this ticket back. A
    /// rolled-back batch is written again with <see cref="Write"/>.
    /// </summary>
    public void Sync(WriteTicket ticket)
    {
        IOException? error = null;
        if (_options.FlushToDisk && ticket.SyncHandle is { } handle)
        {
            try
            {
                NativeFile.FlushData(handle);
            }
            catch (ObjectDisposedException)
            {
                // The file was rotated away meanwhile: the rotation synced it before letting go of it.
            }
            catch (IOException e)
            {
                error = e;
            }
        }

        lock (_gate)
        {
            _outstanding.Remove(ticket);
            if (ticket.RolledBack)
            {
                throw new IOException("The audit records were rolled back: a sync of the audit log failed.", error);
            }

            if (ticket.FileId != _fileId || ticket.LastSequence <= _durableSequence)
            {
                // Rotated (the rotation synced the old file) or covered by a later successful sync.
                _durableSequence = Math.Max(_durableSequence, ticket.LastSequence);
                return;
            }

            if (error is null)
            {
                _durableSequence = ticket.LastSequence;
                if (ticket.EndLength > _synced.Length)
                {
                    _synced = new SyncedState(ticket.EndLength, ticket.LastSequence, ticket.LastHash);
                }

                return;
            }

            RollBack();
            throw error;
        }
    }

    /// <summary>Writes a checkpoint for the last record now (if any record is not yet covered by one).</summary>
    public void WriteCheckpointNow()
    {
        lock (_gate)
        {
            if (LastSequence == 0 || _file is null || _sinceCheckpoint == 0)
            {
                return;
            }

            if (_truncatePending)
            {
                CutBack();
            }

            var now = _time.GetUtcNow();
            _buffer.ResetWrittenCount();
            LogFormat.WriteCheckpoint(_buffer, LastSequence, LastHash, now, _options.SigningKey);
            WriteOut(_buffer.WrittenSpan);
            FlushAll();
            _sinceCheckpoint = 0;
            _lastCheckpoint = now;
        }
    }

    /// <summary>Under the lock: fdatasync of the current file through the write descriptor; rolls back on failure.</summary>
    private void FlushAll()
    {
        if (!_options.FlushToDisk || _file is null)
        {
            MarkAllDurable();
            return;
        }

        try
        {
            NativeFile.FlushData(_file);
        }
        catch (IOException)
        {
            RollBack();
            throw;
        }

        MarkAllDurable();
    }

    private void MarkAllDurable()
    {
        _durableSequence = LastSequence;
        _synced = new SyncedState(_committedLength, LastSequence, (byte[])_lastHash.Clone());
    }

    /// <summary>
    /// Under the lock, after a failed sync: what was written since the last successful sync may be lost (Linux may
    /// drop the pages of a failed writeback), so the file is cut back there and the chain resumes from there; every
    /// outstanding ticket past it is rolled back. A checkpoint written in the cut part is written again later.
    /// </summary>
    private void RollBack()
    {
        foreach (var outstanding in _outstanding)
        {
            if (outstanding.LastSequence > _synced.Sequence)
            {
                outstanding.RolledBack = true;
            }
        }

        if (LastSequence != _synced.Sequence)
        {
            _sinceCheckpoint = Math.Max(1, _sinceCheckpoint);
        }

        LastSequence = _synced.Sequence;
        _synced.Hash.CopyTo(_lastHash, 0);
        _committedLength = _synced.Length;
        _truncatePending = true;
        try
        {
            CutBack();
        }
        catch (IOException)
        {
            // Retried before the next write: nothing is appended after records that are not durable.
        }
    }

    private void CutBack()
    {
        var file = _file!;
        file.SetLength(_committedLength);
        file.Position = _committedLength;
        _truncatePending = false;
    }

    private void WriteOut(ReadOnlySpan<byte> bytes)
    {
        var file = _file!;
        try
        {
            file.Write(bytes);
            _committedLength += bytes.Length;
        }
        catch
        {
            // Cut a partial write back so the file stays a sequence of whole lines; the caller retries the batch.
            try
            {
                CutBack();
            }
            catch (IOException)
            {
                _truncatePending = true;
            }

            throw;
        }
    }

    private void OpenSyncHandles(string path)
    {
        _syncHandle?.Dispose();

        // Read-only suffices for fdatasync.
        _syncHandle = _options.FlushToDisk ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0) : null;

        _fileId++;
    }

    private void Rotate(DateTimeOffset now)
    {
        if (_file is not null)
        {
            // Close the file with a checkpoint, and sync it whole: a ticket not yet synced counts on that.
            WriteCheckpointNow();
            FlushAll();
            _file.Dispose();
            _file = null;
        }

        var path = Path.Combine(Folder, LogFormat.FileName(LastSequence + 1, now));
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _committedLength = 0;
        _fileCreated = now;
        OpenSyncHandles(path);
        _synced = new SyncedState(0, LastSequence, (byte[])_lastHash.Clone());
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

        lock (_gate)
        {
            _syncHandle?.Dispose();
            _syncHandle = null;
            _file?.Dispose();
            _file = null;
        }

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
