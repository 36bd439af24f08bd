using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Igia.Audit.FileLog;

/// <summary>
/// The line format of the local audit log. Every line is one JSON object ending in <c>\n</c>:
/// <list type="bullet">
/// <item>a record: <c>{"seq":N,"prev":"&lt;hex&gt;","event":&lt;AuditEvent JSON&gt;,"hash":"&lt;hex&gt;"}</c>, where <c>hash</c> is the
/// SHA-256 of the line's bytes up to (not including) <c>,"hash":"</c> — so it covers <c>seq</c>, the previous record's hash and the event;</item>
/// <item>a checkpoint: <c>{"checkpoint":{"seq":N,"hash":"&lt;hex&gt;","time":"…","alg":"ES256","kid":"…"},"sig":"&lt;base64&gt;"}</c>, where
/// <c>sig</c> signs the bytes of the inner object and <c>hash</c> is the hash of record N.</item>
/// </list>
/// The first record has <c>seq</c> 1 and <c>prev</c> 64 zeros. Files are named <c>audit-{first seq:D16}-{UTC time}.jsonl</c>.
/// </summary>
internal static class LogFormat
{
    public const int HashHexLength = 64;
    public const string FilePrefix = "audit-";
    public const string FileExtension = ".jsonl";
    public static readonly string GenesisHash = new('0', HashHexLength);

    public static ReadOnlySpan<byte> RecordStart => "{\"seq\":"u8;
    public static ReadOnlySpan<byte> PrevMarker => ",\"prev\":\""u8;
    public static ReadOnlySpan<byte> EventMarker => "\",\"event\":"u8;
    public static ReadOnlySpan<byte> HashMarker => ",\"hash\":\""u8;
    public static ReadOnlySpan<byte> RecordEnd => "\"}\n"u8;
    public static ReadOnlySpan<byte> CheckpointStart => "{\"checkpoint\":"u8;
    public static ReadOnlySpan<byte> SigMarker => ",\"sig\":\""u8;

    /// <summary>
    /// Appends one record line; returns the record's hash (hex, lower case) in <paramref name="hashHex"/>, which may be the
    /// same memory as <paramref name="prevHex"/> (it is read before the hash is written). The hash is taken over the
    /// bytes as written into <paramref name="output"/>: no second copy.
    /// </summary>
    public static void WriteRecord(ArrayBufferWriter<byte> output, long seq, ReadOnlySpan<byte> prevHex, ReadOnlySpan<byte> eventJson, Span<byte> hashHex)
    {
        var start = output.WrittenCount;
        output.Write(RecordStart);
        WriteInt64(output, seq);
        output.Write(PrevMarker);
        output.Write(prevHex);
        output.Write(EventMarker);
        output.Write(eventJson);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(output.WrittenSpan[start..], hash);
        ToHex(hash, hashHex);
        output.Write(HashMarker);
        output.Write(hashHex);
        output.Write(RecordEnd);
    }

    /// <summary>Appends one checkpoint line.</summary>
    public static void WriteCheckpoint(IBufferWriter<byte> output, long seq, string hashHex, DateTimeOffset time, AuditSigningKey? key)
    {
        var body = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{{\"seq\":{seq},\"hash\":\"{hashHex}\",\"time\":\"{time.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}\",\"alg\":\"{key?.Algorithm ?? "none"}\",\"kid\":\"{key?.KeyId ?? ""}\"}}"));
        var signature = key is null ? "" : Convert.ToBase64String(key.Sign(body));
        output.Write(CheckpointStart);
        output.Write(body);
        output.Write(SigMarker);
        output.Write(Encoding.ASCII.GetBytes(signature));
        output.Write("\"}\n"u8);
    }

    /// <summary>A parsed record line (without the trailing newline).</summary>
    public readonly ref struct RecordLine
    {
        public RecordLine(long seq, ReadOnlySpan<byte> prev, ReadOnlySpan<byte> eventJson, ReadOnlySpan<byte> hash, ReadOnlySpan<byte> hashed)
        {
            Seq = seq;
            Prev = prev;
            EventJson = eventJson;
            Hash = hash;
            Hashed = hashed;
        }

        public long Seq { get; }

        public ReadOnlySpan<byte> Prev { get; }

        public ReadOnlySpan<byte> EventJson { get; }

        public ReadOnlySpan<byte> Hash { get; }

        /// <summary>The bytes the hash covers.</summary>
        public ReadOnlySpan<byte> Hashed { get; }

        /// <summary>True when <see cref="Hash"/> is the SHA-256 of <see cref="Hashed"/>.</summary>
        public bool HashMatches()
        {
            Span<byte> hash = stackalloc byte[32];
            Span<byte> hex = stackalloc byte[HashHexLength];
            SHA256.HashData(Hashed, hash);
            ToHex(hash, hex);
            return hex.SequenceEqual(Hash);
        }
    }

    /// <summary>Parses a record line (no trailing newline). False when it is not a well-formed record line.</summary>
    public static bool TryParseRecord(ReadOnlySpan<byte> line, out RecordLine record)
    {
        record = default;
        var tail = HashMarker.Length + HashHexLength + 2; // ,"hash":"<hex>"}
        if (!line.StartsWith(RecordStart) || line.Length < RecordStart.Length + tail + 10 || !line.EndsWith("\"}"u8))
        {
            return false;
        }

        var hashStart = line.Length - tail;
        if (!line[hashStart..].StartsWith(HashMarker))
        {
            return false;
        }

        var hash = line.Slice(hashStart + HashMarker.Length, HashHexLength);
        var rest = line[RecordStart.Length..hashStart];
        if (!Utf8Parser.TryParse(rest, out long seq, out var consumed) || seq < 1)
        {
            return false;
        }

        rest = rest[consumed..];
        if (!rest.StartsWith(PrevMarker) || rest.Length < PrevMarker.Length + HashHexLength + EventMarker.Length)
        {
            return false;
        }

        var prev = rest.Slice(PrevMarker.Length, HashHexLength);
        rest = rest[(PrevMarker.Length + HashHexLength)..];
        if (!rest.StartsWith(EventMarker) || !IsHex(prev) || !IsHex(hash))
        {
            return false;
        }

        var json = rest[EventMarker.Length..];
        if (json.Length < 2 || json[0] != (byte)'{' || json[^1] != (byte)'}')
        {
            return false;
        }

        record = new RecordLine(seq, prev, json, hash, line[..hashStart]);
        return true;
    }

    /// <summary>A parsed checkpoint line.</summary>
    public readonly record struct Checkpoint(long Seq, string Hash, string Algorithm, string KeyId, DateTimeOffset Time, byte[] Body, byte[] Signature);

    /// <summary>Parses a checkpoint line (no trailing newline).</summary>
    public static bool TryParseCheckpoint(ReadOnlySpan<byte> line, out Checkpoint checkpoint)
    {
        checkpoint = default;
        if (!line.StartsWith(CheckpointStart) || !line.EndsWith("\"}"u8))
        {
            return false;
        }

        var sigAt = line.LastIndexOf(SigMarker);
        if (sigAt < 0)
        {
            return false;
        }

        var body = line[CheckpointStart.Length..sigAt];
        var sig = line[(sigAt + SigMarker.Length)..^2];
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body.ToArray());
            var root = doc.RootElement;
            var signature = sig.Length == 0 ? [] : Convert.FromBase64String(Encoding.ASCII.GetString(sig));
            checkpoint = new Checkpoint(
                root.GetProperty("seq").GetInt64(),
                root.GetProperty("hash").GetString() ?? "",
                root.GetProperty("alg").GetString() ?? "",
                root.GetProperty("kid").GetString() ?? "",
                root.GetProperty("time").GetDateTimeOffset(),
                body.ToArray(),
                signature);
            return true;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The first sequence number encoded in a log file name, or -1.</summary>
    public static long FirstSeqOf(string path)
    {
        var name = Path.GetFileName(path);
        if (!name.StartsWith(FilePrefix, StringComparison.Ordinal) || !name.EndsWith(FileExtension, StringComparison.Ordinal) || name.Length < FilePrefix.Length + 16)
        {
            return -1;
        }

        return long.TryParse(name.AsSpan(FilePrefix.Length, 16), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : -1;
    }

    /// <summary>The log files of a folder, in sequence order.</summary>
    public static string[] ListFiles(string folder) =>
        Directory.Exists(folder)
            ? Directory.GetFiles(folder, FilePrefix + "*" + FileExtension).Where(f => FirstSeqOf(f) >= 0).OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).ToArray()
            : [];

    /// <summary>The name of a new log file.</summary>
    public static string FileName(long firstSeq, DateTimeOffset time) =>
        string.Create(CultureInfo.InvariantCulture, $"{FilePrefix}{firstSeq:D16}-{time.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}{FileExtension}");

    public static void ToHex(ReadOnlySpan<byte> bytes, Span<byte> hex)
    {
        const string digits = "0123456789abcdef";
        for (var i = 0; i < bytes.Length; i++)
        {
            hex[2 * i] = (byte)digits[bytes[i] >> 4];
            hex[(2 * i) + 1] = (byte)digits[bytes[i] & 0xF];
        }
    }

    private static bool IsHex(ReadOnlySpan<byte> s)
    {
        foreach (var b in s)
        {
            if (b is not ((>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f')))
            {
                return false;
            }
        }

        return true;
    }

    private static void WriteInt64(IBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        output.Advance(written);
    }
}
