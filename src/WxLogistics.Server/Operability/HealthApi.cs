using WxLogistics.Storage;

namespace WxLogistics.Operability;

/// <summary>
/// /healthz: the process answers. /readyz: the store answers, its schema is current, and the latest commit of path
/// events did not fail in the last <see cref="CommitFailureWindow"/> (a full disk leaves reads working, so asking the
/// store alone would say ready while every update is refused).
/// </summary>
public static class HealthApi
{
    public static readonly TimeSpan CommitFailureWindow = TimeSpan.FromSeconds(30);

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapMethods("/healthz", ["GET", "HEAD"], () => Results.Json(new { status = "ok" })).ExcludeFromDescription();
        app.MapMethods("/readyz", ["GET", "HEAD"], async (Store store, GroupCommit commits, CancellationToken cancellationToken) =>
        {
            if (commits.FailedWithin(CommitFailureWindow) is { } ago)
            {
                return Results.Json(
                    new { status = "not ready", reason = $"the latest commit of path events failed {ago.TotalSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)} s ago; the log says why" },
                    statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            bool ready;
            try
            {
                ready = await store.IsReadyAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                ready = false;
            }

            return ready
                ? Results.Json(new { status = "ready" })
                : Results.Json(new { status = "not ready", reason = "the store does not answer, or its schema is not current" }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }).ExcludeFromDescription();
        return app;
    }

    /// <summary>Keeps the gauges that need a query (push queue depth, store size) fresh, every 15 seconds.</summary>
    public sealed class StoreStatistics(Store store, WxMetrics metrics, ILogger<StoreStatistics> logger) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(15));
            do
            {
                try
                {
                    var (pending, bytes) = await store.StatisticsAsync(stoppingToken);
                    (metrics.PendingPushes, metrics.StoreBytes) = (pending, bytes);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning(e, "Reading the store's statistics failed");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
    }
}
