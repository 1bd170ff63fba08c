namespace WxLogistics.Tests.Infrastructure;

/// <summary>A clock the test moves by hand (token lifetimes, overlaps, plausible action times).</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    DateTimeOffset now = start;

    public ManualClock()
        : this(DateTimeOffset.UtcNow)
    {
    }

    public override DateTimeOffset GetUtcNow() => now;

    public void Advance(TimeSpan by) => now += by;
}
