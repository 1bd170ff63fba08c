using System.Collections.Concurrent;
using WxLogistics.Apps;
using WxLogistics.Storage;

namespace WxLogistics.Push;

/// <summary>
/// Delivers the outbox: leases due pushes, sends each waybill's latest path to its merchant, and records the outcome.
/// A push is delivered when the merchant answers HTTP 200 with "success" or an empty body; anything else is retried
/// with exponential back-off and jitter (30 s × 2^n, at most 6 h apart, for about 38 hours), then parked (dead)
/// for an operator to replay. Deliveries run side by side, so a slow merchant holds one slot, not the queue.
/// </summary>
public sealed class PushDelivery(Store store, IHttpClientFactory httpClients, TimeProvider time, Operability.WxMetrics metrics, ILogger<PushDelivery> logger)
    : BackgroundService
{
    public const string HttpClientName = "merchant-push";
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>A merchant answers "success" or nothing; more than this is not read.</summary>
    public const int MaxAnswerBytes = 64 * 1024;

    /// <summary>The first try and 15 retries.</summary>
    public const int MaxAttempts = 16;

    const int MaxInFlight = 64;
    static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);
    static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);

    readonly SemaphoreSlim slots = new(MaxInFlight, MaxInFlight);

    /// <summary>A store that cannot be reached or written fails every poll (5 a second): logged once, then summed up.</summary>
    readonly Operability.RepeatedFailureLog claimFailures = new(
        logger, LogLevel.Error, "Claiming merchant pushes", "polls", "due pushes wait for a poll that succeeds");
    readonly ConcurrentDictionary<WaybillKey, bool> inFlight = new();

    /// <summary>The wait before retry number <paramref name="failures"/>: 30 s × 2^(n-1), capped at 6 h, ±20 %.</summary>
    public static TimeSpan Backoff(int failures)
    {
        var seconds = Math.Min(30 * Math.Pow(2, failures - 1), 6 * 3600);
        return TimeSpan.FromSeconds(seconds * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                var free = slots.CurrentCount;
                if (free > 0)
                {
                    var jobs = await store.ClaimPushesAsync(time.GetUtcNow().ToUnixTimeMilliseconds(), (long)Lease.TotalMilliseconds, free, stoppingToken);
                    claimed = jobs.Count;
                    claimFailures.Succeeded();
                    foreach (var job in jobs.Where(j => inFlight.TryAdd(j.Key, true)))
                    {
                        await slots.WaitAsync(stoppingToken);
                        _ = Task.Run(() => DeliverAsync(job, stoppingToken), CancellationToken.None);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                claimFailures.Failed(e, 1);
            }

            if (claimed == 0 || slots.CurrentCount == 0)
            {
                try
                {
                    await Task.Delay(PollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    async Task DeliverAsync(PushJob job, CancellationToken stoppingToken)
    {
        try
        {
            (bool Delivered, long Version, string Error) sent;
            try
            {
                sent = await SendAsync(job, stoppingToken);
            }
            finally
            {
                // Out of the in-flight set before the outcome is recorded, which ends the lease: a claim made right
                // after that (an event appended meanwhile makes the push due again at once) must find the waybill
                // free, or the claiming loop would skip it while the new lease kept every node from delivering it for
                // two minutes. Until the outcome is recorded, the lease keeps this waybill from being claimed again;
                // after that, the entry may be the next delivery's, so it is removed here and nowhere else.
                inFlight.TryRemove(job.Key, out _);
            }

            var (delivered, version, error) = sent;
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            if (delivered)
            {
                await store.CompletePushAsync(job.Key, version, now, CancellationToken.None);
                metrics.Push("delivered");
                return;
            }

            var attempts = job.Attempts + 1;
            long? next = attempts >= MaxAttempts ? null : now + (long)Backoff(attempts).TotalMilliseconds;
            await store.FailPushAsync(job.Key, attempts, next, error, now, CancellationToken.None);
            metrics.Push(next is null ? "parked" : "failed");
            logger.LogWarning(
                "Push of {Waybill} version {Version} to {Merchant} failed (attempt {Attempts}): {Error}{Parked}",
                job.Key, version, job.Merchant, attempts, error, next is null ? "; parked" : "");
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogError(e, "Recording the push of {Waybill} failed; its lease will run out and it will be tried again", job.Key);
        }
        catch (Exception)
        {
            // Shutting down: the lease runs out and another worker or the next start takes it.
        }
        finally
        {
            slots.Release();
        }
    }

    async Task<(bool Delivered, long Version, string Error)> SendAsync(PushJob job, CancellationToken stoppingToken)
    {
        var merchant = await store.FindAppAsync(job.Merchant, stoppingToken);
        if (merchant?.Push is not { } target)
        {
            return (false, job.Version, "the merchant has no push URL (app set --push-url …)");
        }

        // The version first, then the path: what is sent holds at least that version's events.
        var waybill = await store.FindWaybillAsync(job.Key, stoppingToken);
        if (waybill is null)
        {
            return (false, job.Version, "the waybill no longer exists");
        }

        var path = await store.ReadPathAsync(job.Key, stoppingToken);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var message = new MessagePush.ExpressPathEvent(
            merchant.AppId.Value, waybill.OpenId ?? "", now, job.Key.DeliveryId.Value, job.Key.WaybillId.Value, waybill.OrderId ?? "", waybill.PathVersion, path);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(Timeout);
            var client = httpClients.CreateClient(HttpClientName);
            var answer = await MessagePush.PostAsync(
                client, target, target.Format == PushFormat.Json ? MessagePush.Json(message) : MessagePush.Xml(message), now, MaxAnswerBytes, timeout.Token);
            if (answer.Text is not { } text)
            {
                return (false, waybill.PathVersion, $"{answer.Problem} (expected success or nothing)");
            }

            var body = text.Trim();
            if (answer.Status == 200 && body is "" or "success")
            {
                return (true, waybill.PathVersion, "");
            }

            return (false, waybill.PathVersion, $"HTTP {answer.Status}, body '{(body.Length > 80 ? body[..80] + "…" : body)}' (expected success or nothing)");
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return (false, waybill.PathVersion, $"no answer within {Timeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException e)
        {
            return (false, waybill.PathVersion, e.Message);
        }
    }
}
