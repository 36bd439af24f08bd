namespace Igia.Smart.Tests.Infrastructure;

/// <summary>The real clock plus an offset the test can move forward.</summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public void Reset() => Interlocked.Exchange(ref _offsetTicks, 0);

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}
