using System.Diagnostics;

namespace WxLogistics.Operability;

/// <summary>
/// The log of requests that failed unexpectedly, each answered with a system error and its rid. When the same error
/// repeats, as it does for every read while the database is away, one entry with the exception is written per
/// <see cref="Interval"/> and error, with the count of the requests it failed since; each of those is logged at Debug
/// level with its rid. One stack trace per request would flood the log at the rate requests arrive. Errors are told
/// apart by the request's path too, so that each API or page that fails shows in the log.
/// </summary>
public sealed class RequestErrorLog(ILogger<RequestErrorLog> logger)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    /// <summary>Errors told apart by where, type and message; a few hundred distinct ones within an interval at most.</summary>
    const int MaxErrors = 256;

    readonly Lock gate = new();
    readonly Dictionary<(string, Type, string), (long LoggedAt, int Repeats)> errors = [];

    public void Failed(Exception error, string path, string errMsg)
    {
        var key = (path, error.GetType(), error.Message);
        int repeats;
        lock (gate)
        {
            var now = Stopwatch.GetTimestamp();
            if (errors.TryGetValue(key, out var seen) && Stopwatch.GetElapsedTime(seen.LoggedAt, now) < Interval)
            {
                errors[key] = (seen.LoggedAt, seen.Repeats + 1);
                repeats = -1;
            }
            else
            {
                if (errors.Count >= MaxErrors)
                {
                    foreach (var old in errors.Where(e => Stopwatch.GetElapsedTime(e.Value.LoggedAt, now) >= Interval).Select(e => e.Key).ToList())
                    {
                        errors.Remove(old);
                    }
                }

                repeats = seen.Repeats;
                errors[key] = (now, 0);
            }
        }

        if (repeats < 0)
        {
            logger.LogDebug("Unhandled error on {Path}, as logged before ({Error}); answered {ErrMsg}", path, error.Message, errMsg);
        }
        else if (repeats == 0)
        {
            logger.LogError(error, "Unhandled error on {Path}; answered {ErrMsg}", path, errMsg);
        }
        else
        {
            logger.LogError(error, "Unhandled error on {Path}; answered {ErrMsg}. The same error failed {Repeats} more requests since it was last logged (each at Debug level)", path, errMsg, repeats);
        }
    }
}
