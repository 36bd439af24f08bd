using System.Net;
using Hl7.Fhir.Model;
using Igia.Fhir.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Task = System.Threading.Tasks.Task;

namespace Igia.Fhir.Tests.Search;

/// <summary>The SQLite side of the index: the trigger migration reaches existing stores, and disposing the store closes its file.</summary>
public sealed class SearchIndexStorageTests
{
    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "igia-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task StoreCreatedBeforeTheIndexTrigger_GetsItOnNextStart_AndUpdatesReplaceRows()
    {
        var folder = NewFolder();
        var db = Path.Combine(folder, "fhir.db");
        var first = await FhirTestHost.StartAsync(dataFolder: folder);
        var id = (await first.CreateAsync(new Patient { Name = [new HumanName { Family = "Older" }] })).Id;

        // Stop the first server without deleting its folder (FhirTestHost.DisposeAsync would).
        first.Client.Dispose();
        await first.App.StopAsync();
        await first.App.DisposeAsync();

        // Make the store look like one written before migration 3 (the index trigger) existed, and so before migration 4
        // (the reference index covering url) too.
        await using (var connection = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'tr_resource_version_index'";
            Assert.Equal(1L, await cmd.ExecuteScalarAsync());
            cmd.CommandText = "DROP TRIGGER tr_resource_version_index; DELETE FROM schema_version WHERE version >= 3; " +
                "DROP INDEX ix_idx_reference; CREATE INDEX ix_idx_reference ON idx_reference(param, target_id, target_type);";
            await cmd.ExecuteNonQueryAsync();
        }

        await using var second = await FhirTestHost.StartAsync(dataFolder: folder);
        await using (var connection = new SqliteConnection($"Data Source={db};Pooling=False;Mode=ReadOnly"))
        {
            await connection.OpenAsync();
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = "SELECT group_concat(name, ',') FROM pragma_index_info('ix_idx_reference')";
            Assert.Equal("param,target_id,target_type,url", await cmd.ExecuteScalarAsync());
        }

        var patient = await second.GetAsync<Patient>($"Patient/{id}");
        patient.Name = [new HumanName { Family = "Newer" }];
        using (var put = await second.Client.PutAsync($"Patient/{id}", FhirTestHost.JsonContent(patient)))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        Assert.Empty((await second.GetAsync<Bundle>("Patient?family=older")).Entry);
        Assert.Equal(id, Assert.Single((await second.GetAsync<Bundle>("Patient?family=newer")).Entry).Resource.Id);
    }

    [Fact]
    public async Task DisposingTheServer_ClosesEveryHandleOnTheDatabaseFile()
    {
        if (!Directory.Exists("/proc/self/fd"))
        {
            return; // Linux only: open files are read from /proc.
        }

        var folder = NewFolder();
        await using (var host = await FhirTestHost.StartAsync(dataFolder: folder))
        {
            // Writes from several connections at once, so that several pooled connections prepare their index inserts.
            await Task.WhenAll(Enumerable.Range(0, 16).Select(i => host.CreateAsync(new Observation
            {
                Status = ObservationStatus.Final,
                Code = new CodeableConcept("http://loinc.org", "8867-4"),
                Value = new Quantity(60 + i, "/min"),
            })));
            Assert.NotEmpty(OpenHandlesUnder(folder));
        }

        var open = OpenHandlesUnder(folder);
        Assert.True(open.Count == 0, "Still open: " + string.Join(", ", open));
    }

    private static List<string> OpenHandlesUnder(string folder)
    {
        var open = new List<string>();
        foreach (var fd in Directory.EnumerateFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith(folder, StringComparison.Ordinal))
                {
                    open.Add(target);
                }
            }
            catch (IOException)
            {
                // The descriptor closed while we looked.
            }
        }

        return open;
    }
}
