using Microsoft.EntityFrameworkCore;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>
/// OpenIddict's store (applications, authorizations, scopes, tokens) on SQLite through EF Core, plus the single-use values
/// (EHR launches, picker selections, Backend Services <c>jti</c>s) that every authorization-server instance on the database shares.
/// </summary>
internal sealed class SmartAuthorizationDbContext(DbContextOptions<SmartAuthorizationDbContext> options) : DbContext(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<SingleUseEntry>(e =>
        {
            e.ToTable(SingleUseEntry.Table);
            e.HasKey(x => x.Key);
            e.HasIndex(x => x.ExpiresAt);
        });
    }
}

/// <summary>One single-use value: <see cref="Key"/> is <c>kind:SHA-256(handle)</c>, so the database never holds a usable handle.</summary>
internal sealed class SingleUseEntry
{
    public const string Table = "IgiaSmartSingleUse";

    /// <summary>Creates the table on a database made before it existed (EnsureCreated only creates a new database's tables).</summary>
    public const string CreateIfMissing =
        "CREATE TABLE IF NOT EXISTS \"IgiaSmartSingleUse\" (\"Key\" TEXT NOT NULL CONSTRAINT \"PK_IgiaSmartSingleUse\" PRIMARY KEY, \"Value\" TEXT NULL, \"ExpiresAt\" INTEGER NOT NULL);"
        + "CREATE INDEX IF NOT EXISTS \"IX_IgiaSmartSingleUse_ExpiresAt\" ON \"IgiaSmartSingleUse\" (\"ExpiresAt\");";

    public required string Key { get; set; }

    public string? Value { get; set; }

    /// <summary>Unix time in milliseconds (an integer, so SQLite compares it).</summary>
    public long ExpiresAt { get; set; }
}
