using System.Text;

namespace Igia.Audit.FileLog;

/// <summary>
/// Reads records back from the local log by sequence number, sequentially (it keeps its place between calls), for sinks
/// that fell behind or restarted. Only reads records the caller knows to be durable, so it never sees a partial line.
/// </summary>
internal sealed class LogReader(string folder) : IDisposable
{
    private LineReader? _lines;
    private long _nextSeq = -1;

    /// <summary>Reads records <paramref name="from"/> .. <paramref name="to"/> (inclusive, at most <paramref name="max"/>).</summary>
    public List<AuditRecord> Read(long from, long to, int max)
    {
        var result = new List<AuditRecord>(Math.Min(max, (int)Math.Min(int.MaxValue, to - from + 1)));
        if (_lines is null || _nextSeq != from)
        {
            Seek(from);
        }

        while (result.Count < max && _nextSeq <= to)
        {
            if (_lines is null)
            {
                Seek(_nextSeq);
                if (_lines is null)
                {
                    throw new InvalidDataException($"Audit record {_nextSeq} is not in the log folder.");
                }
            }

            var line = _lines.ReadLine();
            if (line is null)
            {
                _lines.Dispose();
                _lines = null;
                var next = NextFileAfter(_nextSeq);
                if (next is null)
                {
                    throw new InvalidDataException($"Audit record {_nextSeq} is not in the log folder.");
                }

                _lines = new LineReader(next);
                continue;
            }

            if (!LogFormat.TryParseRecord(line.Value.Span, out var record))
            {
                continue;
            }

            if (record.Seq < _nextSeq)
            {
                continue;
            }

            if (record.Seq != _nextSeq)
            {
                throw new InvalidDataException($"Audit record {_nextSeq} is missing from the log (found {record.Seq}).");
            }

            result.Add(new AuditRecord(record.Seq, Encoding.ASCII.GetString(record.Hash), record.EventJson.ToArray(), null));
            _nextSeq++;
        }

        return result;
    }

    private void Seek(long seq)
    {
        _lines?.Dispose();
        _lines = null;
        var files = LogFormat.ListFiles(folder);
        string? file = null;
        foreach (var f in files)
        {
            if (LogFormat.FirstSeqOf(f) <= seq)
            {
                file = f;
            }
        }

        _nextSeq = seq;
        if (file is not null)
        {
            _lines = new LineReader(file);
        }
    }

    private string? NextFileAfter(long seq)
    {
        foreach (var f in LogFormat.ListFiles(folder))
        {
            if (LogFormat.FirstSeqOf(f) == seq)
            {
                return f;
            }
        }

        return null;
    }

    public void Dispose() => _lines?.Dispose();
}

/// <summary>Reads a file line by line as raw bytes (without the newline); a last line without newline is not returned.</summary>
internal sealed class LineReader : IDisposable
{
    private readonly FileStream _stream;
    private byte[] _buffer = new byte[256 * 1024];
    private int _start;
    private int _end;

    public LineReader(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
    }

    public string Path { get; }

    /// <summary>The 1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }

    /// <summary>Bytes left after the last complete line when the file ended (a torn or unterminated line).</summary>
    public int TrailingBytes => _end - _start;

    /// <summary>The next complete line, or null at the end. The memory is valid until the next call.</summary>
    public ReadOnlyMemory<byte>? ReadLine()
    {
        while (true)
        {
            var nl = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (nl >= 0)
            {
                var line = new ReadOnlyMemory<byte>(_buffer, _start, nl - _start);
                _start = nl + 1;
                LineNumber++;
                return line;
            }

            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (read == 0)
            {
                return null;
            }

            _end += read;
        }
    }

    public void Dispose() => _stream.Dispose();
}
