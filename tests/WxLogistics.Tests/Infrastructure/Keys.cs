using WxLogistics.Apps;

namespace WxLogistics.Tests.Infrastructure;

public static class Keys
{
    /// <summary>The key of waybill <paramref name="waybillId"/> of carrier SF, for tests that use the store directly.</summary>
    public static WaybillKey Sf(string waybillId) =>
        DeliveryId.TryParse("SF", out var deliveryId) && WaybillId.TryParse(waybillId, out var id)
            ? new WaybillKey(deliveryId, id)
            : throw new ArgumentException(waybillId);
}
