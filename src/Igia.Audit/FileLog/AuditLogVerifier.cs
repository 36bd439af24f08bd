using System.Text;

namespace Igia.Audit.FileLog;

/// <summary>
/// Verifies a local audit log folder: every record's hash, the chain linking each record to the one before, the
/// sequence numbers across files, and the checkpoints (their signatures, and that they match the chain). Reports each
/// altered, removed, inserted or reordered record with its file, line and sequence number. Also available as the
/// <c>igia-audit-verify</c> command-line tool.
/// </summary>
public static class AuditLogVerifier
{
    /// <summary>
    /// Verifies the log in <paramref name="folder"/>. With <paramref name="keys"/>, every checkpoint must carry a valid
    /// signature by one of them (matched by key id); without, signatures are not checked and a warning says so.
    /// </summary>
    public static AuditVerificationResult Verify(string folder, IEnumerable<AuditSigningKey>? keys = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"The audit log folder '{folder}' does not exist.");
        }

        var keyList = keys?.ToList() ?? [];
        var state = new State(keyList);
        foreach (var file in LogFormat.ListFiles(folder))
        {
            cancellationToken.ThrowIfCancellationRequested();
            state.VerifyFile(file, cancellationToken);
        }

        return state.Finish();
    }

    private sealed class State(List<AuditSigningKey> keys)
    {
        private readonly List<AuditVerificationProblem> _problems = [];
        private readonly List<string> _warnings = [];

        // Records expected but not (yet) seen: seq -> where the gap was noticed. Resolved as "reordered" if they turn up later.
        private readonly SortedDictionary<long, (string File, long Line)> _missing = [];
        private readonly Dictionary<long, (int File, long Line)> _seenAt = [];
        private readonly List<string> _fileNames = [];

        // The hashes of the most recent records (a checkpoint always names a record written just before it).
        private const int RecentHashes = 1 << 16;
        private readonly long[] _hashSeq = new long[RecentHashes];
        private readonly byte[] _hashRing = new byte[RecentHashes * LogFormat.HashHexLength];
        private long _expected = 1;
        private readonly byte[] _lastHash = Encoding.ASCII.GetBytes(LogFormat.GenesisHash);
        private long _lastSeq;
        private string _lastFile = "";
        private long _lastLine;
        private long _records;
        private long _first = -1;
        private int _files;
        private int _checkpoints;
        private int _signed;
        private long _lastCheckpointSeq;
        private bool _unsignedWarned;

        public void VerifyFile(string path, CancellationToken cancellationToken)
        {
            _files++;
            var name = Path.GetFileName(path);
            var declaredFirst = LogFormat.FirstSeqOf(path);
            var firstInFile = true;
            using var reader = new LineReader(path);
            while (reader.ReadLine() is { } memory)
            {
                if ((reader.LineNumber & 0xFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                var line = memory.Span;
                if (LogFormat.TryParseRecord(line, out var record))
                {
                    if (firstInFile && record.Seq != declaredFirst && record.Seq >= _expected)
                    {
                        _warnings.Add($"{name}: the file name says it starts at record {declaredFirst}, its first record is {record.Seq}.");
                    }

                    firstInFile = false;
                    Record(name, reader.LineNumber, record);
                }
                else if (LogFormat.TryParseCheckpoint(line, out var checkpoint))
                {
                    Checkpoint(name, reader.LineNumber, checkpoint);
                }
                else
                {
                    Problem(AuditProblemKind.Malformed, name, reader.LineNumber, null, "The line is neither a record nor a checkpoint of the audit log format (it was altered or inserted).");
                }
            }

            if (reader.TrailingBytes > 0)
            {
                Problem(AuditProblemKind.Truncated, name, reader.LineNumber + 1, null, $"The file ends in {reader.TrailingBytes} bytes that are not a complete line (cut or appended to).");
            }
        }

        private void Record(string file, long line, LogFormat.RecordLine record)
        {
            _records++;
            if (_first < 0)
            {
                _first = record.Seq;
            }

            var seq = record.Seq;
            var hashOk = record.HashMatches();
            if (!hashOk)
            {
                Problem(AuditProblemKind.Altered, file, line, seq, $"Record {seq} was altered: its content does not match its hash.");
            }

            if (_seenAt.TryGetValue(seq, out var earlier))
            {
                Problem(AuditProblemKind.Inserted, file, line, seq, $"Record {seq} appears a second time (first at {_fileNames[earlier.File]} line {earlier.Line}): a record was inserted or duplicated.");
                return;
            }

            if (seq < _expected)
            {
                if (_missing.Remove(seq, out var gap))
                {
                    Problem(AuditProblemKind.Reordered, file, line, seq, $"Record {seq} is out of order: it belongs before the record at {gap.File} line {gap.Line}.");
                }
                else
                {
                    Problem(AuditProblemKind.Inserted, file, line, seq, $"Record {seq} is out of sequence (expected {_expected}).");
                }

                Seen(seq, file, line, record.Hash);
                return;
            }

            if (seq > _expected)
            {
                for (var m = _expected; m < seq && _missing.Count < 100_000; m++)
                {
                    _missing[m] = (file, line);
                }
            }
            else if (hashOk && !record.Prev.SequenceEqual(_lastHash) && _lastSeq == seq - 1)
            {
                Problem(AuditProblemKind.ChainBroken, file, line, seq,
                    $"Record {seq} does not link to record {seq - 1} (at {_lastFile} line {_lastLine}): record {seq - 1} was altered and re-hashed, or one of them was replaced.");
            }

            Seen(seq, file, line, record.Hash);
            _expected = seq + 1;
            _lastSeq = seq;
            record.Hash.CopyTo(_lastHash);
            _lastFile = file;
            _lastLine = line;
        }

        private void Seen(long seq, string file, long line, ReadOnlySpan<byte> hash)
        {
            if (_fileNames.Count == 0 || !ReferenceEquals(_fileNames[^1], file))
            {
                _fileNames.Add(file);
            }

            _seenAt[seq] = (_fileNames.Count - 1, line);
            var slot = (int)(seq % RecentHashes);
            _hashSeq[slot] = seq;
            hash.CopyTo(_hashRing.AsSpan(slot * LogFormat.HashHexLength, LogFormat.HashHexLength));
        }

        private string? HashOf(long seq)
        {
            var slot = (int)(seq % RecentHashes);
            return _hashSeq[slot] == seq && seq > 0 ? Encoding.ASCII.GetString(_hashRing, slot * LogFormat.HashHexLength, LogFormat.HashHexLength) : null;
        }

        private void Checkpoint(string file, long line, LogFormat.Checkpoint checkpoint)
        {
            _checkpoints++;
            if (checkpoint.Algorithm == "none" || checkpoint.Signature.Length == 0)
            {
                if (keys.Count > 0)
                {
                    Problem(AuditProblemKind.BadSignature, file, line, checkpoint.Seq, $"The checkpoint for record {checkpoint.Seq} is not signed, but a signing key was given.");
                }
                else if (!_unsignedWarned)
                {
                    _unsignedWarned = true;
                    _warnings.Add("Checkpoints are not signed: a rewrite of the whole chain would not be detected.");
                }
            }
            else if (keys.Count > 0)
            {
                var key = keys.FirstOrDefault(k => k.KeyId == checkpoint.KeyId && k.Algorithm == checkpoint.Algorithm);
                if (key is null)
                {
                    Problem(AuditProblemKind.BadSignature, file, line, checkpoint.Seq, $"The checkpoint for record {checkpoint.Seq} is signed with key '{checkpoint.KeyId}' ({checkpoint.Algorithm}), which was not given.");
                }
                else if (!key.Verify(checkpoint.Body, checkpoint.Signature))
                {
                    Problem(AuditProblemKind.BadSignature, file, line, checkpoint.Seq, $"The signature of the checkpoint for record {checkpoint.Seq} is not valid: the checkpoint was altered or forged.");
                }
                else
                {
                    _signed++;
                }
            }
            else if (!_unsignedWarned)
            {
                _unsignedWarned = true;
                _warnings.Add("No key was given: checkpoint signatures were not checked.");
            }

            if (HashOf(checkpoint.Seq) is not { } hash)
            {
                Problem(AuditProblemKind.Removed, file, line, checkpoint.Seq, $"The checkpoint names record {checkpoint.Seq}, which is not in the log before it.");
            }
            else if (!string.Equals(hash, checkpoint.Hash, StringComparison.Ordinal))
            {
                Problem(AuditProblemKind.CheckpointMismatch, file, line, checkpoint.Seq,
                    $"Records up to {checkpoint.Seq} were rewritten: the chain hash of record {checkpoint.Seq} is not the one the checkpoint (signed at {checkpoint.Time:u}) recorded (changed after record {_lastCheckpointSeq}).");
            }

            _lastCheckpointSeq = Math.Max(_lastCheckpointSeq, checkpoint.Seq);
        }

        private void Problem(AuditProblemKind kind, string file, long line, long? seq, string message) =>
            _problems.Add(new AuditVerificationProblem(kind, file, line, seq, message));

        public AuditVerificationResult Finish()
        {
            if (_first > 1)
            {
                Problem(AuditProblemKind.Removed, _files > 0 ? "(start)" : "", 0, 1, $"Records 1 to {_first - 1} are missing: the log starts at record {_first}.");
            }

            foreach (var (seq, where) in _missing)
            {
                Problem(AuditProblemKind.Removed, where.File, where.Line, seq, $"Record {seq} is missing: it should come before {where.File} line {where.Line}.");
            }

            if (_records > 0 && _lastCheckpointSeq < _lastSeq)
            {
                _warnings.Add($"Records {_lastCheckpointSeq + 1} to {_lastSeq} come after the last checkpoint: they are protected by the hash chain only.");
            }

            return new AuditVerificationResult(_problems, _warnings, _records, _first < 0 ? 0 : _first, _lastSeq, _files, _checkpoints, _signed);
        }
    }
}

/// <summary>The outcome of <see cref="AuditLogVerifier.Verify"/>.</summary>
public sealed class AuditVerificationResult
{
    internal AuditVerificationResult(IReadOnlyList<AuditVerificationProblem> problems, IReadOnlyList<string> warnings, long records, long first, long last, int files, int checkpoints, int signed)
    {
        Problems = problems;
        Warnings = warnings;
        RecordCount = records;
        FirstSequence = first;
        LastSequence = last;
        FileCount = files;
        CheckpointCount = checkpoints;
        VerifiedSignatureCount = signed;
    }

    /// <summary>True when no problem was found.</summary>
    public bool IsValid => Problems.Count == 0;

    /// <summary>Every problem found, in file order (missing records last).</summary>
    public IReadOnlyList<AuditVerificationProblem> Problems { get; }

    /// <summary>Things that are not errors but limit what the verification proves.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Record lines read.</summary>
    public long RecordCount { get; }

    /// <summary>The first record's sequence number (0 when empty).</summary>
    public long FirstSequence { get; }

    /// <summary>The last record's sequence number.</summary>
    public long LastSequence { get; }

    /// <summary>Log files read.</summary>
    public int FileCount { get; }

    /// <summary>Checkpoint lines read.</summary>
    public int CheckpointCount { get; }

    /// <summary>Checkpoints whose signature was verified with a given key.</summary>
    public int VerifiedSignatureCount { get; }
}

/// <summary>One problem found in an audit log: what, where (file, 1-based line, record sequence number) and a message.</summary>
/// <param name="Kind">What is wrong.</param>
/// <param name="File">The log file's name.</param>
/// <param name="Line">The 1-based line in that file (0 when the problem is the start of the log).</param>
/// <param name="Sequence">The record's sequence number, when known.</param>
/// <param name="Message">A description for people.</param>
public sealed record AuditVerificationProblem(AuditProblemKind Kind, string File, long Line, long? Sequence, string Message);

/// <summary>The kinds of problem the verifier reports.</summary>
public enum AuditProblemKind
{
    /// <summary>A record's content does not match its hash.</summary>
    Altered,

    /// <summary>A record is missing (removed), or a checkpoint names a record that is not there.</summary>
    Removed,

    /// <summary>A record appears twice or out of any sequence: it was inserted.</summary>
    Inserted,

    /// <summary>A record is in the wrong place.</summary>
    Reordered,

    /// <summary>A record does not link to the one before (the one before was altered and re-hashed, or replaced).</summary>
    ChainBroken,

    /// <summary>A checkpoint's hash does not match the chain: records before it were rewritten.</summary>
    CheckpointMismatch,

    /// <summary>A checkpoint is unsigned, signed with an unknown key, or its signature is invalid.</summary>
    BadSignature,

    /// <summary>A line is not in the log format.</summary>
    Malformed,

    /// <summary>A file ends in a partial line.</summary>
    Truncated,
}
