using System.Collections.Concurrent;
using WxLogistics.Client;

namespace WxLogistics.Samples.Webhooks;

/// <summary>
/// Message-server endpoints in a few lines each: a carrier taking add_waybill orders, and a merchant receiving
/// add_express_path updates. Both verify the signature, read XML or JSON, and answer as WeChat expects.
/// </summary>
public static class Webhooks
{
    /// <summary>
    /// A carrier's message server: takes each order (same BizID + OrderID, same waybill) and keeps its token; cancels
    /// orders that have not been picked up; checks the accounts merchants bind and tells their balance of labels.
    /// </summary>
    public static RouteHandlerBuilder MapCarrierWebhook(this IEndpointRouteBuilder app, string pattern, string pushToken, CarrierDesk desk) =>
        app.MapPost(pattern, async (HttpRequest request) =>
        {
            if (!LogisticsEvents.VerifySignature(pushToken, request.Query["signature"], request.Query["timestamp"], request.Query["nonce"], TimeSpan.FromMinutes(5)))
            {
                return Results.Unauthorized();
            }

            var body = await new StreamReader(request.Body).ReadToEndAsync();
            try
            {
                switch (LogisticsEvents.EventName(body))
                {
                    case "cancel_waybill":
                        var cancel = LogisticsEvents.ParseCancelWaybill(body);
                        var (code, message) = desk.Cancel(cancel);
                        return Results.Text(cancel.Reply(code, message), cancel.ReplyContentType);
                    case "check_biz":
                        var check = LogisticsEvents.ParseCheckBiz(body);
                        var (checkCode, checkText) = desk.Check(check);
                        return Results.Text(check.Reply(checkCode, checkText), check.ReplyContentType);
                    case "get_quota":
                        var asked = LogisticsEvents.ParseGetQuota(body);
                        var (result, text, quota) = desk.Quota(asked);
                        return Results.Text(asked.Reply(result, text, quota), asked.ReplyContentType);
                }

                var order = LogisticsEvents.ParseAddWaybill(body);
                return Results.Text(order.Reply(desk.Take(order)), order.ReplyContentType);
            }
            catch (WxEventException e)
            {
                // Signed, yet not an event: say why, rather than answer 500.
                return Results.BadRequest(e.Message);
            }
        });

    /// <summary>A merchant's message server: keeps the latest version of each waybill's path and answers "success".</summary>
    public static RouteHandlerBuilder MapMerchantWebhook(this IEndpointRouteBuilder app, string pattern, string pushToken, MerchantInbox inbox) =>
        app.MapPost(pattern, async (HttpRequest request) =>
        {
            if (!LogisticsEvents.VerifySignature(pushToken, request.Query["signature"], request.Query["timestamp"], request.Query["nonce"], TimeSpan.FromMinutes(5)))
            {
                return Results.Unauthorized();
            }

            try
            {
                inbox.Receive(LogisticsEvents.ParseAddExpressPath(await new StreamReader(request.Body).ReadToEndAsync()));
                return Results.Text("success");
            }
            catch (WxEventException e)
            {
                return Results.BadRequest(e.Message);
            }
        });
}

/// <summary>The carrier's side of orders: which accounts it serves, and the waybills it gave out (in memory, for the sample).</summary>
/// <param name="accounts">The merchant accounts (BizID) the carrier serves.</param>
/// <param name="waybillPrefix">The carrier's waybill number prefix.</param>
/// <param name="labelsPerAccount">The labels each account has bought; every order taken uses one.</param>
public sealed class CarrierDesk(IEnumerable<string> accounts, string waybillPrefix, long labelsPerAccount = 1000)
{
    readonly HashSet<string> accounts = [.. accounts];
    readonly ConcurrentDictionary<(string BizId, string OrderId), TakenOrder> taken = new();
    long next;

    /// <summary>The orders taken so far, with their tokens.</summary>
    public IReadOnlyCollection<TakenOrder> Orders => [.. taken.Values];

    /// <summary>Accepts the order (again with the same waybill when it is repeated) or refuses it as the documented codes say.</summary>
    /// <param name="order">The add_waybill event.</param>
    /// <returns>The result to reply with.</returns>
    public AddWaybillResult Take(AddWaybillEvent order)
    {
        if (!accounts.Contains(order.BizId))
        {
            return AddWaybillResult.Failure(10001, "客户编码不存在");
        }

        if (string.IsNullOrWhiteSpace(order.Receiver.Address) || (string.IsNullOrEmpty(order.Receiver.Mobile) && string.IsNullOrEmpty(order.Receiver.Tel)))
        {
            return AddWaybillResult.Failure(20004, "收件人信息不完整");
        }

        var kept = taken.GetOrAdd(
            (order.BizId, order.OrderId),
            _ => new TakenOrder(order.WaybillId is { Length: > 0 } and not "0" ? order.WaybillId : $"{waybillPrefix}{Interlocked.Increment(ref next):D10}", order));
        return AddWaybillResult.Success(kept.WaybillId, $"##bagAddr##{order.Receiver.City}##");
    }

    /// <summary>Checks an account a merchant binds: 0 for one the carrier serves, 10001 for any other.</summary>
    /// <param name="check">The check_biz event.</param>
    /// <returns>The result code and message to reply with.</returns>
    public (int Code, string Message) Check(CheckBizEvent check) => accounts.Contains(check.BizId) ? (0, "审核通过") : (10001, "客户编码不存在");

    /// <summary>An account's labels left: those bought less the orders taken for it; 10001 for an account the carrier does not serve.</summary>
    /// <param name="asked">The get_quota event.</param>
    /// <returns>The result code, message and labels left to reply with.</returns>
    public (int Code, string Message, long Quota) Quota(GetQuotaEvent asked) => accounts.Contains(asked.BizId)
        ? (0, "成功", Math.Max(0, labelsPerAccount - taken.Keys.Count(key => key.BizId == asked.BizId)))
        : (10001, "客户编码不存在", 0);

    /// <summary>Cancels a taken order: 0, or 30001 when the carrier has no such order.</summary>
    /// <param name="cancel">The cancel_waybill event.</param>
    /// <returns>The result code and message to reply with.</returns>
    public (int Code, string Message) Cancel(CancelWaybillEvent cancel) =>
        taken.TryGetValue((cancel.BizId, cancel.OrderId), out var order) && order.WaybillId == cancel.WaybillId && taken.TryRemove((cancel.BizId, cancel.OrderId), out _)
            ? (0, "取消成功")
            : (30001, "参数错误");
}

/// <summary>An order the carrier took: its waybill, and the event with the token updatePath needs.</summary>
/// <param name="WaybillId">The waybill number given out.</param>
/// <param name="Order">The add_waybill event, with <see cref="AddWaybillEvent.Token"/>.</param>
public sealed record TakenOrder(string WaybillId, AddWaybillEvent Order);

/// <summary>The merchant's side of pushes: the latest path of each waybill (pushes can repeat or arrive late).</summary>
public sealed class MerchantInbox
{
    readonly ConcurrentDictionary<(string DeliveryId, string WaybillId), AddExpressPathEvent> paths = new();

    /// <summary>The latest path of a waybill, when one was pushed.</summary>
    /// <param name="deliveryId">The carrier.</param>
    /// <param name="waybillId">The waybill.</param>
    /// <returns>The path, or null.</returns>
    public AddExpressPathEvent? Latest(string deliveryId, string waybillId) => paths.GetValueOrDefault((deliveryId, waybillId));

    /// <summary>Keeps the push when it is newer than the one kept.</summary>
    /// <param name="push">The add_express_path event.</param>
    public void Receive(AddExpressPathEvent push) =>
        paths.AddOrUpdate((push.DeliveryId.Value, push.WaybillId.Value), push, (_, kept) => push.Version > kept.Version ? push : kept);
}
