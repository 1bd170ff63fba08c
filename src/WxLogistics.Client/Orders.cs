using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using static WxLogistics.Client.ApiConnection;

namespace WxLogistics.Client;

/// <summary>An order for addOrder (生成运单): who sends what to whom, with which carrier.</summary>
public sealed class OrderRequest
{
    /// <summary>The merchant's order id (at most 512 bytes, unique for the merchant). A repeat returns the same waybill.</summary>
    public required string OrderId { get; init; }

    /// <summary>The buyer's openid (not needed with <see cref="AddSource"/> 2).</summary>
    [JsonPropertyName("openid")]
    public string? OpenId { get; init; }

    /// <summary>The carrier.</summary>
    public required DeliveryId DeliveryId { get; init; }

    /// <summary>The merchant's account with the carrier (test_biz_id for the TEST carrier).</summary>
    public required string BizId { get; init; }

    /// <summary>0: a mini program order (the default); 2: an App or H5 order (then <see cref="WxAppId"/> is needed).</summary>
    public int AddSource { get; init; }

    /// <summary>The mini program's AppID, with <see cref="AddSource"/> 2.</summary>
    [JsonPropertyName("wx_appid")]
    public string? WxAppId { get; init; }

    /// <summary>Printed on the label (at most 1024 bytes).</summary>
    public string? CustomRemark { get; init; }

    /// <summary>The printer's tag.</summary>
    [JsonPropertyName("tagid")]
    public long? TagId { get; init; }

    /// <summary>Who sends.</summary>
    public required OrderParty Sender { get; init; }

    /// <summary>Who receives.</summary>
    public required OrderParty Receiver { get; init; }

    /// <summary>What is sent.</summary>
    public required OrderCargo Cargo { get; init; }

    /// <summary>The goods, as the buyer's service notification shows them (needed with <see cref="AddSource"/> 0).</summary>
    public OrderShop? Shop { get; init; }

    /// <summary>Insurance, when wanted.</summary>
    public OrderInsurance? Insured { get; init; }

    /// <summary>The carrier's service type (getAllDelivery lists each carrier's).</summary>
    public required OrderService Service { get; init; }

    /// <summary>The expected pick-up time (Unix seconds are sent).</summary>
    [JsonIgnore]
    public DateTimeOffset? ExpectTime { get; init; }
}

/// <summary>A sender or receiver: tel or mobile is required.</summary>
public sealed class OrderParty
{
    /// <summary>The name (at most 64 bytes).</summary>
    public required string Name { get; init; }

    /// <summary>A landline number.</summary>
    public string? Tel { get; init; }

    /// <summary>A mobile number.</summary>
    public string? Mobile { get; init; }

    /// <summary>The company.</summary>
    public string? Company { get; init; }

    /// <summary>The post code.</summary>
    public string? PostCode { get; init; }

    /// <summary>The country (中国 when left out).</summary>
    public string? Country { get; init; }

    /// <summary>The province.</summary>
    public required string Province { get; init; }

    /// <summary>The city.</summary>
    public required string City { get; init; }

    /// <summary>The district.</summary>
    public required string Area { get; init; }

    /// <summary>The street address (at most 512 bytes).</summary>
    public required string Address { get; init; }
}

/// <summary>The parcel.</summary>
public sealed class OrderCargo
{
    /// <summary>How many packages.</summary>
    public int Count { get; init; } = 1;

    /// <summary>Weight in kg.</summary>
    public double Weight { get; init; }

    /// <summary>Length in cm.</summary>
    [JsonPropertyName("space_x")]
    public double SpaceX { get; init; }

    /// <summary>Width in cm.</summary>
    [JsonPropertyName("space_y")]
    public double SpaceY { get; init; }

    /// <summary>Height in cm.</summary>
    [JsonPropertyName("space_z")]
    public double SpaceZ { get; init; }

    /// <summary>The items.</summary>
    public IReadOnlyList<CargoItem> DetailList { get; init; } = [];
}

/// <summary>One kind of item in the parcel.</summary>
/// <param name="Name">What it is (at most 128 bytes).</param>
/// <param name="Count">How many.</param>
public sealed record CargoItem(string Name, int Count);

/// <summary>The goods of the order, for the buyer's notification.</summary>
public sealed class OrderShop
{
    /// <summary>The mini program page of the order.</summary>
    public string? WxaPath { get; init; }

    /// <summary>An absolute URL of the goods' picture.</summary>
    public required string ImgUrl { get; init; }

    /// <summary>The goods' name.</summary>
    public required string GoodsName { get; init; }

    /// <summary>How many goods.</summary>
    public int GoodsCount { get; init; } = 1;
}

/// <summary>Insurance of the parcel.</summary>
/// <param name="UseInsured">1 to insure, 0 not to.</param>
/// <param name="InsuredValue">The insured value in fen (分).</param>
public sealed record OrderInsurance(int UseInsured, long InsuredValue);

/// <summary>A carrier's service type.</summary>
/// <param name="ServiceType">Its number.</param>
/// <param name="ServiceName">Its name, such as 标准快递.</param>
public sealed record OrderService(int ServiceType, string ServiceName);

/// <summary>A key and value of the carrier's label data (集包地, 三段码 …).</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">The value.</param>
public sealed record WaybillDataItem(string Key, string Value);

/// <summary>What addOrder answers: the waybill the carrier assigned.</summary>
/// <param name="OrderId">The merchant's order id.</param>
/// <param name="WaybillId">The waybill.</param>
/// <param name="WaybillData">The carrier's label data.</param>
public sealed record PlacedOrder(string OrderId, WaybillId WaybillId, IReadOnlyList<WaybillDataItem> WaybillData);

/// <summary>What getOrder answers.</summary>
/// <param name="OrderId">The merchant's order id.</param>
/// <param name="DeliveryId">The carrier.</param>
/// <param name="WaybillId">The waybill.</param>
/// <param name="IsCancelled">Whether the order was cancelled (order_status 1).</param>
/// <param name="PrintHtml">The label as Base64 HTML (empty from a WxLogistics server, which renders no labels).</param>
/// <param name="WaybillData">The carrier's label data.</param>
public sealed record OrderInfo(string OrderId, DeliveryId DeliveryId, WaybillId WaybillId, bool IsCancelled, string PrintHtml, IReadOnlyList<WaybillDataItem> WaybillData);

/// <summary>An account bound with a carrier, as getAllAccount lists it.</summary>
/// <param name="BizId">The account.</param>
/// <param name="DeliveryId">The carrier.</param>
/// <param name="StatusCode">Its status (0: bound).</param>
/// <param name="CreateTime">When it was bound.</param>
/// <param name="RemarkContent">What was sent with it.</param>
/// <param name="ServiceTypes">The carrier's service types.</param>
/// <param name="Quota">The labels it had left when getQuota last asked its carrier; null when it never did.</param>
/// <param name="QuotaTime">When that was.</param>
public sealed record BoundAccount(
    string BizId, DeliveryId DeliveryId, int StatusCode, DateTimeOffset CreateTime, string RemarkContent, IReadOnlyList<OrderService> ServiceTypes, long? Quota, DateTimeOffset? QuotaTime);

/// <summary>An order to read with batchGetOrder.</summary>
/// <param name="OrderId">The merchant's order id.</param>
/// <param name="DeliveryId">The carrier.</param>
/// <param name="WaybillId">The waybill.</param>
public sealed record OrderKey(string OrderId, DeliveryId DeliveryId, WaybillId WaybillId);

/// <summary>What batchGetOrder answers for one order.</summary>
/// <param name="Asked">The order asked for.</param>
/// <param name="ErrorCode">0 when it was read; otherwise why not, such as 40199 (no such order of this merchant).</param>
/// <param name="ErrorMessage">The errmsg that goes with it.</param>
/// <param name="Order">The order, when it was read.</param>
public sealed record BatchOrderResult(OrderKey Asked, int ErrorCode, string ErrorMessage, OrderInfo? Order);

/// <summary>A carrier as getAllDelivery lists it.</summary>
/// <param name="DeliveryId">Its code.</param>
/// <param name="Name">Its name.</param>
/// <param name="ServiceTypes">The service types it offers.</param>
public sealed record CarrierInfo(DeliveryId DeliveryId, string Name, IReadOnlyList<OrderService> ServiceTypes);

/// <summary>A sender or receiver as getContact returns it to the carrier.</summary>
/// <param name="Name">The name.</param>
/// <param name="Tel">The landline number.</param>
/// <param name="Mobile">The mobile number.</param>
/// <param name="Address">Province, city, district and address in one string.</param>
public sealed record WaybillContact(string Name, string Tel, string Mobile, string Address);

/// <summary>addOrder failed at the carrier (errcode 9300501): the carrier's own result code and message.</summary>
public sealed class WxLogisticsDeliveryException : WxLogisticsApiException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errorCode">WeChat's errcode (9300501).</param>
    /// <param name="errorMessage">WeChat's errmsg.</param>
    /// <param name="api">The API that answered.</param>
    /// <param name="deliveryResultCode">The carrier's ResultCode, such as 10002 (客户密码不正确).</param>
    /// <param name="deliveryResultMessage">The carrier's ResultMsg.</param>
    public WxLogisticsDeliveryException(int errorCode, string errorMessage, string api, int deliveryResultCode, string deliveryResultMessage)
        : base(errorCode, errorMessage, api)
    {
        DeliveryResultCode = deliveryResultCode;
        DeliveryResultMessage = deliveryResultMessage;
    }

    /// <summary>The carrier's ResultCode (delivery_resultcode).</summary>
    public int DeliveryResultCode { get; }

    /// <summary>The carrier's ResultMsg (delivery_resultmsg).</summary>
    public string DeliveryResultMessage { get; }
}

/// <summary>The merchant's order APIs (小程序使用): addOrder, cancelOrder, getOrder, batchGetOrder, getQuota, bindAccount, getAllAccount, getAllDelivery, testUpdateOrder.</summary>
public sealed class OrdersClient
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    readonly ApiConnection api;

    internal OrdersClient(ApiConnection api) => this.api = api;

    /// <summary>Places an order with a carrier (addOrder); the carrier answers with the waybill.</summary>
    /// <param name="order">The order.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The waybill the carrier assigned.</returns>
    /// <exception cref="WxLogisticsDeliveryException">The carrier refused the order (9300501), with its own code and message.</exception>
    /// <exception cref="WxLogisticsApiException">For any other non-zero errcode, such as 9300531 (order_id used with another carrier).</exception>
    public async Task<PlacedOrder> AddAsync(OrderRequest order, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(order);
        var body = JsonSerializer.SerializeToNode(order, Json)!.AsObject();
        if (order.ExpectTime is { } expect)
        {
            body["expect_time"] = expect.ToUnixTimeSeconds();
        }

        var answer = await api.PostAsync("logistics.addOrder", "/cgi-bin/express/business/order/add", body, cancellationToken);
        return new PlacedOrder(Text(answer, "order_id"), new WaybillId(Text(answer, "waybill_id")), WaybillData(answer));
    }

    /// <summary>Cancels an order (cancelOrder); the carrier is asked first.</summary>
    /// <param name="orderId">The merchant's order id.</param>
    /// <param name="deliveryId">The carrier.</param>
    /// <param name="waybillId">The waybill.</param>
    /// <param name="openId">The buyer, when the order has one.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="WxLogisticsApiException">Such as 9300506 (the waybill already has a path) or 40199.</exception>
    public Task CancelAsync(string orderId, DeliveryId deliveryId, WaybillId waybillId, string? openId = null, CancellationToken cancellationToken = default) =>
        api.PostAsync("logistics.cancelOrder", "/cgi-bin/express/business/order/cancel", OrderFields(orderId, deliveryId, waybillId, openId), cancellationToken);

    /// <summary>Reads an order (getOrder).</summary>
    /// <param name="orderId">The merchant's order id.</param>
    /// <param name="deliveryId">The carrier.</param>
    /// <param name="waybillId">The waybill.</param>
    /// <param name="openId">The buyer, when the order has one.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The order's status and label data.</returns>
    /// <exception cref="WxLogisticsApiException">Such as 40199 (no such order of this merchant).</exception>
    public async Task<OrderInfo> GetAsync(string orderId, DeliveryId deliveryId, WaybillId waybillId, string? openId = null, CancellationToken cancellationToken = default)
    {
        var answer = await api.PostAsync("logistics.getOrder", "/cgi-bin/express/business/order/get", OrderFields(orderId, deliveryId, waybillId, openId), cancellationToken);
        return new OrderInfo(
            Text(answer, "order_id"),
            new DeliveryId(Text(answer, "delivery_id")),
            new WaybillId(Text(answer, "waybill_id")),
            answer["order_status"] is not null && ApiConnection.Number(answer, "order_status", "order_status", "logistics.getOrder") == 1,
            Text(answer, "print_html"),
            WaybillData(answer));
    }

    /// <summary>Reads up to 100 orders in one call (batchGetOrder).</summary>
    /// <param name="orders">The orders to read, 1 to 100.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One result per order asked, in the same order: the order, or the errcode that says why it was not read.</returns>
    /// <exception cref="ArgumentException">No orders, or more than 100.</exception>
    /// <exception cref="WxLogisticsApiException">For a non-zero errcode of the call as a whole.</exception>
    public async Task<IReadOnlyList<BatchOrderResult>> BatchGetAsync(IReadOnlyList<OrderKey> orders, CancellationToken cancellationToken = default)
    {
        const string Api = "logistics.batchGetOrder";
        ArgumentNullException.ThrowIfNull(orders);
        if (orders.Count is 0 or > 100)
        {
            throw new ArgumentException($"batchGetOrder reads 1 to 100 orders in a call, not {orders.Count}", nameof(orders));
        }

        var list = new JsonArray();
        foreach (var order in orders)
        {
            list.Add(new JsonObject { ["order_id"] = order.OrderId, ["delivery_id"] = order.DeliveryId.Value, ["waybill_id"] = order.WaybillId.Value });
        }

        var answer = await api.PostAsync(Api, "/cgi-bin/express/business/order/batchget", new JsonObject { ["order_list"] = list }, cancellationToken);
        if (!answer.ContainsKey("order_list"))
        {
            throw new WxLogisticsApiException(-1, "the answer has no order_list", Api);
        }

        if (answer["order_list"] is not JsonArray answered || answered.Count != orders.Count)
        {
            throw ApiConnection.Malformed(answer["order_list"], "order_list", $"a list of the {orders.Count} orders asked", Api);
        }

        var results = new List<BatchOrderResult>(orders.Count);
        for (var i = 0; i < orders.Count; i++)
        {
            var where = $"order_list[{i}]";
            if (answered[i] is not JsonObject item)
            {
                throw ApiConnection.Malformed(answered[i], where, "an object", Api);
            }

            var errcode = (int)ApiConnection.Number(item, "errcode", where + ".errcode", Api);
            results.Add(new BatchOrderResult(
                orders[i],
                errcode,
                Text(item, "errmsg"),
                errcode != 0 ? null : new OrderInfo(
                    Text(item, "order_id"),
                    new DeliveryId(Text(item, "delivery_id")),
                    new WaybillId(Text(item, "waybill_id")),
                    item["order_status"] is not null && ApiConnection.Number(item, "order_status", where + ".order_status", Api) == 1,
                    Text(item, "print_html"),
                    WaybillData(item))));
        }

        return results;
    }

    /// <summary>Asks a carrier how many labels the merchant's account has left (getQuota); the carrier answers the get_quota push.</summary>
    /// <param name="deliveryId">The carrier.</param>
    /// <param name="bizId">The merchant's account with the carrier.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The labels left (0: none).</returns>
    /// <exception cref="WxLogisticsDeliveryException">The carrier refused (9300501), with its own code, such as 10001 (no such account).</exception>
    /// <exception cref="WxLogisticsApiException">For any other non-zero errcode, such as 9300503 (unknown delivery_id).</exception>
    public async Task<long> GetQuotaAsync(DeliveryId deliveryId, string bizId, CancellationToken cancellationToken = default)
    {
        const string Api = "logistics.getQuota";
        var answer = await api.PostAsync(Api, "/cgi-bin/express/business/quota/get", new JsonObject { ["delivery_id"] = deliveryId.Value, ["biz_id"] = bizId }, cancellationToken);
        return ApiConnection.Number(answer, "quota_num", "quota_num", Api, 0, long.MaxValue);
    }

    /// <summary>Binds an account with a carrier (bindAccount); the carrier checks it with the password (check_biz).</summary>
    /// <param name="deliveryId">The carrier.</param>
    /// <param name="bizId">The account.</param>
    /// <param name="password">Its password, passed on to the carrier.</param>
    /// <param name="remarkContent">What the carrier asks for besides, such as 电话:… 联系人:….</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="WxLogisticsApiException">Such as 9300529 (bound already) or 9300531 (the carrier knows no such account or password).</exception>
    public Task BindAccountAsync(DeliveryId deliveryId, string bizId, string? password = null, string? remarkContent = null, CancellationToken cancellationToken = default) =>
        api.PostAsync(
            "logistics.bindAccount",
            "/cgi-bin/express/business/account/bind",
            new JsonObject { ["type"] = "bind", ["delivery_id"] = deliveryId.Value, ["biz_id"] = bizId, ["password"] = password, ["remark_content"] = remarkContent },
            cancellationToken);

    /// <summary>Unbinds an account (bindAccount with type unbind).</summary>
    /// <param name="deliveryId">The carrier.</param>
    /// <param name="bizId">The account.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="WxLogisticsApiException">Such as 9300530 (not bound).</exception>
    public Task UnbindAccountAsync(DeliveryId deliveryId, string bizId, CancellationToken cancellationToken = default) =>
        api.PostAsync(
            "logistics.bindAccount",
            "/cgi-bin/express/business/account/bind",
            new JsonObject { ["type"] = "unbind", ["delivery_id"] = deliveryId.Value, ["biz_id"] = bizId },
            cancellationToken);

    /// <summary>Lists the accounts bound with carriers (getAllAccount).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The accounts.</returns>
    public async Task<IReadOnlyList<BoundAccount>> GetAllAccountAsync(CancellationToken cancellationToken = default)
    {
        const string Api = "logistics.getAllAccount";
        var answer = await api.GetAsync(Api, "/cgi-bin/express/business/account/getall", cancellationToken);
        return (answer["list"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Select((a, i) => new BoundAccount(
                Text(a, "biz_id"),
                new DeliveryId(Text(a, "delivery_id")),
                (int)ApiConnection.Number(a, "status_code", $"list[{i}].status_code", Api),
                DateTimeOffset.FromUnixTimeSeconds(ApiConnection.Number(a, "create_time", $"list[{i}].create_time", Api, 0, 253_402_300_799)),
                Text(a, "remark_content"),
                ServiceTypes(a, Api),
                a["quota_num"] is null ? null : ApiConnection.Number(a, "quota_num", $"list[{i}].quota_num", Api, 0, long.MaxValue),
                a["quota_update_time"] is null ? null
                    : DateTimeOffset.FromUnixTimeSeconds(ApiConnection.Number(a, "quota_update_time", $"list[{i}].quota_update_time", Api, 0, 253_402_300_799))))
            .ToList();
    }

    /// <summary>Lists the carriers and their service types (getAllDelivery).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The carriers.</returns>
    public async Task<IReadOnlyList<CarrierInfo>> GetAllDeliveryAsync(CancellationToken cancellationToken = default)
    {
        var answer = await api.GetAsync("logistics.getAllDelivery", "/cgi-bin/express/business/delivery/getall", cancellationToken);
        return (answer["data"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Select(c => new CarrierInfo(
                new DeliveryId(Text(c, "delivery_id")),
                Text(c, "delivery_name"),
                ServiceTypes(c, "logistics.getAllDelivery")))
            .ToList();
    }

    /// <summary>Adds an event to an order placed with the TEST carrier and biz_id test_biz_id (testUpdateOrder), as its carrier would.</summary>
    /// <param name="orderId">The merchant's order id.</param>
    /// <param name="waybillId">The waybill of the TEST order.</param>
    /// <param name="actionTime">When it happened.</param>
    /// <param name="actionType">What happened.</param>
    /// <param name="actionMessage">The text of the event.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="WxLogisticsApiException">Such as 930563 (not a TEST order of this merchant).</exception>
    public Task TestUpdateAsync(string orderId, WaybillId waybillId, DateTimeOffset actionTime, ActionType actionType, string actionMessage, CancellationToken cancellationToken = default) =>
        api.PostAsync(
            "logistics.testUpdateOrder",
            "/cgi-bin/express/business/test_update_order",
            new JsonObject
            {
                ["biz_id"] = "test_biz_id",
                ["order_id"] = orderId,
                ["delivery_id"] = "TEST",
                ["waybill_id"] = waybillId.Value,
                ["action_time"] = actionTime.ToUnixTimeSeconds(),
                ["action_type"] = (int)actionType,
                ["action_msg"] = actionMessage,
            },
            cancellationToken);

    static JsonObject OrderFields(string orderId, DeliveryId deliveryId, WaybillId waybillId, string? openId) => new()
    {
        ["order_id"] = orderId,
        ["openid"] = openId,
        ["delivery_id"] = deliveryId.Value,
        ["waybill_id"] = waybillId.Value,
    };

    /// <summary>A carrier's service_type list, as getAllDelivery and getAllAccount give it.</summary>
    static List<OrderService> ServiceTypes(JsonObject node, string api) =>
        (node["service_type"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(s => new OrderService((int)ApiConnection.Number(s, "service_type", "service_type", api), Text(s, "service_name")))
            .ToList();

    static List<WaybillDataItem> WaybillData(JsonObject answer) =>
        (answer["waybill_data"] as JsonArray ?? []).OfType<JsonObject>().Select(i => new WaybillDataItem(Text(i, "key"), Text(i, "value"))).ToList();
}
