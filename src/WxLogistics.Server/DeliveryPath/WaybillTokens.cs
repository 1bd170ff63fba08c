using WxLogistics.Apps;
using WxLogistics.Storage;

namespace WxLogistics.DeliveryPath;

/// <summary>
/// The fixed fields of each waybill (token hash, merchant, order, openid), remembered after the first read: they never
/// change once the waybill exists, so updatePath checks the token and getPath the merchant without a store round trip,
/// on every node alike. The path version in a remembered record is not kept current; read the store for it. A waybill
/// that does not exist is not remembered (it may be created later).
/// </summary>
/// <remarks>
/// Waybills not remembered are read together: while one read is out, the keys asked for meanwhile wait, and the next
/// read takes them all (a waybill asked for twice is read once). On a store of 500,000 waybills, about half of
/// updatePath's requests found their waybill in memory, and each of the others cost a PostgreSQL round trip of its
/// own, about 0.5 per event. Read together, they took about 0.14 round trips per event (bench/RESULTS.md).
/// Where the store checks tokens in its append (PostgreSQL), updatePath does not read a waybill at all: it remembers
/// the token hash that the append found right, for the waybill's next events.
/// </remarks>
public sealed class WaybillTokens(Store store)
{
    /// <summary>
    /// Measured (bench/RESULTS.md): with reads spread over 500,000 waybills, a cache of 100,000 raised the server's
    /// peak resident memory to about 290 MB, 20,000 kept it at 220-250 MB. A waybill in use is soon remembered again.
    /// </summary>
    const int MaxEntries = 20_000;

    readonly BoundedMap<WaybillKey, WaybillRecord> known = new(MaxEntries);
    readonly Lock gate = new();

    /// <summary>Keys asked for since the read that is out began, each with the answer its callers wait for.</summary>
    Dictionary<WaybillKey, TaskCompletionSource<WaybillRecord?>> waiting = [];
    bool reading;

    /// <summary>
    /// Token hashes that an append checked (<see cref="Store.ChecksTokensInAppend"/>) for waybills not read, so that
    /// the waybill's next events are checked here. Bounded as <see cref="known"/>.
    /// </summary>
    readonly BoundedMap<WaybillKey, byte[]> checkedTokens = new(MaxEntries);

    /// <summary>The waybill's token hash if it is in memory, read or checked before; never reads the store.</summary>
    public byte[]? KnownTokenHash(WaybillKey key) =>
        known.TryGetValue(key, out var waybill) ? waybill.TokenHash
        : checkedTokens.TryGetValue(key, out var tokenHash) ? tokenHash
        : null;

    /// <summary>Remembers a token hash that the store found right for the waybill.</summary>
    public void RememberCheckedToken(WaybillKey key, byte[] tokenHash) => checkedTokens.Set(key, tokenHash);

    public ValueTask<WaybillRecord?> FindAsync(WaybillKey key, CancellationToken cancellationToken)
    {
        if (known.TryGetValue(key, out var waybill))
        {
            return ValueTask.FromResult<WaybillRecord?>(waybill);
        }

        Task<WaybillRecord?> answer;
        var startReading = false;
        lock (gate)
        {
            if (!waiting.TryGetValue(key, out var pending))
            {
                pending = new TaskCompletionSource<WaybillRecord?>(TaskCreationOptions.RunContinuationsAsynchronously);
                waiting[key] = pending;
            }

            answer = pending.Task;
            (startReading, reading) = (!reading, true);
        }

        if (startReading)
        {
            // Runs on this caller until its first read is out; a caller finding a read out leaves its key to it.
            _ = ReadWaitingAsync();
        }

        return new ValueTask<WaybillRecord?>(answer.WaitAsync(cancellationToken));
    }

    /// <summary>Reads the keys waiting, then those that came meanwhile, until none is left.</summary>
    async Task ReadWaitingAsync()
    {
        while (true)
        {
            Dictionary<WaybillKey, TaskCompletionSource<WaybillRecord?>> batch;
            lock (gate)
            {
                if (waiting.Count == 0)
                {
                    reading = false;
                    return;
                }

                (batch, waiting) = (waiting, []);
            }

            try
            {
                // Not the callers' cancellation: the read is shared, and a caller that gives up only stops waiting.
                var found = await store.FindWaybillsAsync(batch.Keys, CancellationToken.None);
                foreach (var (key, pending) in batch)
                {
                    if (found.TryGetValue(key, out var waybill))
                    {
                        known.Set(key, waybill);
                    }

                    pending.TrySetResult(waybill);
                }
            }
            catch (Exception e)
            {
                foreach (var pending in batch.Values)
                {
                    pending.TrySetException(e);
                }
            }

            // A store that reads without waiting (SQLite) would otherwise keep the caller that began reading here,
            // serving the keys of others, until none came.
            await Task.Yield();
        }
    }
}
