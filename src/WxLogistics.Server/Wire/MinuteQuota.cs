using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using WxLogistics.Apps;

namespace WxLogistics.Wire;

/// <summary>
/// WeChat's per-minute call limits, answered 45011 ("retry next minute"): an app may call an API so many times in a
/// clock minute. stable_token has WeChat's documented limit (<see cref="StableTokenPerMinute"/>); the other APIs have
/// WeChat's none documented, so they are limited only when the operator sets <c>WxLogistics:MinuteQuota</c>. Counted
/// in the node's memory: with several nodes, each counts the calls it serves.
/// </summary>
public sealed class MinuteQuota(TimeProvider time, IOptions<WxLogisticsOptions> options)
{
    /// <summary>getStableAccessToken: 10,000 calls a minute per app (WeChat's documentation).</summary>
    public const int StableTokenPerMinute = 10_000;

    readonly int perApi = options.Value.MinuteQuota;
    Window current = new(long.MinValue);

    /// <summary>Counts a call of an API of the catalogue; 45011 past <c>WxLogistics:MinuteQuota</c>, when one is set.</summary>
    public WxReply? Take(AppId app, string api) => perApi > 0 ? Take(app, api, perApi) : null;

    /// <summary>Counts a call of <paramref name="api"/> by <paramref name="app"/>; 45011 when it is past <paramref name="limit"/> this minute.</summary>
    public WxReply? Take(AppId app, string api, int limit)
    {
        var minute = time.GetUtcNow().ToUnixTimeSeconds() / 60;
        var window = Volatile.Read(ref current);
        if (window.Minute < minute)
        {
            // The first call of a minute starts its count; a call that raced it counts in whichever window won, and
            // one that read the clock just before the minute turned counts in the new minute rather than restart the old.
            var fresh = new Window(minute);
            window = Interlocked.CompareExchange(ref current, fresh, window) == window ? fresh : Volatile.Read(ref current);
        }

        return window.Counts.AddOrUpdate((app, api), 1, static (_, calls) => calls + 1) > limit
            ? WxReply.Error(WxErrors.MinuteQuotaReached, $"{api} takes {limit} calls a minute from an app")
            : null;
    }

    sealed class Window(long minute)
    {
        public long Minute { get; } = minute;

        public ConcurrentDictionary<(AppId App, string Api), int> Counts { get; } = new();
    }
}
