using System.Text.Json;
using System.Text.Json.Serialization;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.Orders;

/// <summary>cancelOrder, getOrder and batchGetOrder for merchants, getContact for carriers.</summary>
public sealed class OrderQueries(Store store, OrderPlacement placement, TimeProvider time)
{
    /// <summary>The most orders batchGetOrder reads in one call (WeChat's documented limit).</summary>
    public const int MaxBatchOrders = 100;

    public static readonly WxApi CancelOrderApi = new("logistics.cancelOrder", AppRole.Merchant, 16 * 1024)
    {
        Doc = new(
            "cancelOrder (取消运单): cancel an order; the carrier answers the cancel_waybill push",
            "Merchant access_token. Body: order_id, openid, delivery_id, waybill_id. Errors: 40199 no such order of the merchant, 9300506 the " +
            "waybill already has a path, 9300524 already cancelled, 9300501 with delivery_resultcode (30001 to 30004, or -1 when the carrier did not answer properly).",
            typeof(Operability.ApiBodies.GetPath),
            typeof(Operability.ApiBodies.Envelope)),
    };

    public static readonly WxApi GetOrderApi = new("logistics.getOrder", AppRole.Merchant, 16 * 1024)
    {
        Doc = new(
            "getOrder (获取运单数据): an order's waybill, waybill_data and status",
            "Merchant access_token. Body: order_id, delivery_id, waybill_id (openid optional). Answers {print_html, waybill_data, delivery_id, " +
            "waybill_id, order_id, order_status (0 normal, 1 cancelled)}; print_html is always empty (label rendering is not done). Errors: 40199.",
            typeof(Operability.ApiBodies.GetPath),
            typeof(GetOrderResponse)),
    };

    public static readonly WxApi BatchGetOrderApi = new("logistics.batchGetOrder", AppRole.Merchant, 64 * 1024)
    {
        Doc = new(
            "batchGetOrder (批量获取运单数据): up to 100 orders in one call",
            "Merchant access_token. Body: order_list[{order_id, delivery_id, waybill_id}], 1 to 100 of them. Answers {order_list[…]} in the " +
            "order asked, each {errcode, errmsg, order_id, delivery_id, waybill_id} and, when errcode is 0, print_html, waybill_data and " +
            "order_status as getOrder; an order that is not the merchant's or does not match has errcode 40199. Errors: 40097 no order_list " +
            "or an empty one, 9300526 more than 100, 47001 order_list not a list, an item not an object or a field of it not a string.",
            typeof(BatchGetOrderRequest),
            typeof(BatchGetOrderResponse)),
    };

    public static readonly WxApi GetContactApi = new("logistics.getContact", AppRole.Carrier, 4 * 1024)
    {
        Doc = new(
            "getContact (获取面单联系人信息): the sender and receiver of a waybill's order",
            "Carrier access_token. Body: token, waybill_id. Answers {waybill_id, sender{address, name, tel, mobile}, receiver{…}}. " +
            "Errors as updatePath: 40199 waybill_id not found (also when it has no order), 9300507 token is incorrect.",
            typeof(Operability.ApiBodies.UpdatePath),
            typeof(ContactResponse)),
    };

    public async Task<WxReply> CancelAsync(WxCall call, CancellationToken cancellationToken)
    {
        var (order, error) = await OwnOrderAsync(call, cancellationToken);
        if (order is null)
        {
            return error!;
        }

        if (order.Status != 0)
        {
            return WxReply.Error(WxErrors.CancelOrderFailed, "the order is already cancelled");
        }

        if ((await store.ReadPathAsync(order.Waybill, cancellationToken)).Count > 0)
        {
            return WxReply.Error(WxErrors.WaybillHasPath);
        }

        if (order.Waybill.DeliveryId.Value != OrderPlacement.SandboxDeliveryId)
        {
            var carrier = await store.FindCarrierAsync(order.Waybill.DeliveryId, cancellationToken);
            if (carrier?.Push is not { } target)
            {
                return OrderPlacement.DeliveryFailure(-1, $"{order.Waybill.DeliveryId} has no message server to push cancel_waybill to");
            }

            var isJson = target.Format == PushFormat.Json;
            var now = time.GetUtcNow().ToUnixTimeSeconds();
            var message = CarrierEvents.CancelWaybill(carrier.AppId.Value, now, order.OrderId, order.BizId, call.Caller.AppId.Value, order.Waybill.WaybillId.Value);
            var (body, failure) = await placement.ExchangeAsync(target, CarrierEvents.Serialize(message, isJson), now, cancellationToken);
            if (failure is not null)
            {
                return failure;
            }

            var reply = CarrierEvents.ParseReply(body, isJson);
            if (reply?.ResultCode is not { } resultCode || reply.OrderId != order.OrderId || reply.BizId != order.BizId || reply.WaybillId != order.Waybill.WaybillId.Value)
            {
                return OrderPlacement.DeliveryFailure(-1, "the carrier's reply is not a cancel_waybill reply echoing BizID, OrderID and WayBillID");
            }

            if (resultCode != 0)
            {
                return OrderPlacement.DeliveryFailure(resultCode, reply.ResultMsg ?? "");
            }
        }

        return await store.CancelOrderAsync(call.Caller.AppId, order.OrderId, cancellationToken)
            ? WxReply.Ok
            : WxReply.Error(WxErrors.CancelOrderFailed, "the order is already cancelled");
    }

    public async Task<WxReply> GetAsync(WxCall call, CancellationToken cancellationToken)
    {
        var (order, error) = await OwnOrderAsync(call, cancellationToken);
        if (order is null)
        {
            return error!;
        }

        return WxReply.Success(new GetOrderResponse(
            "", CarrierEvents.WaybillData(order.WaybillData), order.Waybill.DeliveryId.Value, order.Waybill.WaybillId.Value, order.OrderId, order.Status));
    }

    public async Task<WxReply> BatchGetAsync(WxCall call, CancellationToken cancellationToken)
    {
        List<(string? OrderId, string? DeliveryId, string? WaybillId)> asked = [];
        using (var document = WireJson.ParseObject(call.Body, out var problem))
        {
            if (document is null)
            {
                return WxReply.Error(WxErrors.DataFormatError, problem);
            }

            if (!document.RootElement.TryGetProperty("order_list", out var list) || list.ValueKind == JsonValueKind.Null)
            {
                return WxReply.Error(WxErrors.InvalidArgs, "order_list is required");
            }

            if (list.ValueKind != JsonValueKind.Array)
            {
                return WxReply.Error(WxErrors.DataFormatError, "order_list must be a list");
            }

            var count = list.GetArrayLength();
            if (count == 0)
            {
                return WxReply.Error(WxErrors.InvalidArgs, "order_list names no order");
            }

            if (count > MaxBatchOrders)
            {
                return WxReply.Error(WxErrors.ArgSizeExceedLimit, $"order_list names {count} orders; at most {MaxBatchOrders} are read in one call");
            }

            foreach (var item in list.EnumerateArray())
            {
                var at = $"order_list[{asked.Count}]";
                if (item.ValueKind != JsonValueKind.Object)
                {
                    return WxReply.Error(WxErrors.DataFormatError, $"{at} must be an object");
                }

                var fields = new string?[3];
                foreach (var (name, index) in new[] { ("order_id", 0), ("delivery_id", 1), ("waybill_id", 2) })
                {
                    if (ItemText(item, name, at, out fields[index]) is { } wrong)
                    {
                        return WxReply.Error(WxErrors.DataFormatError, wrong);
                    }
                }

                asked.Add((fields[0], fields[1], fields[2]));
            }
        }

        // One read for the whole list; an order named twice is answered twice.
        var orders = await store.FindOrdersAsync(call.Caller.AppId, [.. asked.Select(a => a.OrderId).OfType<string>()], cancellationToken);
        var answers = new List<BatchOrder>(asked.Count);
        foreach (var (orderId, deliveryId, waybillId) in asked)
        {
            answers.Add(orderId is not null && orders.TryGetValue(orderId, out var order)
                && order.Waybill.DeliveryId.Value == deliveryId && order.Waybill.WaybillId.Value == waybillId
                ? new BatchOrder(0, "ok", order.OrderId, deliveryId, waybillId, "", CarrierEvents.WaybillData(order.WaybillData), order.Status)
                : new BatchOrder(WxErrors.WaybillNotFound.Code, WxErrors.WaybillNotFound.Text, orderId ?? "", deliveryId ?? "", waybillId ?? "", null, null, null));
        }

        return WxReply.Success(new BatchGetOrderResponse(answers));
    }

    /// <summary>A field of an item of order_list: its text, null when it is not sent; the 47001 errmsg when it is no string.</summary>
    static string? ItemText(JsonElement item, string name, string at, out string? text)
    {
        text = null;
        if (!item.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return $"{at}.{name} must be a string";
        }

        text = value.GetString();
        return null;
    }

    public async Task<WxReply> ContactAsync(WxCall call, CancellationToken cancellationToken)
    {
        string? token, waybillText;
        using (var document = WireJson.ParseObject(call.Body, out var problem))
        {
            if (document is null)
            {
                return WxReply.Error(WxErrors.DataFormatError, problem);
            }

            token = Text(document.RootElement, "token");
            waybillText = Text(document.RootElement, "waybill_id");
        }

        if (call.Caller.DeliveryId is not { } deliveryId
            || !WaybillId.TryParse(waybillText, out var waybillId)
            || await store.FindWaybillAsync(new WaybillKey(deliveryId, waybillId), cancellationToken) is not { } waybill)
        {
            return WxReply.Error(WxErrors.WaybillNotFound);
        }

        if (string.IsNullOrEmpty(token) || !Secrets.Matches(token, waybill.TokenHash))
        {
            return WxReply.Error(WxErrors.TokenIncorrect);
        }

        if (waybill.MerchantAppId is not { } merchant || waybill.OrderId is null
            || await store.FindOrderAsync(merchant, waybill.OrderId, cancellationToken) is not { } order)
        {
            return WxReply.Error(WxErrors.WaybillNotFound, "the waybill has no order with contacts");
        }

        using var body = JsonDocument.Parse(order.Body);
        return WxReply.Success(new ContactResponse(waybillId.Value, Contact(body.RootElement, "sender"), Contact(body.RootElement, "receiver")));
    }

    /// <summary>
    /// The merchant's order named by the body (order_id, delivery_id, waybill_id; openid when sent), or why not: 47001
    /// for a body that is no JSON object, 40199 for an order that is not the merchant's or does not match.
    /// </summary>
    async Task<(OrderRecord? Order, WxReply? Error)> OwnOrderAsync(WxCall call, CancellationToken cancellationToken)
    {
        using var document = WireJson.ParseObject(call.Body, out var problem);
        if (document is null)
        {
            return (null, WxReply.Error(WxErrors.DataFormatError, problem));
        }

        var root = document.RootElement;
        if (Text(root, "order_id") is not { } orderId
            || await store.FindOrderAsync(call.Caller.AppId, orderId, cancellationToken) is not { } order
            || order.Waybill.DeliveryId.Value != Text(root, "delivery_id") || order.Waybill.WaybillId.Value != Text(root, "waybill_id"))
        {
            return (null, WxReply.Error(WxErrors.WaybillNotFound));
        }

        var openId = Text(root, "openid");
        return string.IsNullOrEmpty(openId) || openId == order.OpenId ? (order, null) : (null, WxReply.Error(WxErrors.WaybillNotFound));
    }

    static Contact Contact(JsonElement order, string party)
    {
        var p = order.TryGetProperty(party, out var value) && value.ValueKind == JsonValueKind.Object ? value : default;
        string T(string name) => p.ValueKind == JsonValueKind.Object ? Text(p, name) ?? "" : "";
        return new Contact(T("province") + T("city") + T("area") + T("address"), T("name"), T("tel"), T("mobile"));
    }

    static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

public sealed record GetOrderResponse(string PrintHtml, IReadOnlyList<WaybillDataItem> WaybillData, string DeliveryId, string WaybillId, string OrderId, int OrderStatus);

public sealed record BatchGetOrderRequest(IReadOnlyList<BatchGetOrderRequest.Item> OrderList)
{
    public sealed record Item(string OrderId, string DeliveryId, string WaybillId);
}

public sealed record BatchGetOrderResponse(IReadOnlyList<BatchOrder> OrderList);

/// <summary>An order of batchGetOrder's answer: what was asked, and getOrder's fields when it was found (errcode 0).</summary>
public sealed record BatchOrder(
    int Errcode,
    string Errmsg,
    string OrderId,
    string DeliveryId,
    string WaybillId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PrintHtml,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<WaybillDataItem>? WaybillData,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? OrderStatus);

public sealed record Contact(string Address, string Name, string Tel, string Mobile);

public sealed record ContactResponse(string WaybillId, Contact Sender, Contact Receiver);
