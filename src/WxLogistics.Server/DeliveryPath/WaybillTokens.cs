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

    readonly BoundedMap<WaybillKey, WaybillRecord> known = new(MaxEntries);

    public async ValueTask<WaybillRecord?> FindAsync(WaybillKey key, CancellationToken cancellationToken)
    {
        if (known.TryGetValue(key, out var waybill))
        {
            return waybill;
        }

        waybill = await store.FindWaybillAsync(key, cancellationToken);
        if (waybill is not null)
        {
            known.Set(key, waybill);
        }

        return waybill;
    }
}
