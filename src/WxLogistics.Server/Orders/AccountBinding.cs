using System.Text.Json;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.Orders;

/// <summary>
/// bindAccount and getAllAccount: a merchant binds its accounts (biz_id) with carriers, each checked by its carrier
/// through the check_biz push, and lists them. The password goes to the carrier in check_biz and is not kept.
/// </summary>
public sealed class AccountBinding(Store store, OrderPlacement placement, TimeProvider time)
{
    public static readonly WxApi BindApi = new("logistics.bindAccount", AppRole.Merchant, 4 * 1024)
    {
        Doc = new(
            "bindAccount (绑定、解绑物流账号): bind or unbind an account with a carrier",
            "Merchant access_token. Body: type (bind or unbind), delivery_id, biz_id, password and remark_content (optional). Binding pushes " +
            "check_biz to the carrier with the password, which is not kept. Errors: 40097 a field missing or type not bind or unbind, 9300503 " +
            "unknown delivery_id, 9300529 already bound, 9300530 not bound (unbind), 9300531 the carrier answered 10001 or 10002 (no such " +
            "account, wrong password), 9300501 with delivery_resultcode for any other answer, or -1 when the carrier did not answer properly.",
            typeof(BindAccountRequest),
            typeof(Operability.ApiBodies.Envelope)),
    };

    public static readonly WxApi ListApi = new("logistics.getAllAccount", AppRole.Merchant) { IsGet = true };

    public async Task<WxReply> BindAsync(WxCall call, CancellationToken cancellationToken)
    {
        string type, deliveryText, bizId, password, remark;
        using (var document = WireJson.ParseObject(call.Body, out var problem))
        {
            if (document is null)
            {
                return WxReply.Error(WxErrors.DataFormatError, problem);
            }

            var root = document.RootElement;
            foreach (var (name, max, required) in new[] { ("type", 16, true), ("delivery_id", 32, true), ("biz_id", 64, true), ("password", 128, false), ("remark_content", 1024, false) })
            {
                if (OrderPlacement.Limit(root, name, max, required, name) is { } invalid)
                {
                    return invalid;
                }
            }

            string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            (type, deliveryText, bizId, password, remark) = (Text("type")!, Text("delivery_id")!, Text("biz_id")!, Text("password") ?? "", Text("remark_content") ?? "");
        }

        if (type is not ("bind" or "unbind"))
        {
            return WxReply.Error(WxErrors.InvalidArgs, "type must be bind or unbind");
        }

        var (carrier, deliveryId, error) = await placement.AccountCarrierAsync(deliveryText, bizId, cancellationToken);
        if (carrier is null)
        {
            return error!;
        }

        if (type == "unbind")
        {
            return await store.RemoveAccountAsync(call.Caller.AppId, deliveryId, bizId, cancellationToken) ? WxReply.Ok : WxReply.Error(WxErrors.AccountNotBound);
        }

        if ((await store.ListAccountsAsync(call.Caller.AppId, cancellationToken)).Any(a => a.Account.DeliveryId == deliveryId && a.Account.BizId == bizId))
        {
            return WxReply.Error(WxErrors.AccountAlreadyBound);
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        if (await CheckAsync(carrier, bizId, password, call.Caller.AppId, now, cancellationToken) is { } refused)
        {
            return refused;
        }

        // A bind of the same account that raced this one, and won, was checked by the carrier too.
        return await store.AddAccountAsync(new AccountRecord(call.Caller.AppId, deliveryId, bizId, remark, now), cancellationToken)
            ? WxReply.Ok
            : WxReply.Error(WxErrors.AccountAlreadyBound);
    }

    public async Task<WxReply> ListAsync(WxCall call, CancellationToken cancellationToken)
    {
        var accounts = await store.ListAccountsAsync(call.Caller.AppId, cancellationToken);
        var list = accounts.Select(a => new AccountListItem(
            a.Account.BizId, a.Account.DeliveryId.Value, a.Account.CreatedAt, a.UpdatedAt, 0, "", "", a.Account.RemarkContent, a.QuotaNum, a.QuotaUpdateTime,
            ServiceOffer.Parse(a.ServiceTypesJson))).ToList();
        return WxReply.Success(new AllAccounts(list.Count, list));
    }

    /// <summary>The carrier's check of the account (check_biz); null when it accepts it, else the answer to give.</summary>
    async Task<WxReply?> CheckAsync(AppRecord carrier, string bizId, string password, AppId merchant, long now, CancellationToken cancellationToken)
    {
        if (carrier.DeliveryId?.Value == OrderPlacement.SandboxDeliveryId)
        {
            // The TEST carrier answers for itself, as it does orders.
            return bizId == OrderPlacement.SandboxBizId ? null : Refused(10001, OrderPlacement.SandboxUnknownAccount);
        }

        var (reply, failure) = await placement.AskAboutAccountAsync(carrier, CarrierEvents.CheckBiz(carrier.AppId.Value, now, bizId, password, merchant.Value), now, cancellationToken);
        if (reply?.ResultCode is not { } resultCode)
        {
            return failure;
        }

        return resultCode == 0 ? null : Refused(resultCode, reply.ResultMsg ?? "");
    }

    /// <summary>10001 (no such account) and 10002 (wrong password) are 9300531; any other refusal is the carrier's own.</summary>
    static WxReply Refused(int resultCode, string resultMessage) => resultCode is 10001 or 10002
        ? WxReply.Error(WxErrors.InvalidBizIdOrPassword, $"the carrier answered {resultCode} {resultMessage}")
        : OrderPlacement.DeliveryFailure(resultCode, resultMessage);
}

public sealed record BindAccountRequest(string Type, string DeliveryId, string BizId, string? Password, string? RemarkContent);

/// <summary>
/// A bound account as getAllAccount lists it. status_code is 0 (bound); alias and remark_wrong_msg are empty; quota_num
/// and quota_update_time are what getQuota last learnt from the carrier, left out until it has asked.
/// </summary>
public sealed record AccountListItem(
    string BizId,
    string DeliveryId,
    long CreateTime,
    long UpdateTime,
    int StatusCode,
    string Alias,
    string RemarkWrongMsg,
    string RemarkContent,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] long? QuotaNum,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] long? QuotaUpdateTime,
    IReadOnlyList<ServiceOffer> ServiceType);

public sealed record AllAccounts(int Count, IReadOnlyList<AccountListItem> List);
