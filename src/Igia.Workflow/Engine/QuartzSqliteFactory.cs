using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Igia.Workflow.Engine;

/// <summary>
/// Microsoft.Data.Sqlite for Quartz.NET's job store, with the same connection settings as the workflow database's own
/// connections (<c>busy_timeout</c>, <c>synchronous=NORMAL</c> in WAL). Without a busy timeout, Microsoft.Data.Sqlite
/// answers a busy database by sleeping 150 ms before it retries, and the job store shares the SQLite file with the
/// outbox, so every collision between a Quartz transaction and an outbox write stalled a nudge or a delivery by
/// 150 ms (that, not the scheduler's idle wait, was the notification latency). SQLite's own busy handler retries
/// within milliseconds.
/// </summary>
internal sealed class QuartzSqliteFactory : DbProviderFactory
{
    /// <summary>The instance Quartz is given.</summary>
    public static readonly QuartzSqliteFactory Instance = new();

    public override DbConnection CreateConnection() => new Connection();

    public override DbCommand CreateCommand() => SqliteFactory.Instance.CreateCommand();

    public override DbParameter CreateParameter() => SqliteFactory.Instance.CreateParameter();

    public override DbConnectionStringBuilder CreateConnectionStringBuilder() => SqliteFactory.Instance.CreateConnectionStringBuilder();

    /// <summary>Opens and closes serialised against the pool race (see <see cref="SerializedSqliteConnection"/>).</summary>
    private sealed class Connection() : SerializedSqliteConnection(string.Empty)
    {
        public override void Open()
        {
            base.Open();
            using var pragma = CreateCommand();
            pragma.CommandText = ConnectionPragmas;
            pragma.ExecuteNonQuery();
        }
    }
}
