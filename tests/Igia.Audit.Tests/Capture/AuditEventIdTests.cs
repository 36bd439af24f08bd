using Igia.Audit.Internal;

namespace Igia.Audit.Tests.Capture;

/// <summary>AuditEvent ids are version-7 GUIDs (RFC 9562) in the "N" form: valid FHIR ids, stamped with the time, unique.</summary>
public sealed class AuditEventIdTests
{
    [Fact]
    public void New_IsAVersion7GuidOfTheCurrentMillisecond()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var id = FhirId.New();
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.True(FhirId.IsValid(id));
        var guid = Guid.ParseExact(id, "N");
        Assert.Equal(7, guid.Version);
        Assert.Equal(0x8, guid.Variant & 0xC); // RFC 9562 variant: bits 10
        var ms = Convert.ToInt64(id[..12], 16);
        Assert.InRange(ms, before, after);
    }

    [Fact]
    public void New_ManyOnSeveralThreads_AreUnique()
    {
        var perThread = new List<string>[4];
        Parallel.For(0, perThread.Length, t =>
        {
            var ids = new List<string>(5000);
            for (var i = 0; i < 5000; i++)
            {
                ids.Add(FhirId.New());
            }

            perThread[t] = ids;
        });

        var all = perThread.SelectMany(ids => ids).ToList();
        Assert.Equal(20000, all.Count);
        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
    }
}
