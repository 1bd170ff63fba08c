using System.Threading.Channels;
using WxLogistics.Apps;

namespace WxLogistics.Storage;

/// <summary>
/// Group commit of path events: one writer takes whatever is waiting, commits it in one durable transaction, then
/// answers each caller. Throughput comes from sharing the fsync, never from skipping it.
/// </summary>
public sealed class GroupCommit : IAsyncDisposable
{
    public const int MaxBatch = 4096;

    readonly Store store;
    readonly TimeProvider time;
    readonly Channel<Pending> queue = Channel.CreateBounded<Pending>(
        new BoundedChannelOptions(64 * 1024) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    readonly Task loop;
    readonly TaskCompletionSource finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    readonly Operability.WxMetrics metrics;

    /// <summary>A store that cannot commit fails every batch until it recovers: logged once, then summed up.</summary>
    readonly Operability.RepeatedFailureLog failures;

    /// <summary>Set when requests are waiting (see <see cref="WaitForRequests"/>); waiting on it never spins.</summary>
    readonly ManualResetEventSlim wake = new(false, spinCount: 0);
    readonly Action setWake;

    public GroupCommit(Store store, TimeProvider time, Operability.WxMetrics metrics, ILogger<GroupCommit> logger)
    {
        this.metrics = metrics;
        this.store = store;
        this.time = time;
        failures = new Operability.RepeatedFailureLog(
            logger, LogLevel.Error, "Committing path events", "path events", "each caller is answered with a system error");
        setWake = wake.Set;
        var thread = new Thread(Run) { IsBackground = true, Name = "wxlogistics-group-commit" };
        thread.Start();
        loop = finished.Task;
    }

    /// <summary>
    /// How long ago the latest commit failed, if it did and that was within <paramref name="window"/>: the store takes
    /// no events now, as far as anyone can tell. Past the window it is not said any longer, since without traffic
    /// nothing would ever try again.
    /// </summary>
    public TimeSpan? FailedWithin(TimeSpan window) => failures.SinceLastFailure is { } ago && ago <= window ? ago : null;

    /// <summary>The store's most events a waybill's path may hold; 0 for no limit.</summary>
    public int MaxEventsPerWaybill => store.MaxEventsPerWaybill;

    /// <summary>Whether <see cref="AppendAsync"/> may be given a token hash to check (<see cref="Store.ChecksTokensInAppend"/>).</summary>
    public bool ChecksTokens => store.ChecksTokensInAppend;

    /// <summary>
    /// Completes once the event is committed (or found already stored); throws <see cref="CommitFailedException"/> when
    /// the commit failed. With <paramref name="tokenHash"/> (only where <see cref="ChecksTokens"/>), the event is stored
    /// only if its waybill exists with that token hash.
    /// </summary>
    public async Task<AppendOutcome> AppendAsync(
        WaybillKey key, PathEvent pathEvent, byte[]? tokenHash = null, CancellationToken cancellationToken = default)
    {
        var pending = new Pending(key, pathEvent, tokenHash);
        if (!queue.Writer.TryWrite(pending))
        {
            await queue.Writer.WriteAsync(pending, cancellationToken);
        }

        return await pending.Completion.Task;
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await loop;
    }

    /// <summary>
    /// The writer, on a thread of its own: it blocks while it waits and while the store commits (SQLite commits
    /// synchronously anyway), so it never holds a pool thread; each caller's answer continues on the pool.
    /// </summary>
    void Run()
    {
        try
        {
            CommitUntilCompleted(queue.Reader);
        }
        finally
        {
            finished.TrySetResult();
        }
    }

    void CommitUntilCompleted(ChannelReader<Pending> reader)
    {
        var batch = new List<Pending>(MaxBatch);
        var events = new List<(WaybillKey, PathEvent)>(MaxBatch);
        var tokenHashes = new List<byte[]?>(MaxBatch);
        while (WaitForRequests(reader.WaitToReadAsync()))
        {
            batch.Clear();
            events.Clear();
            tokenHashes.Clear();
            var checks = false;
            while (batch.Count < MaxBatch && reader.TryRead(out var pending))
            {
                batch.Add(pending);
                events.Add((pending.Key, pending.Event));
                tokenHashes.Add(pending.TokenHash);
                checks |= pending.TokenHash is not null;
            }

            try
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                // Waited for as before: SQLite's append has completed when it returns, and PostgreSQL's was not
                // measured with the wait of WaitForRequests.
                var outcomes = store.AppendEventsAsync(events, time.GetUtcNow().ToUnixTimeMilliseconds(), checks ? tokenHashes : null)
                    .GetAwaiter().GetResult();
                metrics.Committed(batch.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started));
                failures.Succeeded();
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Completion.TrySetResult(outcomes[i]);
                }
            }
            catch (Exception e)
            {
                failures.Failed(e, batch.Count);
                metrics.CommitFailed(batch.Count);
                var failed = new CommitFailedException(e);
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(failed);
                }
            }
        }
    }

    /// <summary>
    /// Blocks the writer's thread until requests are waiting or the queue is completed (<paramref name="waiting"/>,
    /// the queue's WaitToReadAsync), without spinning first: Task.Wait and GetResult spin and call sched_yield before
    /// they block, and the writer waits for the next request after nearly every commit, so that spinning cost CPU the
    /// request path needed (a system call is dear on this project's machines; bench/RESULTS.md, eighteenth session).
    /// </summary>
    bool WaitForRequests(ValueTask<bool> waiting)
    {
        if (!waiting.IsCompleted)
        {
            wake.Reset();
            waiting.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(setWake);
            wake.Wait();
        }

        return waiting.GetAwaiter().GetResult();
    }

    sealed record Pending(WaybillKey Key, PathEvent Event, byte[]? TokenHash)
    {
        public TaskCompletionSource<AppendOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>
/// The store could not commit a batch of path events, or could not say that it did (a connection lost at the commit):
/// each caller answers a system error (WeChat's -1, which carriers retry; a retry of an event stored after all is a
/// duplicate, acknowledged again), with this message as the reason the call inspector shows.
/// </summary>
public sealed class CommitFailedException(Exception inner)
    : Exception($"the store could not commit the event: {inner.Message}", inner);
