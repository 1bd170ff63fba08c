using System.Collections.Concurrent;
using WxLogistics.Apps;
using WxLogistics.Storage;

namespace WxLogistics.DeliveryPath;

/// <summary>
/// The fixed fields of each waybill (token hash, merchant, order, openid), remembered after the first read: they never
/// change once the waybill exists, so updatePath checks the token and getPath the merchant without a store round trip,
/// on every node alike. The path version in a remembered record is not kept current; read the store for it. A waybill
/// that does not exist is not remembered (it may be created later).
/// </summary>
public sealed class WaybillTokens(Store store)
{
    /// <summary>
    /// Measured (bench/RESULTS.md): with reads spread over 500,000 waybills, a cache of 100,000 raised the server's
    /// peak resident memory to about 290 MB, 20,000 kept it at 220-250 MB. A waybill in use is soon remembered again.
    /// </summary>
    const int MaxEntries = 20_000;

    readonly ConcurrentDictionary<WaybillKey, WaybillRecord> known = new();

    public async ValueTask<WaybillRecord?> FindAsync(WaybillKey key, CancellationToken cancellationToken)
    {
        if (known.TryGetValue(key, out var waybill))
        {
            return waybill;
        }

        waybill = await store.FindWaybillAsync(key, cancellationToken);
        if (waybill is not null)
        {
            if (known.Count >= MaxEntries)
            {
                ForgetSome();
            }

            known[key] = waybill;
        }

        return waybill;
    }

    /// <summary>
    /// Full: forgets a tenth, whichever the dictionary lists first (in hash order, so no waybill in particular), rather
    /// than everything at once, which would send every request to the store until the cache had filled again.
    /// </summary>
    void ForgetSome()
    {
        foreach (var (key, _) in known.Take(MaxEntries / 10))
        {
            known.TryRemove(key, out _);
        }
    }
}
