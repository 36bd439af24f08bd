using Microsoft.EntityFrameworkCore;

namespace Igia.Smart.AuthorizationServer.Internal;

/// <summary>OpenIddict's store (applications, authorizations, scopes, tokens) on SQLite through EF Core.</summary>
internal sealed class SmartAuthorizationDbContext(DbContextOptions<SmartAuthorizationDbContext> options) : DbContext(options);
