using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using WxLogistics.Apps;
using WxLogistics.DeliveryPath;
using WxLogistics.Push;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.Orders;

/// <summary>
/// addOrder: the merchant places an order; the platform makes the waybill's Token, pushes add_waybill to the carrier
/// (or lets the TEST sandbox answer), and creates the waybill only when the carrier accepts. Nothing is created on
/// any failure. The same merchant and order_id again returns the same waybill.
/// </summary>
public sealed class OrderPlacement(Store store, IHttpClientFactory httpClients, TimeProvider time, PathUpdates updates, GroupCommit commit)
{
    public const string HttpClientName = "carrier-push";
    public const string SandboxDeliveryId = "TEST";
    public const string SandboxBizId = "test_biz_id";

    /// <summary>What the TEST carrier answers, with ResultCode 10001, for any biz_id but <see cref="SandboxBizId"/>.</summary>
    public const string SandboxUnknownAccount = "客户编码或者月结账户不存在 (the TEST carrier takes biz_id test_biz_id)";
    public static readonly TimeSpan CarrierTimeout = TimeSpan.FromSeconds(5);

    /// <summary>A carrier's add_waybill or cancel_waybill answer (its waybill data included) is read up to this size.</summary>
    public const int MaxCarrierAnswerBytes = 1024 * 1024;

    public static readonly WxApi AddOrderApi = new("logistics.addOrder", AppRole.Merchant, 64 * 1024)
    {
        Doc = new(
            "addOrder (生成运单): place an order; the carrier answers the add_waybill push with the waybill",
            "Merchant access_token. Body as WeChat's addOrder: order_id (≤512 B), delivery_id, biz_id, add_source, openid, sender, receiver, cargo, " +
            "shop, insured, service, custom_remark. Answers {order_id, waybill_id, waybill_data[{key, value}]}. Errors: 9300526 a field too long, " +
            "9300503 unknown delivery_id, 9300510 unknown service_type, 9300535 bad shop fields, 40097 missing fields, 9300522 order_id used " +
            "with another carrier, 9300501 delivery logic fail with delivery_resultcode and delivery_resultmsg (the carrier refused, did not answer " +
            "in 5 s, or answered something that is not a valid reply).",
            typeof(JsonElement),
            typeof(AddOrderResponse)),
    };

    public static readonly WxApi TestUpdateOrderApi = new("logistics.testUpdateOrder", AppRole.Merchant, 64 * 1024)
    {
        Doc = new(
            "testUpdateOrder (模拟更新订单状态): add a path event to an order of the TEST sandbox carrier",
            "Merchant access_token. Body: biz_id (test_biz_id), order_id, delivery_id (TEST), waybill_id, action_time, action_type, action_msg. " +
            "Errors: 930563 order not exists (not an order of this merchant made with the test values), then the checks of updatePath.",
            typeof(JsonElement),
            typeof(Operability.ApiBodies.Envelope)),
    };

    static readonly (string Name, int MaxBytes, bool Required)[] PartyFields =
    [
        ("name", 64, true), ("tel", 32, false), ("mobile", 32, false), ("company", 64, false), ("post_code", 10, false), ("country", 64, false),
        ("province", 64, true), ("city", 64, true), ("area", 64, true), ("address", 512, true),
    ];

    public async Task<WxReply> AddAsync(WxCall call, CancellationToken cancellationToken)
    {
        using (var document = WireJson.ParseObject(call.Body, out var problem))
        {
            if (document is null)
            {
                return WxReply.Error(WxErrors.DataFormatError, problem);
            }

            var order = document.RootElement;
            if (Check(order) is { } invalid)
            {
                return invalid;
            }

            var orderId = order.GetProperty("order_id").GetString()!;
            var deliveryText = order.GetProperty("delivery_id").GetString()!;
            var bizId = order.GetProperty("biz_id").GetString()!;
            if (await store.FindOrderAsync(call.Caller.AppId, orderId, cancellationToken) is { } existing)
            {
                return existing.Waybill.DeliveryId.Value == deliveryText
                    ? Placed(existing)
                    : WxReply.Error(WxErrors.OrderIdRepeated, $"order_id {orderId} was placed with {existing.Waybill.DeliveryId}");
            }

            if (!DeliveryId.TryParse(deliveryText, out var deliveryId) || await store.FindCarrierAsync(deliveryId, cancellationToken) is not { } carrier)
            {
                return WxReply.Error(WxErrors.DeliveryIdNotExist);
            }

            var serviceType = order.GetProperty("service").GetProperty("service_type").GetInt32();
            var offered = ServiceOffer.Parse(carrier.ServiceTypesJson).Select(o => o.ServiceType).ToList();
            if (!offered.Contains(serviceType))
            {
                return WxReply.Error(WxErrors.ServiceTypeNotExist, offered.Count == 0
                    ? $"{deliveryId} offers no service type yet"
                    : $"{deliveryId} offers service_type {string.Join(", ", offered)}");
            }

            var token = Secrets.NewToken();
            var now = time.GetUtcNow().ToUnixTimeSeconds();
            var outcome = deliveryText == SandboxDeliveryId
                ? Sandbox(token, orderId, bizId)
                : await AskCarrierAsync(carrier, new CarrierEvents.AddWaybill(carrier.AppId.Value, now, token, orderId, bizId, call.Caller.AppId.Value, order), cancellationToken);
            if (outcome.Failure is { } failure)
            {
                return failure;
            }

            var key = new WaybillKey(deliveryId, outcome.WaybillId);
            var openId = order.TryGetProperty("openid", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString() : null;
            var record = new OrderRecord(call.Caller.AppId, orderId, key, bizId, openId, order.GetRawText(), outcome.WaybillData ?? "", 0, now);
            if (await store.AddOrderAsync(record, new WaybillRecord(key, Secrets.Hash(token), call.Caller.AppId, orderId, openId, 0, now), cancellationToken))
            {
                return Placed(record);
            }

            // Another call placed the same order meanwhile (merchants retry), or the carrier reused a waybill id.
            return await store.FindOrderAsync(call.Caller.AppId, orderId, cancellationToken) is { } raced && raced.Waybill.DeliveryId == deliveryId
                ? Placed(raced)
                : DeliveryFailure(-1, $"the carrier's waybill id {outcome.WaybillId} is already used by another order");
        }
    }

    /// <summary>testUpdateOrder: an event on a TEST order, exactly as if its carrier had called updatePath.</summary>
    public async Task<WxReply> TestUpdateAsync(WxCall call, CancellationToken cancellationToken)
    {
        string? S(JsonElement root, string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        string? bizId, orderId, deliveryText, waybillText;
        using (var document = WireJson.ParseObject(call.Body, out var bodyProblem))
        {
            if (document is null)
            {
                return WxReply.Error(WxErrors.DataFormatError, bodyProblem);
            }

            var root = document.RootElement;
            (bizId, orderId, deliveryText, waybillText) = (S(root, "biz_id"), S(root, "order_id"), S(root, "delivery_id"), S(root, "waybill_id"));
        }

        if (bizId != SandboxBizId || deliveryText != SandboxDeliveryId || orderId is null
            || await store.FindOrderAsync(call.Caller.AppId, orderId, cancellationToken) is not { } order
            || order.Waybill.WaybillId.Value != waybillText)
        {
            return WxReply.Error(WxErrors.OrderNotExists, $"testUpdateOrder takes orders of this merchant placed with delivery_id {SandboxDeliveryId} and biz_id {SandboxBizId}");
        }

        if (!UpdatePathRequest.TryParse(call.Body, out var request, out var problem))
        {
            return WxReply.Error(WxErrors.DataFormatError, problem);
        }

        if (updates.Validate(request) is { } invalid)
        {
            return invalid;
        }

        return updates.Answer(await commit.AppendAsync(order.Waybill, request.ToEvent(), cancellationToken: cancellationToken), order.Waybill);
    }

    static WxReply Placed(OrderRecord order) =>
        WxReply.Success(new AddOrderResponse(order.OrderId, order.Waybill.WaybillId.Value, CarrierEvents.WaybillData(order.WaybillData)));

    /// <summary>The TEST carrier answers itself: test_biz_id is accepted, any other biz_id is an unknown account.</summary>
    static (WxReply? Failure, WaybillId WaybillId, string? WaybillData) Sandbox(string token, string orderId, string bizId)
    {
        if (bizId != SandboxBizId)
        {
            return (DeliveryFailure(10001, SandboxUnknownAccount), default, null);
        }

        WaybillId.TryParse("TEST" + WaybillId.New().Value[..14], out var waybill);
        return (null, waybill, "##test_key##test_value##");
    }

    async Task<(WxReply? Failure, WaybillId WaybillId, string? WaybillData)> AskCarrierAsync(AppRecord carrier, CarrierEvents.AddWaybill message, CancellationToken cancellationToken)
    {
        if (carrier.Push is not { } target)
        {
            return (DeliveryFailure(-1, $"{carrier.DeliveryId} has no message server to push add_waybill to"), default, null);
        }

        var isJson = target.Format == PushFormat.Json;
        var (body, failure) = await ExchangeAsync(target, isJson ? CarrierEvents.Json(message) : CarrierEvents.Xml(message), message.CreateTime, cancellationToken);
        if (failure is not null)
        {
            return (failure, default, null);
        }

        var reply = CarrierEvents.ParseReply(body, isJson);
        if (reply is null || reply.ResultCode is null)
        {
            return (DeliveryFailure(-1, $"the carrier's reply is not a valid add_waybill reply in {(isJson ? "JSON" : "XML")} with a ResultCode"), default, null);
        }

        if (reply.Token != message.Token || reply.OrderId != message.OrderId || reply.BizId != message.BizId)
        {
            return (DeliveryFailure(-1, "the carrier's reply does not echo Token, OrderID and BizID"), default, null);
        }

        if (reply.ResultCode != 0)
        {
            return (DeliveryFailure(reply.ResultCode.Value, reply.ResultMsg ?? ""), default, null);
        }

        return WaybillId.TryParse(reply.WaybillId, out var waybill) && reply.WaybillId != "0"
            ? (null, waybill, reply.WaybillData)
            : (DeliveryFailure(-1, "the carrier accepted the order but gave no valid WayBillID"), default, null);
    }

    /// <summary>
    /// The carrier of a merchant's account that getQuota or bindAccount names, once their fields passed their limits:
    /// 40097 for a biz_id holding control characters, 9300503 for a delivery_id that is no carrier of this server.
    /// </summary>
    internal async Task<(AppRecord? Carrier, DeliveryId DeliveryId, WxReply? Error)> AccountCarrierAsync(
        string deliveryText, string bizId, CancellationToken cancellationToken)
    {
        if (bizId.Any(char.IsControl))
        {
            return (null, default, WxReply.Error(WxErrors.InvalidArgs, "biz_id must not hold control characters"));
        }

        return DeliveryId.TryParse(deliveryText, out var deliveryId) && await store.FindCarrierAsync(deliveryId, cancellationToken) is { } carrier
            ? (carrier, deliveryId, null)
            : (null, default, WxReply.Error(WxErrors.DeliveryIdNotExist));
    }

    /// <summary>
    /// Asks a carrier about a merchant's account (check_biz, get_quota): pushes <paramref name="message"/> and reads a
    /// reply that echoes its BizID with a ResultCode; or the 9300501 to answer when there is no such reply.
    /// </summary>
    internal async Task<(CarrierEvents.Reply? Reply, WxReply? Failure)> AskAboutAccountAsync(AppRecord carrier, JsonObject message, long now, CancellationToken cancellationToken)
    {
        var name = (string)message["Event"]!;
        if (carrier.Push is not { } target)
        {
            return (null, DeliveryFailure(-1, $"{carrier.DeliveryId} has no message server to push {name} to"));
        }

        var isJson = target.Format == PushFormat.Json;
        var (body, failure) = await ExchangeAsync(target, CarrierEvents.Serialize(message, isJson), now, cancellationToken);
        if (failure is not null)
        {
            return (null, failure);
        }

        var reply = CarrierEvents.ParseReply(body, isJson);
        return reply?.ResultCode is null || reply.BizId != (string)message["BizID"]!
            ? (null, DeliveryFailure(-1, $"the carrier's reply is not a {name} reply in {(isJson ? "JSON" : "XML")} echoing BizID, with a ResultCode"))
            : (reply, null);
    }

    /// <summary>Pushes an event to a carrier's message server and reads its answer, or the failure to say why not.</summary>
    internal async Task<(string Body, WxReply? Failure)> ExchangeAsync(PushTarget target, byte[] message, long timestamp, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(CarrierTimeout);
            var answer = await MessagePush.PostAsync(httpClients.CreateClient(HttpClientName), target, message, timestamp, MaxCarrierAnswerBytes, timeout.Token);
            return answer.Status != 200 ? ("", DeliveryFailure(-1, $"the carrier answered HTTP {answer.Status}"))
                : answer.Text is { } body ? (body, null)
                : ("", DeliveryFailure(-1, $"the carrier answered {answer.Problem}"));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ("", DeliveryFailure(-1, $"the carrier did not answer within {CarrierTimeout.TotalSeconds:0} s"));
        }
        catch (HttpRequestException e)
        {
            return ("", DeliveryFailure(-1, $"the carrier could not be reached: {e.Message}"));
        }
    }

    internal static WxReply DeliveryFailure(int resultCode, string resultMessage) =>
        WxReply.Error(WxErrors.DeliveryLogicFail, null, new Dictionary<string, object?>
        {
            ["delivery_resultcode"] = resultCode,
            ["delivery_resultmsg"] = resultMessage,
            ["waybill_data"] = Array.Empty<WaybillDataItem>(),
        });


    /// <summary>WeChat's documented fields and byte limits (9300526), required fields (40097), shop fields (9300535).</summary>
    static WxReply? Check(JsonElement order)
    {
        if (order.ValueKind != JsonValueKind.Object)
        {
            return WxReply.Error(WxErrors.DataFormatError, "the body must be a JSON object");
        }

        foreach (var (name, max) in new[] { ("order_id", 512), ("delivery_id", 32), ("biz_id", 64) })
        {
            if (Limit(order, name, max, required: true, name) is { } problem)
            {
                return problem;
            }
        }

        // Identifiers the order is found by, kept as given: a control character (U+0000 among them, which PostgreSQL's
        // text cannot hold) is no part of one.
        foreach (var name in (ReadOnlySpan<string>)["order_id", "biz_id", "openid"])
        {
            if (Str(order, name) is { } id && id.Any(char.IsControl))
            {
                return WxReply.Error(WxErrors.InvalidArgs, $"{name} must not hold control characters");
            }
        }

        if (Limit(order, "custom_remark", 1024, required: false, "custom_remark") is { } remark)
        {
            return remark;
        }

        var addSource = !order.TryGetProperty("add_source", out var source) || source.ValueKind == JsonValueKind.Null ? 0
            : source.ValueKind == JsonValueKind.Number && source.TryGetInt32(out var given) ? given : -1;
        if (addSource is not (0 or 2))
        {
            return WxReply.Error(WxErrors.InvalidArgs, "add_source must be 0 (mini program) or 2 (App/H5)");
        }

        if (addSource == 0 && Limit(order, "openid", 128, required: true, "openid (required when add_source is 0)") is { } openid)
        {
            return openid;
        }

        foreach (var party in new[] { "sender", "receiver" })
        {
            if (!order.TryGetProperty(party, out var p) || p.ValueKind != JsonValueKind.Object)
            {
                return WxReply.Error(WxErrors.InvalidArgs, $"{party} is required");
            }

            foreach (var (name, max, required) in PartyFields)
            {
                if (Limit(p, name, max, required, $"{party}.{name}") is { } problem)
                {
                    return problem;
                }
            }

            if (string.IsNullOrEmpty(Str(p, "tel")) && string.IsNullOrEmpty(Str(p, "mobile")))
            {
                return WxReply.Error(WxErrors.InvalidArgs, $"{party} needs tel or mobile");
            }
        }

        if (!order.TryGetProperty("cargo", out var cargo) || cargo.ValueKind != JsonValueKind.Object)
        {
            return WxReply.Error(WxErrors.InvalidArgs, "cargo is required");
        }

        if (cargo.TryGetProperty("detail_list", out var details) && details.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in details.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object)
                {
                    return WxReply.Error(WxErrors.DataFormatError, "cargo.detail_list must hold objects {name, count}");
                }

                if ((Limit(item, "name", 128, required: false, "cargo.detail_list.name") ?? NumberProblem(item, "count", whole: true, "cargo.detail_list.count")) is { } problem)
                {
                    return problem;
                }
            }
        }

        foreach (var (name, whole) in CargoNumbers)
        {
            if (NumberProblem(cargo, name, whole, $"cargo.{name}") is { } problem)
            {
                return problem;
            }
        }

        if (order.TryGetProperty("insured", out var insured) && insured.ValueKind == JsonValueKind.Object)
        {
            if (NumberProblem(insured, "insured_value", whole: true, "insured.insured_value") is { } problem)
            {
                return problem;
            }

            if (insured.TryGetProperty("use_insured", out var use) && use.ValueKind != JsonValueKind.Null
                && !(use.ValueKind == JsonValueKind.Number && use.TryGetInt32(out var flag) && flag is 0 or 1))
            {
                return WxReply.Error(WxErrors.InvalidArgs, "insured.use_insured must be 0 or 1");
            }
        }

        if (!order.TryGetProperty("shop", out var shop) || shop.ValueKind != JsonValueKind.Object
            || string.IsNullOrWhiteSpace(Str(shop, "goods_name"))
            || !Uri.TryCreate(Str(shop, "img_url"), UriKind.Absolute, out _)
            || !(shop.TryGetProperty("goods_count", out var count) && count.ValueKind == JsonValueKind.Number && count.GetDouble() >= 1))
        {
            return WxReply.Error(WxErrors.InvalidShopArgs, "shop needs goods_name, an absolute img_url and goods_count of at least 1");
        }

        if (!order.TryGetProperty("service", out var service) || service.ValueKind != JsonValueKind.Object
            || !service.TryGetProperty("service_type", out var type) || type.ValueKind != JsonValueKind.Number || !type.TryGetInt32(out _))
        {
            return WxReply.Error(WxErrors.InvalidArgs, "service.service_type is required");
        }

        return null;
    }

    /// <summary>The numbers of cargo sent on to the carrier, and whether each must be whole.</summary>
    static readonly (string Name, bool Whole)[] CargoNumbers = [("count", true), ("weight", false), ("space_x", false), ("space_y", false), ("space_z", false)];

    /// <summary>
    /// An optional number the carrier is sent (a count, a weight in kg, a size in cm, a value in 分): none negative, and
    /// counts and money whole. WeChat documents no ranges; these are ours. A number past what the push can carry (a
    /// decimal, 7.9e28) is refused as too large, where it used to end the call with a system error.
    /// </summary>
    static WxReply? NumberProblem(JsonElement element, string name, bool whole, string label)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            return WxReply.Error(WxErrors.DataFormatError, $"{label} must be a number");
        }

        if (!value.TryGetDecimal(out var number))
        {
            return WxReply.Error(WxErrors.InvalidArgs, $"{label} {value.GetRawText()} is too large");
        }

        return number < 0 || (whole && number != decimal.Truncate(number))
            ? WxReply.Error(WxErrors.InvalidArgs, whole ? $"{label} must be a whole number, not negative" : $"{label} must not be negative")
            : null;
    }

    static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    internal static WxReply? Limit(JsonElement element, string name, int maxBytes, bool required, string label)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return required ? WxReply.Error(WxErrors.InvalidArgs, $"{label} is required") : null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return WxReply.Error(WxErrors.DataFormatError, $"{label} must be a string");
        }

        var bytes = Encoding.UTF8.GetByteCount(value.GetString()!);
        if (required && bytes == 0)
        {
            return WxReply.Error(WxErrors.InvalidArgs, $"{label} is required");
        }

        return bytes > maxBytes ? WxReply.Error(WxErrors.ArgSizeExceedLimit, $"{label} is {bytes} bytes; the limit is {maxBytes}") : null;
    }
}

public sealed record AddOrderResponse(string OrderId, string WaybillId, IReadOnlyList<WaybillDataItem> WaybillData);
