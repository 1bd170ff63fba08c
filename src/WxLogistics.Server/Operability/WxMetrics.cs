using System.Diagnostics.Metrics;

namespace WxLogistics.Operability;

/// <summary>
/// The platform's own metrics (meter "WxLogistics"), exported with ASP.NET Core's at /metrics in Prometheus' format:
/// API calls by API and errcode, group-commit batch sizes, commit latency and failed commits, merchant-push outcomes
/// and queue depth, and the store's size.
/// </summary>
public sealed class WxMetrics
{
    public const string MeterName = "WxLogistics";

    readonly Counter<long> calls;
    readonly Histogram<int> batchSize;
    readonly Histogram<double> commitDuration;
    readonly Counter<long> pushes;
    readonly Counter<long> failedEvents;

    public WxMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        calls = meter.CreateCounter<long>("wxlogistics.api.calls", description: "API calls, by API name and WeChat errcode");
        batchSize = meter.CreateHistogram<int>("wxlogistics.ingest.batch.size", unit: "{event}", description: "Events per group commit");
        commitDuration = meter.CreateHistogram<double>("wxlogistics.ingest.commit.duration", unit: "ms", description: "Time to commit one group of events durably");
        failedEvents = meter.CreateCounter<long>(
            "wxlogistics.ingest.commit.failures", unit: "{event}", description: "Events whose group commit failed (a full disk, a lost database); each caller was answered a system error");
        pushes = meter.CreateCounter<long>("wxlogistics.push.deliveries", description: "Merchant push attempts, by outcome: delivered, failed, parked");
        meter.CreateObservableGauge("wxlogistics.push.queue.depth", () => PendingPushes, unit: "{push}", description: "Merchant pushes waiting to be delivered");
        meter.CreateObservableGauge("wxlogistics.store.size", () => StoreBytes, unit: "By", description: "Bytes the store takes");
    }

    /// <summary>Refreshed from the store in the background (StoreStatistics): gauges cannot wait for a query.</summary>
    public long PendingPushes { get; set; }

    public long StoreBytes { get; set; }

    public void Call(string api, int errcode) =>
        calls.Add(1, new KeyValuePair<string, object?>("api", api), new KeyValuePair<string, object?>("errcode", errcode));

    public void Committed(int events, TimeSpan took)
    {
        batchSize.Record(events);
        commitDuration.Record(took.TotalMilliseconds);
    }

    public void CommitFailed(int events) => failedEvents.Add(events);

    public void Push(string outcome) => pushes.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
}
