using Igia.Fhir.Search;
using Igia.Fhir.Storage;
using Igia.Fhir.Storage.Sqlite;

namespace Igia.Fhir.Tests.Storage;

/// <summary>
/// The per-connection settings the store relies on, on the connections its sessions actually get: WAL with
/// <c>synchronous=FULL</c> (durability) and <c>temp_store=MEMORY</c> (savepoint journals of the group commit kept in memory),
/// and a write session that is not committed still rolls back alone with its savepoint journal in memory.
/// </summary>
public sealed class SqliteStoreSettingsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "igia-tests", "settings-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string Pragma(SqliteFhirStoreSession session, string name)
    {
        using var cmd = session.Connection.CreateCommand();
        cmd.Transaction = session.Transaction;
        cmd.CommandText = $"PRAGMA {name}";
        return Convert.ToString(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture)!;
    }

    [Theory]
    [InlineData(FhirSessionMode.Read)]
    [InlineData(FhirSessionMode.Write)]
    public async System.Threading.Tasks.Task Session_Connection_HasWalFullSyncAndMemoryTempStore(FhirSessionMode mode)
    {
        using var store = new SqliteFhirStore(Path.Combine(_folder, "fhir.db"));
        await store.InitializeAsync(CancellationToken.None);
        await using var session = (SqliteFhirStoreSession)await store.OpenSessionAsync(mode, CancellationToken.None);

        Assert.Equal("wal", Pragma(session, "journal_mode"));
        Assert.Equal("2", Pragma(session, "synchronous")); // FULL
        Assert.Equal("2", Pragma(session, "temp_store")); // MEMORY
    }

    [Fact]
    public async System.Threading.Tasks.Task WriteSession_NotCommitted_RollsBackAloneWhileAnotherCommits()
    {
        using var store = new SqliteFhirStore(Path.Combine(_folder, "fhir.db"));
        await store.InitializeAsync(CancellationToken.None);
        var index = new SearchIndexEntry[]
        {
            new TokenIndexEntry("status", null, "final", null),
            new ReferenceIndexEntry("subject", "Patient", "p1", null),
            new StringIndexEntry("name", "smith", "Smith"),
        };

        // Many index rows, so that the savepoint's journal is well past SQLite's 64 KiB spill size for temp files.
        var big = Enumerable.Range(0, 2000).Select(i => (SearchIndexEntry)new TokenIndexEntry("code", "http://example.org", "c" + i, null)).ToArray();
        await using (var dropped = await store.OpenSessionAsync(FhirSessionMode.Write, CancellationToken.None))
        {
            await dropped.WriteAsync(new ResourceWrite("Basic", "dropped", 1, DateTimeOffset.UtcNow, "POST", """{"resourceType":"Basic","id":"dropped"}""", big), CancellationToken.None);

            // Not committed: disposing rolls the session back to its savepoint.
        }

        await using (var kept = await store.OpenSessionAsync(FhirSessionMode.Write, CancellationToken.None))
        {
            await kept.WriteAsync(new ResourceWrite("Basic", "kept", 1, DateTimeOffset.UtcNow, "POST", """{"resourceType":"Basic","id":"kept"}""", index), CancellationToken.None);
            await kept.CommitAsync(CancellationToken.None);
        }

        await using var read = await store.OpenSessionAsync(FhirSessionMode.Read, CancellationToken.None);
        Assert.Null(await read.ReadAsync("Basic", "dropped", null, CancellationToken.None));
        Assert.NotNull(await read.ReadAsync("Basic", "kept", null, CancellationToken.None));
    }
}
