using Igia.Fhir.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Igia.Fhir.Tests.Storage;

/// <summary>
/// The per-connection prepared statement cache the SQLite store's reads, writes and searches run on: one statement per SQL
/// text, rebound per use, correct across schema changes, bounded, and finalized when the store lets go of its file.
/// </summary>
public sealed class SqliteStatementCacheTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "igia-tests", "stmt-" + Guid.NewGuid().ToString("N"));
    private readonly SqliteConnection _connection;

    public SqliteStatementCacheTests()
    {
        Directory.CreateDirectory(_folder);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_folder, "t.db"), Pooling = false }.ToString());
        _connection.Open();
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = "CREATE TABLE t(id TEXT PRIMARY KEY, n INTEGER, x REAL); INSERT INTO t VALUES ('a', 1, 1.5), ('b', 2, NULL), ('c', 3, 3.5);";
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        SqliteStatementCache.Release(_connection.Handle!);
        _connection.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private const string ById = "SELECT id, n, x FROM t WHERE id = $id";

    private (string? Id, long N, bool XIsNull)? Row(SqliteCachedStatement statement) =>
        statement.Step() ? (statement.GetString(0), statement.GetInt64(1), statement.IsNull(2)) : null;

    [Fact]
    public async Task Prepare_WhileAnotherConnectionHoldsTheDatabase_WaitsInsteadOfFailing()
    {
        var file = new SqliteConnectionStringBuilder { DataSource = Path.Combine(_folder, "t.db"), Pooling = false }.ToString();
        using var other = new SqliteConnection(file);
        other.Open();
        using (var begin = other.CreateCommand())
        {
            begin.CommandText = "BEGIN EXCLUSIVE";
            begin.ExecuteNonQuery();
        }

        // A fresh connection has not read the schema yet: preparing needs a shared lock, which SQLite refuses (BUSY).
        using var fresh = new SqliteConnection(file);
        fresh.Open();
        var release = Task.Run(async () =>
        {
            await Task.Delay(300);
            using var commit = other.CreateCommand();
            commit.CommandText = "COMMIT";
            commit.ExecuteNonQuery();
        });

        using (var statement = SqliteStatementCache.For(fresh).Rent(ById))
        {
            Assert.Equal(("a", 1L, false), Row(statement.Bind("$id", "a")));
        }

        await release;
    }

    [Fact]
    public void SameSql_ReusesOneStatement_RebindingParameters()
    {
        var cache = SqliteStatementCache.For(_connection);
        SqliteCachedStatement first;
        using (first = cache.Rent(ById))
        {
            Assert.Equal(("a", 1L, false), Row(first.Bind("$id", "a")));
        }

        using (var second = cache.Rent(ById))
        {
            Assert.Same(first, second);
            Assert.Equal(("b", 2L, true), Row(second.Bind("$id", "b")));
            Assert.Null(Row(second));
        }

        using (var third = cache.Rent(ById))
        {
            // Bindings were cleared when the statement came back: an unbound parameter is NULL and matches nothing.
            Assert.Null(Row(third));
        }

        Assert.Equal(1, cache.Count);
        Assert.Same(cache, SqliteStatementCache.For(_connection));
    }

    [Fact]
    public void NestedUseOfTheSameSql_GetsItsOwnStatement()
    {
        var cache = SqliteStatementCache.For(_connection);
        using var outer = cache.Rent(ById).Bind("$id", "a");
        Assert.True(outer.Step());
        SqliteCachedStatement inner;
        using (inner = cache.Rent(ById).Bind("$id", "c"))
        {
            Assert.NotSame(outer, inner);
            Assert.Equal(("c", 3L, false), Row(inner));
        }

        Assert.True(inner.Handle.IsClosed); // a one-off statement is finalized when given back
        Assert.Equal("a", outer.GetString(0)); // the outer statement's row is untouched
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void CachedStatement_StaysCorrectAcrossSchemaChanges()
    {
        var cache = SqliteStatementCache.For(_connection);
        const string All = "SELECT * FROM t WHERE id = $id";
        using (var s = cache.Rent(All))
        {
            Assert.True(s.Bind("$id", "a").Step());
            Assert.Equal(3, SQLitePCL.raw.sqlite3_column_count(s.Handle));
        }

        using (var alter = _connection.CreateCommand())
        {
            alter.CommandText = "ALTER TABLE t ADD COLUMN extra TEXT DEFAULT 'new'; CREATE INDEX ix_t_n ON t(n);";
            alter.ExecuteNonQuery();
        }

        using (var s = cache.Rent(All))
        {
            Assert.True(s.Bind("$id", "a").Step());
            Assert.Equal(4, SQLitePCL.raw.sqlite3_column_count(s.Handle));
            Assert.Equal("new", s.GetString(3));
        }
    }

    [Fact]
    public void Binding_TypesAndErrors()
    {
        var cache = SqliteStatementCache.For(_connection);
        using (var insert = cache.Rent("INSERT INTO t(id, n, x) VALUES ($id, $n, $x)"))
        {
            insert.Bind("$id", "d").Bind("$n", 4).Bind("$x", 4.25).Execute();
        }

        using (var insert = cache.Rent("INSERT INTO t(id, n, x) VALUES ($id, $n, $x)"))
        {
            insert.Bind("$id", "e").Bind("$n", 5L).Bind("$x", DBNull.Value).Execute();
        }

        using (var s = cache.Rent("SELECT SUM(n), SUM(x) FROM t WHERE id IN ('d', 'e')"))
        {
            Assert.True(s.Step());
            Assert.Equal(9, s.GetInt32(0));
            Assert.Equal("4.25", s.GetString(1));
        }

        using var bad = cache.Rent(ById);
        Assert.Throws<NotSupportedException>(() => bad.Bind("$id", 1.5m));
        Assert.Throws<InvalidOperationException>(() => bad.Bind("$nope", "x"));

        // A command's parameters that the SQL does not name are ignored, as SqliteCommand does.
        using var command = new SqliteCommand();
        command.Parameters.AddWithValue("$id", "c");
        command.Parameters.AddWithValue("$unused", "x");
        using var s2 = cache.Rent(ById);
        Assert.Equal(("c", 3L, false), Row(s2.Bind(command.Parameters)));
    }

    [Fact]
    public void ConstraintViolation_Throws_AndTheStatementIsUsableAfterwards()
    {
        var cache = SqliteStatementCache.For(_connection);
        const string Insert = "INSERT INTO t(id, n) VALUES ($id, $n)";
        using (var s = cache.Rent(Insert))
        {
            Assert.Throws<SqliteException>(() => s.Bind("$id", "a").Bind("$n", 9).Execute());
        }

        using (var s = cache.Rent(Insert))
        {
            s.Bind("$id", "z").Bind("$n", 26).Execute();
        }

        using var read = cache.Rent(ById);
        Assert.Equal(("z", 26L, true), Row(read.Bind("$id", "z")));
    }

    [Fact]
    public void TheCacheIsBounded_EvictingTheLeastRecentlyUsed()
    {
        var cache = SqliteStatementCache.For(_connection);
        using (cache.Rent(ById))
        {
        }

        SqliteCachedStatement? firstOther = null;
        for (var i = 0; i < SqliteStatementCache.Capacity + 10; i++)
        {
            using var s = cache.Rent($"SELECT {i} FROM t WHERE id = $id");
            firstOther ??= s;
            if (i % 8 == 0)
            {
                using (cache.Rent(ById))
                {
                    // kept recent
                }
            }
        }

        Assert.Equal(SqliteStatementCache.Capacity, cache.Count);
        Assert.True(firstOther!.Handle.IsClosed);
        using var kept = cache.Rent(ById);
        Assert.False(kept.Handle.IsClosed);
        Assert.Equal(("a", 1L, false), Row(kept.Bind("$id", "a")));
    }

    [Fact]
    public void Release_FinalizesTheStatements_AndANewCacheServesTheConnection()
    {
        var cache = SqliteStatementCache.For(_connection);
        SqliteCachedStatement statement;
        using (statement = cache.Rent(ById))
        {
        }

        SqliteStatementCache.Release(_connection.Handle!);
        Assert.True(statement.Handle.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => cache.Rent(ById));

        var fresh = SqliteStatementCache.For(_connection);
        Assert.NotSame(cache, fresh);
        using var again = fresh.Rent(ById);
        Assert.Equal(("b", 2L, true), Row(again.Bind("$id", "b")));
    }

    [Fact]
    public void MoreThanOneStatement_IsRefused()
    {
        var cache = SqliteStatementCache.For(_connection);
        Assert.Throws<ArgumentException>(() => cache.Rent("SELECT 1; SELECT 2"));
        Assert.Equal(0, cache.Count);
    }
}
