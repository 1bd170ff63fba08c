using System.Data.Common;
using WxLogistics.Apps;

namespace WxLogistics.Storage;

/// <summary>
/// Rows to records, shared by both providers: each provider's SELECT lists these columns in this order.
/// </summary>
static class StoreRows
{
    /// <summary>appid, role, name, delivery_id, secret_hash, created_at, push_url, push_token, push_format, service_types.</summary>
    public const string AppColumns = "appid, role, name, delivery_id, secret_hash, created_at, push_url, push_token, push_format, service_types";

    /// <summary>token_hash, merchant_appid, order_id, openid, path_version, created_at.</summary>
    public const string WaybillColumns = "token_hash, merchant_appid, order_id, openid, path_version, created_at";

    /// <summary>delivery_id, waybill_id, biz_id, openid, body, waybill_data, status, created_at.</summary>
    public const string OrderColumns = "delivery_id, waybill_id, biz_id, openid, body, waybill_data, status, created_at";

    /// <summary>env, appid, secret_id, permissions, is_default, created_at.</summary>
    public const string CloudEnvColumns = "env, appid, secret_id, permissions, is_default, created_at";

    /// <summary>at, api, waybill_id, errcode, reason, rid.</summary>
    public const string CallColumns = "at, api, waybill_id, errcode, reason, rid";

    /// <summary>delivery_id, waybill_id, version, delivered_version, status, attempts, next_attempt_at, last_error, updated_at.</summary>
    public const string PushDeliveryColumns = "delivery_id, waybill_id, version, delivered_version, status, attempts, next_attempt_at, last_error, updated_at";

    public static AppRecord? App(DbDataReader r)
    {
        if (!AppId.TryParse(r.GetString(0), out var appId))
        {
            return null;
        }

        DeliveryId? deliveryId = !r.IsDBNull(3) && DeliveryId.TryParse(r.GetString(3), out var parsed) ? parsed : null;
        return new AppRecord(appId, r.GetString(1) == "carrier" ? AppRole.Carrier : AppRole.Merchant, r.GetString(2), deliveryId, (byte[])r.GetValue(4), r.GetInt64(5))
        {
            Push = r.IsDBNull(6) ? null : new PushTarget(r.GetString(6), r.GetString(7), r.GetString(8) == "json" ? PushFormat.Json : PushFormat.Xml),
            ServiceTypesJson = r.IsDBNull(9) ? null : r.GetString(9),
        };
    }

    /// <summary><see cref="WaybillColumns"/> from column <paramref name="at"/> on.</summary>
    public static WaybillRecord Waybill(DbDataReader r, WaybillKey key, int at = 0)
    {
        AppId? merchant = !r.IsDBNull(at + 1) && AppId.TryParse(r.GetString(at + 1), out var parsed) ? parsed : null;
        return new WaybillRecord(key, (byte[])r.GetValue(at), merchant, Text(r, at + 2), Text(r, at + 3), r.GetInt64(at + 4), r.GetInt64(at + 5));
    }

    /// <summary>delivery_id, waybill_id, then <see cref="WaybillColumns"/>.</summary>
    public static WaybillRecord? KeyedWaybill(DbDataReader r) =>
        DeliveryId.TryParse(r.GetString(0), out var d) && WaybillId.TryParse(r.GetString(1), out var w)
            ? Waybill(r, new WaybillKey(d, w), at: 2)
            : null;

    /// <summary>delivery_id, waybill_id, action_time, action_type, action_msg.</summary>
    public static KeyedPathEvent? KeyedEvent(DbDataReader r) =>
        DeliveryId.TryParse(r.GetString(0), out var d) && WaybillId.TryParse(r.GetString(1), out var w)
            ? new KeyedPathEvent(new WaybillKey(d, w), new PathEvent(r.GetInt64(2), r.GetInt32(3), r.GetString(4)))
            : null;

    public static OrderRecord? Order(DbDataReader r, AppId merchant, string orderId) =>
        DeliveryId.TryParse(r.GetString(0), out var d) && WaybillId.TryParse(r.GetString(1), out var w)
            ? new OrderRecord(merchant, orderId, new WaybillKey(d, w), r.GetString(2), Text(r, 3), r.GetString(4), r.GetString(5), r.GetInt32(6), r.GetInt64(7))
            : null;

    public static CloudEnvRecord? CloudEnv(DbDataReader r) =>
        AppId.TryParse(r.GetString(1), out var appId)
            ? new CloudEnvRecord(
                r.GetString(0), appId, r.GetString(2), r.GetString(3).Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal),
                r.GetBoolean(4), r.GetInt64(5))
            : null;

    /// <summary>delivery_id, name, service_types.</summary>
    public static CarrierListing? Carrier(DbDataReader r) =>
        DeliveryId.TryParse(r.GetString(0), out var d) ? new CarrierListing(d, r.GetString(1), Text(r, 2)) : null;

    public static AccountListing? Account(DbDataReader r, AppId merchant) =>
        DeliveryId.TryParse(r.GetString(0), out var d)
            ? new AccountListing(
                new AccountRecord(merchant, d, r.GetString(1), r.GetString(2), r.GetInt64(3)), r.GetInt64(4), Text(r, 5),
                r.IsDBNull(6) ? null : r.GetInt64(6), r.IsDBNull(7) ? null : r.GetInt64(7))
            : null;

    public static CallRecord Call(DbDataReader r, AppId app) =>
        new(app, r.GetInt64(0), r.GetString(1), Text(r, 2), r.GetInt32(3), Text(r, 4), Text(r, 5));

    public static PushDeliveryRecord? PushDelivery(DbDataReader r, AppId merchant) =>
        DeliveryId.TryParse(r.GetString(0), out var d) && WaybillId.TryParse(r.GetString(1), out var w)
            ? new PushDeliveryRecord(
                new WaybillKey(d, w), merchant, r.GetInt64(2), r.GetInt64(3), Status(r.GetString(4)), r.GetInt32(5), r.GetInt64(6), Text(r, 7), r.GetInt64(8))
            : null;

    /// <summary>delivery_id, waybill_id, merchant_appid, version, attempts (a claim's RETURNING).</summary>
    public static PushJob? PushJob(DbDataReader r) =>
        DeliveryId.TryParse(r.GetString(0), out var d) && WaybillId.TryParse(r.GetString(1), out var w) && AppId.TryParse(r.GetString(2), out var m)
            ? new PushJob(new WaybillKey(d, w), m, r.GetInt64(3), r.GetInt32(4))
            : null;

    static PushStatus Status(string status) => status switch
    {
        "delivered" => PushStatus.Delivered,
        "dead" => PushStatus.Dead,
        _ => PushStatus.Pending,
    };

    static string? Text(DbDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);
}
