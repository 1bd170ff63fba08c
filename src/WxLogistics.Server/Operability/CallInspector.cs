using System.Text.Json;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.Operability;

/// <summary>
/// Keeps, per app, its most recent calls (the last 1000): time, API, waybill, errcode, the specific reason and the
/// rid of the errmsg, so that an integrator can see why a call was rejected. Never secrets, tokens or bodies.
/// Calls wait in memory, at most each app's last 1000, and are written off the request path every half second; when
/// an app made more calls than that since the last write (under load), every two seconds, since most of what each
/// write adds would be deleted by the next.
/// </summary>
public sealed class CallInspector(Store store, TimeProvider time, ILogger<CallInspector> logger) : BackgroundService
{
    public const int KeepPerApp = 1000;

    /// <summary>Calls waiting, all apps together, at most: beyond that a new call is not kept.</summary>
    const int MaxWaiting = 20_000;

    static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The interval after a write that had dropped some app's older calls: under load the inspector lags by up to
    /// this, and writes (and deletes) a quarter of the rows. On PostgreSQL, writing each app's last thousand calls
    /// every half second cost a fifth as much as the appends themselves (bench/RESULTS.md, fifteenth session).
    /// </summary>
    static readonly TimeSpan BusyFlushInterval = TimeSpan.FromSeconds(2);

    readonly Lock gate = new();

    /// <summary>A store that cannot write (a full disk) fails every flush until it recovers: logged once, then summed up.</summary>
    readonly RepeatedFailureLog failures = new(logger, LogLevel.Warning, "Writing to the call inspector", "calls", "those calls are dropped");
    Dictionary<Apps.AppId, Queue<CallRecord>> waiting = [];
    int waitingCount;
    bool dropped;

    public void Record(WxApi api, AppRecord caller, byte[]? body, WxReply reply)
    {
        var ridAt = reply.ErrMsg.LastIndexOf(" rid: ", StringComparison.Ordinal);
        var call = new CallRecord(
            caller.AppId,
            time.GetUtcNow().ToUnixTimeMilliseconds(),
            api.Name,
            WaybillOf(body),
            reply.ErrCode,
            reply.Reason,
            ridAt < 0 ? null : reply.ErrMsg[(ridAt + 6)..]);
        lock (gate)
        {
            waiting.TryGetValue(call.AppId, out var calls);
            if (calls?.Count == KeepPerApp)
            {
                // Older than the app's last thousand: it would be deleted as soon as written.
                calls.Dequeue();
                dropped = true;
            }
            else if (waitingCount == MaxWaiting)
            {
                return;
            }
            else
            {
                waitingCount++;
                calls ??= waiting[call.AppId] = new Queue<CallRecord>();
            }

            calls.Enqueue(call);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var busy = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(busy ? BusyFlushInterval : FlushInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                // Stopping: write what is waiting, then end.
            }

            Dictionary<Apps.AppId, Queue<CallRecord>> taken;
            lock (gate)
            {
                taken = waiting;
                waiting = [];
                waitingCount = 0;
                busy = dropped;
                dropped = false;
            }

            var calls = taken.Values.SelectMany(appCalls => appCalls).ToList();
            try
            {
                if (calls.Count > 0)
                {
                    await store.AddCallsAsync(calls, KeepPerApp, CancellationToken.None);
                    failures.Succeeded();
                }
            }
            catch (Exception e)
            {
                failures.Failed(e, calls.Count);
            }
        }
    }

    /// <summary>
    /// The top-level waybill_id of a JSON body, when there is one (at most 128 characters). A body that names two names
    /// none, since the APIs refuse it (47001) without taking either.
    /// </summary>
    static string? WaybillOf(byte[]? body)
    {
        if (body is null)
        {
            return null;
        }

        string? waybill = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isWaybill = reader.ValueTextEquals("waybill_id"u8);
                reader.Read();
                if (isWaybill && reader.TokenType == JsonTokenType.String)
                {
                    if (waybill is not null)
                    {
                        return null;
                    }

                    var value = reader.GetString()!;
                    waybill = value.Length > 128 ? value[..128] : value;
                }

                reader.Skip();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not JSON to its end: the waybill found before that, if any.
        }

        return waybill;
    }
}
