using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Igia.Audit.Internal;

/// <summary>FHIR logical ids.</summary>
internal static partial class FhirId
{
    /// <summary>True when <paramref name="id"/> is a valid FHIR id (<c>[A-Za-z0-9\-\.]{1,64}</c>).</summary>
    public static bool IsValid(string id) => Pattern().IsMatch(id);

    /// <summary>Random bytes for <see cref="New"/>, 16 per id, refilled a block at a time.</summary>
    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_used;

    /// <summary>
    /// A new id for an AuditEvent: a version-7 GUID (RFC 9562: 48-bit Unix milliseconds, then random; time ordered), as 32
    /// lower-case hex digits — what <c>Guid.CreateVersion7().ToString("N")</c> gives. Written by hand because that costs a
    /// <c>getrandom</c> system call per id on Linux, one per audited request; this takes the random bits from a per-thread
    /// block that <see cref="RandomNumberGenerator"/> fills 64 ids at a time.
    /// </summary>
    public static string New()
    {
        var random = t_random ??= new byte[16 * 64];
        if (t_used == 0 || t_used >= random.Length)
        {
            RandomNumberGenerator.Fill(random);
            t_used = 0;
        }

        Span<byte> bytes = stackalloc byte[16];
        random.AsSpan(t_used, 16).CopyTo(bytes);
        t_used += 16;
        var ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var versionAndRandA = (ushort)((BinaryPrimitives.ReadUInt16BigEndian(bytes[6..]) & 0x0FFF) | 0x7000);
        BinaryPrimitives.WriteInt64BigEndian(bytes, (ms << 16) | versionAndRandA);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // variant 10
        return Convert.ToHexStringLower(bytes);
    }

    [GeneratedRegex("^[A-Za-z0-9\\-\\.]{1,64}$")]
    private static partial Regex Pattern();
}
