using System.Diagnostics;

namespace WxLogistics.Operability;

/// <summary>
/// The log of work that fails again and again until something outside recovers, such as writes to a full disk or to
/// a lost database, which fail at the rate requests arrive: the first failure is logged with its exception, the next
/// ones are counted and summed up at most every <see cref="SummaryInterval"/>, and the first success after them says
/// so. One entry per failure would flood the log, on what is often the same full disk. Used from one thread at a time,
/// but for <see cref="SinceLastFailure"/>.
/// </summary>
public sealed class RepeatedFailureLog(ILogger logger, LogLevel level, string work, string unit, string consequence)
{
    public static readonly TimeSpan SummaryInterval = TimeSpan.FromSeconds(10);

    long failures, items, since, loggedAt;
    string? lastError;

    /// <summary>When the work last failed (a Stopwatch timestamp), or 0 once it has succeeded since.</summary>
    long failedAt;

    /// <summary>How long ago the work last failed, while it has not succeeded since; null otherwise. Read from any thread.</summary>
    public TimeSpan? SinceLastFailure => Volatile.Read(ref failedAt) is var at and not 0 ? Stopwatch.GetElapsedTime(at) : null;

    /// <summary>The work failed for <paramref name="count"/> items of <c>unit</c> (the path events of a batch, calls …).</summary>
    public void Failed(Exception e, int count)
    {
        var now = Stopwatch.GetTimestamp();
        if (failures == 0)
        {
            logger.Log(level, e, "{Work} failed ({Unit}: {Count}); {Consequence}. Further failures are summed up every {Interval} s until it succeeds",
                work, unit, count, consequence, SummaryInterval.TotalSeconds);
            since = loggedAt = now;
        }
        else if (Stopwatch.GetElapsedTime(loggedAt, now) >= SummaryInterval)
        {
            logger.Log(level, "{Work} still fails: {Failures} times ({Unit}: {Items}) in {Seconds:F0} s; {Consequence}. The last: {Error}",
                work, failures + 1, unit, items + count, Stopwatch.GetElapsedTime(since, now).TotalSeconds, consequence, e.Message);
            loggedAt = now;
        }

        failures++;
        items += count;
        lastError = e.Message;
        Volatile.Write(ref failedAt, now);
    }

    /// <summary>The work succeeded: after failures, the log says that it recovered and what the failures cost.</summary>
    public void Succeeded()
    {
        if (failures == 0)
        {
            return;
        }

        logger.LogWarning("{Work} succeeds again, after {Failures} failures ({Unit}: {Items}) in {Seconds:F1} s; the last: {Error}",
            work, failures, unit, items, Stopwatch.GetElapsedTime(since).TotalSeconds, lastError);
        failures = items = 0;
        lastError = null;
        Volatile.Write(ref failedAt, 0);
    }
}
