using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using WxLogistics.Apps;

namespace WxLogistics.Wire;

/// <summary>
/// WeChat's call limits: an app may call an API so many times in a clock minute (past it, 45011 "retry next minute")
/// and in a day, from midnight in China (past it, 45009). stable_token has WeChat's documented limits
/// (<see cref="StableTokenPerMinute"/>, <see cref="StableTokenPerDay"/>); the other APIs have none documented, so they
/// are limited only when the operator sets <c>WxLogistics:MinuteQuota</c> or <c>WxLogistics:DailyQuota</c>. Counted in
/// the node's memory: with several nodes, each counts the calls it serves, and a restart starts the counts again.
/// </summary>
public sealed class CallQuotas(TimeProvider time, IOptions<WxLogisticsOptions> options)
{
    /// <summary>getStableAccessToken: 10,000 calls a minute per app (WeChat's documentation).</summary>
    public const int StableTokenPerMinute = 10_000;

    /// <summary>getStableAccessToken: 500,000 calls a day per app (WeChat's documentation).</summary>
    public const int StableTokenPerDay = 500_000;

    const string StableTokenApi = "auth.getStableAccessToken";
    const long ChinaOffsetSeconds = 8 * 3600;

    readonly int perMinute = options.Value.MinuteQuota;
    readonly int perDay = options.Value.DailyQuota;
    readonly Counts minutes = new(time, 60, 0);
    readonly Counts days = new(time, 86_400, ChinaOffsetSeconds);

    /// <summary>Counts a call of an API of the catalogue against the operator's quotas, when set: 45011 or 45009 past one.</summary>
    public WxReply? Take(AppId app, string api) =>
        (perMinute > 0 ? TakeMinute(app, api, perMinute) : null) ?? (perDay > 0 ? TakeDay(app, api, perDay) : null);

    /// <summary>Counts a stable_token call against WeChat's limits for it, whatever the operator's quotas: 45011 or 45009 past one.</summary>
    public WxReply? TakeStableToken(AppId app) =>
        TakeMinute(app, StableTokenApi, StableTokenPerMinute) ?? TakeDay(app, StableTokenApi, StableTokenPerDay);

    WxReply? TakeMinute(AppId app, string api, int limit) =>
        minutes.Add(app, api) > limit ? WxReply.Error(WxErrors.MinuteQuotaReached, $"{api} takes {limit} calls a minute from an app") : null;

    WxReply? TakeDay(AppId app, string api, int limit) =>
        days.Add(app, api) > limit ? WxReply.Error(WxErrors.DailyQuotaReached, $"{api} takes {limit} calls a day from an app (days in China time)") : null;

    /// <summary>Calls per app and API in the current window of the clock: windows of <c>seconds</c>, starting <c>offset</c> seconds before UTC's.</summary>
    sealed class Counts(TimeProvider time, long seconds, long offset)
    {
        Window current = new(long.MinValue);

        /// <summary>Counts one call; the count so far in this window, this one included.</summary>
        public int Add(AppId app, string api)
        {
            var number = (time.GetUtcNow().ToUnixTimeSeconds() + offset) / seconds;
            var window = Volatile.Read(ref current);
            if (window.Number < number)
            {
                // The first call of a window starts its count; a call that raced it counts in whichever window won, and
                // one that read the clock just before the window turned counts in the new one rather than restart the old.
                var fresh = new Window(number);
                window = Interlocked.CompareExchange(ref current, fresh, window) == window ? fresh : Volatile.Read(ref current);
            }

            return window.Calls.AddOrUpdate((app, api), 1, static (_, calls) => calls + 1);
        }

        sealed class Window(long number)
        {
            public long Number { get; } = number;

            public ConcurrentDictionary<(AppId App, string Api), int> Calls { get; } = new();
        }
    }
}
