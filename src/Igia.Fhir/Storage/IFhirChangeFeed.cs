namespace Igia.Fhir.Storage;

/// <summary>
/// Implemented by stores that keep a durable, ordered log of every version written, appended in the same database
/// transaction as the version itself (the embedded SQLite store does, through a trigger). Consumers such as
/// subscriptions or timers tail it with a cursor of their own: a transactional outbox, so that nothing committed is
/// missed after a crash and nothing rolled back is ever seen. Check with <c>store is IFhirChangeFeed</c>.
/// </summary>
public interface IFhirChangeFeed
{
    /// <summary>Reads up to <paramref name="max"/> changes with a sequence greater than <paramref name="afterSequence"/>, in commit order.</summary>
    Task<IReadOnlyList<FhirChange>> ReadChangesAsync(long afterSequence, int max, CancellationToken cancellationToken);

    /// <summary>The sequence of the newest change (0 when none), e.g. to start a new consumer at the end of the log.</summary>
    Task<long> GetLastSequenceAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the changes with a sequence up to <paramref name="upToSequence"/>, once every consumer has processed them
    /// (the newest change is kept, so <see cref="GetLastSequenceAsync"/> stays right). Returns how many were deleted.
    /// </summary>
    Task<int> TrimChangesAsync(long upToSequence, CancellationToken cancellationToken);
}

/// <summary>One entry of an <see cref="IFhirChangeFeed"/>.</summary>
/// <param name="Sequence">Increasing number of the change, in commit order.</param>
/// <param name="Resource">The version written (deletions have <see cref="StoredResource.Deleted"/> set).</param>
public sealed record FhirChange(long Sequence, StoredResource Resource);
