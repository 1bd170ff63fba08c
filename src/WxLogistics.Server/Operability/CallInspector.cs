using System.Text.Json;
using System.Threading.Channels;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.Operability;

/// <summary>
/// Keeps, per app, its most recent calls (the last 1000): time, API, waybill, errcode, the specific reason and the
/// rid of the errmsg, so that an integrator can see why a call was rejected. Never secrets, tokens or bodies.
/// Calls are queued in memory and written in batches off the request path; when the queue is full, the newest
/// records are dropped rather than slowing calls down.
/// </summary>
public sealed class CallInspector(Store store, TimeProvider time, ILogger<CallInspector> logger) : BackgroundService
{
    public const int KeepPerApp = 1000;
    const int MaxBatch = 20_000;
    static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(500);

    readonly Channel<CallRecord> queue = Channel.CreateBounded<CallRecord>(
        new BoundedChannelOptions(MaxBatch) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    public void Record(WxApi api, AppRecord caller, byte[]? body, WxReply reply)
    {
        var ridAt = reply.ErrMsg.LastIndexOf(" rid: ", StringComparison.Ordinal);
        queue.Writer.TryWrite(new CallRecord(
            caller.AppId,
            time.GetUtcNow().ToUnixTimeMilliseconds(),
            api.Name,
            WaybillOf(body),
            reply.ErrCode,
            reply.Reason,
            ridAt < 0 ? null : reply.ErrMsg[(ridAt + 6)..]));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<CallRecord>(MaxBatch);
        var moreWaiting = false;
        while (true)
        {
            // After a full batch more is waiting: write it at once rather than after the interval.
            if (!moreWaiting)
            {
                try
                {
                    await Task.Delay(FlushInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    // Stopping: write what is queued, then end.
                }
            }

            batch.Clear();
            while (batch.Count < MaxBatch && queue.Reader.TryRead(out var call))
            {
                batch.Add(call);
            }

            moreWaiting = batch.Count == MaxBatch;
            try
            {
                if (batch.Count > 0)
                {
                    await store.AddCallsAsync(LatestPerApp(batch), KeepPerApp, CancellationToken.None);
                }
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Writing {Count} calls to the call inspector failed; they are dropped", batch.Count);
            }

            if (stoppingToken.IsCancellationRequested && !moreWaiting)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The calls of a batch worth writing: only each app's last <see cref="KeepPerApp"/> (older ones would be trimmed
    /// at once), in their order. Under load this is most of the inspector's write work saved.
    /// </summary>
    static List<CallRecord> LatestPerApp(List<CallRecord> batch)
    {
        var seen = new Dictionary<Apps.AppId, int>();
        var kept = new List<CallRecord>(Math.Min(batch.Count, KeepPerApp));
        for (var i = batch.Count - 1; i >= 0; i--)
        {
            var appId = batch[i].AppId;
            seen[appId] = seen.GetValueOrDefault(appId) + 1;
            if (seen[appId] <= KeepPerApp)
            {
                kept.Add(batch[i]);
            }
        }

        kept.Reverse();
        return kept;
    }

    /// <summary>The top-level waybill_id of a JSON body, when there is one (at most 128 characters).</summary>
    static string? WaybillOf(byte[]? body)
    {
        if (body is null)
        {
            return null;
        }

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
                    var value = reader.GetString();
                    return value is { Length: > 128 } ? value[..128] : value;
                }

                reader.Skip();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not JSON: no waybill to show.
        }

        return null;
    }
}
