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
    const int MaxEntries = 1_000_000;

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
                known.Clear();
            }

            known[key] = waybill;
        }

        return waybill;
    }
}
