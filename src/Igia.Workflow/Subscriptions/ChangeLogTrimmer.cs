using Igia.Fhir.Storage;
using Igia.Workflow.Engine;
using Microsoft.Extensions.Options;

namespace Igia.Workflow.Subscriptions;

/// <summary>
/// Trims the FHIR store's change feed below what the workflow still needs: every entry up to the lowest cursor in the
/// workflow database (<c>wf_cursor</c>) has been turned into outbox rows and timers in a committed transaction, so the
/// feed entries are no longer read (outbox rows carry the focus version, not the feed sequence). At most once per
/// <see cref="WorkflowOptions.ChangeLogTrimInterval"/>; never when it is null.
/// </summary>
internal sealed class ChangeLogTrimmer(IOptions<WorkflowOptions> options, TimeProvider time, WorkflowDatabase database)
{
    private readonly Lock _gate = new();
    private DateTimeOffset _next = DateTimeOffset.MinValue;

    /// <summary>Trims when due (call after the change feed was processed); returns how many entries were deleted.</summary>
    public async Task<int> TrimIfDueAsync(IFhirChangeFeed feed, CancellationToken ct)
    {
        if (options.Value.ChangeLogTrimInterval is not { } interval)
        {
            return 0;
        }

        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (now < _next)
            {
                return 0;
            }

            _next = now + interval;
        }

        long cursor;
        await using (var connection = await database.OpenAsync(ct))
        {
            if (await connection.ScalarAsync(null, "SELECT MIN(seq) FROM wf_cursor", ct) is not long lowest)
            {
                return 0;
            }

            cursor = lowest;
        }

        return await feed.TrimChangesAsync(cursor, ct);
    }
}
