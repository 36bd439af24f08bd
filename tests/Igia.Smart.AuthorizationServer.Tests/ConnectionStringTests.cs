using Microsoft.Extensions.DependencyInjection;
using Microsoft.Data.Sqlite;

namespace Igia.Smart.AuthorizationServer.Tests;

/// <summary>The authorization server's SQLite store runs without Microsoft.Data.Sqlite's pooling unless the app asks for it.</summary>
public sealed class ConnectionStringTests
{
    [Theory]
    [InlineData("Data Source=a.db")]
    [InlineData("Data Source=/tmp/x/a.db;Default Timeout=5")]
    public void PoolingIsTurnedOff_WhenTheConnectionStringDoesNotSetIt(string given)
    {
        var used = new SqliteConnectionStringBuilder(SmartAuthorizationServerServiceCollectionExtensions.WithoutPoolingUnlessSet(given));
        var original = new SqliteConnectionStringBuilder(given);

        Assert.False(used.Pooling);
        Assert.Equal(original.DataSource, used.DataSource);
        Assert.Equal(original.DefaultTimeout, used.DefaultTimeout);
    }

    [Theory]
    [InlineData("Data Source=a.db;Pooling=True", true)]
    [InlineData("Data Source=a.db;pooling=false", false)]
    public void AnExplicitPoolingSetting_IsKept(string given, bool pooling)
    {
        var used = new SqliteConnectionStringBuilder(SmartAuthorizationServerServiceCollectionExtensions.WithoutPoolingUnlessSet(given));
        Assert.Equal(pooling, used.Pooling);
    }
}
