using System.Globalization;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.Orders;

/// <summary>getQuota: a merchant asks a carrier, through the get_quota push, how many labels its account has left.</summary>
public sealed class QuotaQueries(Store store, OrderPlacement placement, TimeProvider time)
{
    /// <summary>The balance the TEST sandbox carrier reports for test_biz_id; its orders do not use it up.</summary>
    public const long SandboxQuota = 10_000;

    public static readonly WxApi Api = new("logistics.getQuota", AppRole.Merchant, 4 * 1024)
    {
        Doc = new(
            "getQuota (获取电子面单余额): the labels a merchant's account with a carrier has left",
            "Merchant access_token. Body: delivery_id, biz_id. The carrier is asked with the get_quota push and answers {quota_num}. Errors: " +
            "40097 a field missing, 9300503 unknown delivery_id, 9300501 with delivery_resultcode (the carrier's ResultCode, such as 10001 " +
            "for an account it does not know, or -1 when it did not answer properly).",
            typeof(GetQuotaRequest),
            typeof(GetQuotaResponse)),
    };

    public async Task<WxReply> GetAsync(WxCall call, CancellationToken cancellationToken)
    {
        string deliveryText, bizId;
        using (var document = WireJson.ParseObject(call.Body, out var problem))
        {
            if (document is null)
            {
                return WxReply.Error(WxErrors.DataFormatError, problem);
            }

            var root = document.RootElement;
            if ((OrderPlacement.Limit(root, "delivery_id", 32, required: true, "delivery_id") ?? OrderPlacement.Limit(root, "biz_id", 64, required: true, "biz_id")) is { } invalid)
            {
                return invalid;
            }

            deliveryText = root.GetProperty("delivery_id").GetString()!;
            bizId = root.GetProperty("biz_id").GetString()!;
        }

        var (carrier, deliveryId, error) = await placement.AccountCarrierAsync(deliveryText, bizId, cancellationToken);
        if (carrier is null)
        {
            return error!;
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        if (deliveryText == OrderPlacement.SandboxDeliveryId)
        {
            return bizId == OrderPlacement.SandboxBizId
                ? await AnswerAsync(call.Caller.AppId, deliveryId, bizId, SandboxQuota, now, cancellationToken)
                : OrderPlacement.DeliveryFailure(10001, OrderPlacement.SandboxUnknownAccount);
        }

        var (reply, failure) = await placement.AskAboutAccountAsync(carrier, CarrierEvents.GetQuota(carrier.AppId.Value, now, bizId, call.Caller.AppId.Value), now, cancellationToken);
        if (reply?.ResultCode is not { } resultCode)
        {
            return failure!;
        }

        if (resultCode != 0)
        {
            return OrderPlacement.DeliveryFailure(resultCode, reply.ResultMsg ?? "");
        }

        // A whole number however JSON writes it (88, 88.0, 8.8e1), not negative.
        return decimal.TryParse(reply.Quota, NumberStyles.Float, CultureInfo.InvariantCulture, out var quota) && quota >= 0 && quota == decimal.Truncate(quota)
            && quota <= long.MaxValue
            ? await AnswerAsync(call.Caller.AppId, deliveryId, bizId, (long)quota, now, cancellationToken)
            : OrderPlacement.DeliveryFailure(-1, $"the carrier's Quota is not a whole number of labels: {WireJson.Shown(reply.Quota ?? "(none)")}");
    }

    /// <summary>The quota answered, kept first for getAllAccount when the account is bound.</summary>
    async Task<WxReply> AnswerAsync(AppId merchant, DeliveryId deliveryId, string bizId, long quota, long now, CancellationToken cancellationToken)
    {
        await store.RecordQuotaAsync(merchant, deliveryId, bizId, quota, now, cancellationToken);
        return WxReply.Success(new GetQuotaResponse(quota));
    }
}

public sealed record GetQuotaRequest(string DeliveryId, string BizId);

public sealed record GetQuotaResponse(long QuotaNum);
