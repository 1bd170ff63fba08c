using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using WxLogistics.Client;
using WxLogistics.Samples.Webhooks;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Sdk;

/// <summary>
/// The SDK's order APIs and event helpers end to end: a merchant orders through the SDK, the server pushes add_waybill
/// to the sample carrier webhook, the carrier updates the path through the SDK, and the server pushes add_express_path
/// to the sample merchant webhook.
/// </summary>
public sealed class SampleWebhookTests : IAsyncLifetime
{
    const string CarrierPushToken = "CarrierToken1";
    const string MerchantPushToken = "MerchantToken1";

    readonly WxServer server = new();
    readonly int port = PushReceiver.FreePort();
    readonly CarrierDesk desk = new(["shop-account"], "SF");
    readonly MerchantInbox inbox = new();
    WebApplication? webhooks;
    App carrier = new("", "");
    App merchant = new("", "");

    string BaseUrl => $"http://127.0.0.1:{port}";

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(BaseUrl);
        webhooks = builder.Build();
        webhooks.MapCarrierWebhook("/wx/carrier", CarrierPushToken, desk);
        webhooks.MapMerchantWebhook("/wx/merchant", MerchantPushToken, inbox);
        await webhooks.StartAsync();

        carrier = await server.AddCarrierAsync("SF");
        merchant = await server.AddMerchantAsync();
        await server.OperatorAsync("app", "services", "--appid", carrier.AppId, "--service-types", "1:标准快递");
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        if (webhooks is not null)
        {
            await webhooks.DisposeAsync();
        }
    }

    async Task UseFormatAsync(string format)
    {
        await server.OperatorAsync("app", "set", "--appid", carrier.AppId, "--push-url", $"{BaseUrl}/wx/carrier", "--push-token", CarrierPushToken, "--format", format);
        await server.OperatorAsync("app", "set", "--appid", merchant.AppId, "--push-url", $"{BaseUrl}/wx/merchant", "--push-token", MerchantPushToken, "--format", format);
    }

    WxLogisticsClient ClientFor(App app) => new(
        new WxLogisticsClientOptions { AppId = app.AppId, AppSecret = app.Secret, BaseAddress = server.Server.BaseAddress },
        server.CreateClient());

    static OrderRequest Order(string orderId, string bizId = "shop-account", string receiverAddress = "天河路 385 号", string deliveryId = "SF") => new()
    {
        OrderId = orderId,
        OpenId = "buyer-openid",
        DeliveryId = new DeliveryId(deliveryId),
        BizId = bizId,
        Sender = new OrderParty { Name = "张三", Mobile = "13800000000", Province = "广东省", City = "深圳市", Area = "南山区", Address = "科技园 1 号" },
        Receiver = new OrderParty { Name = "李四", Mobile = "13900000000", Province = "广东省", City = "广州市", Area = "天河区", Address = receiverAddress },
        Cargo = new OrderCargo { Count = 1, Weight = 1.2, SpaceX = 20, SpaceY = 15, SpaceZ = 10, DetailList = [new CargoItem("书", 2)] },
        Shop = new OrderShop { ImgUrl = "https://shop.example.com/book.png", GoodsName = "书", GoodsCount = 2 },
        Insured = new OrderInsurance(1, 10000),
        Service = new OrderService(1, "标准快递"),
    };

    [Theory]
    [InlineData("xml")]
    [InlineData("json")]
    public async Task A_merchant_orders_the_carrier_s_webhook_takes_it_and_the_merchant_s_webhook_gets_the_path(string format)
    {
        await UseFormatAsync(format);
        using var merchantClient = ClientFor(merchant);
        using var carrierClient = ClientFor(carrier);

        var carriers = await merchantClient.Orders.GetAllDeliveryAsync();
        Assert.Contains(carriers, c => c.DeliveryId.Value == "SF" && c.ServiceTypes.Contains(new OrderService(1, "标准快递")));

        var placed = await merchantClient.Orders.AddAsync(Order("order-1"));
        var again = await merchantClient.Orders.AddAsync(Order("order-1"));

        Assert.Matches("^SF[0-9]{10}$", placed.WaybillId.Value);
        Assert.Equal(placed.WaybillId, again.WaybillId);
        Assert.Contains(new WaybillDataItem("bagAddr", "广州市"), placed.WaybillData);
        var taken = Assert.Single(desk.Orders);
        Assert.Equal(format == "json" ? EventFormat.Json : EventFormat.Xml, taken.Order.Format);
        Assert.Equal(merchant.AppId, taken.Order.ShopAppId);
        Assert.Equal("李四", taken.Order.Receiver.Name);
        Assert.Equal(2, taken.Order.Cargo.DetailList[0].Count);
        Assert.Equal(new OrderService(1, "标准快递"), taken.Order.Service);

        var (_, receiver) = await carrierClient.DeliveryPath.GetContactAsync(taken.Order.Token, placed.WaybillId);
        Assert.Equal("李四", receiver.Name);
        Assert.Contains("天河路 385 号", receiver.Address);

        await carrierClient.DeliveryPath.UpdateAsync(new PathUpdate(taken.Order.Token, placed.WaybillId, DateTimeOffset.FromUnixTimeSeconds(1_764_000_000), ActionType.PickedUp, "揽件成功"));
        await Eventually.TrueAsync(() => inbox.Latest("SF", placed.WaybillId.Value) is not null, "the merchant's webhook got the path");
        var pushed = inbox.Latest("SF", placed.WaybillId.Value)!;
        Assert.Equal(1, pushed.Version);
        Assert.Equal("order-1", pushed.OrderId);
        Assert.Equal([(ActionType.PickedUp, "揽件成功")], pushed.Actions.Select(a => (a.ActionType, a.ActionMessage)));

        var info = await merchantClient.Orders.GetAsync("order-1", new DeliveryId("SF"), placed.WaybillId, "buyer-openid");
        Assert.False(info.IsCancelled);
        var refused = await Assert.ThrowsAsync<WxLogisticsApiException>(() => merchantClient.Orders.CancelAsync("order-1", new DeliveryId("SF"), placed.WaybillId, "buyer-openid"));
        Assert.Equal(9300506, refused.ErrorCode);
    }

    [Fact]
    public async Task An_order_the_carrier_refuses_throws_with_the_carrier_s_result_code()
    {
        await UseFormatAsync("xml");
        using var merchantClient = ClientFor(merchant);

        var unknownAccount = await Assert.ThrowsAsync<WxLogisticsDeliveryException>(() => merchantClient.Orders.AddAsync(Order("order-2", bizId: "stranger")));
        var noAddress = await Assert.ThrowsAsync<WxLogisticsDeliveryException>(() => merchantClient.Orders.AddAsync(Order("order-3", receiverAddress: " ")));

        Assert.Equal((9300501, 10001, "客户编码不存在"), (unknownAccount.ErrorCode, unknownAccount.DeliveryResultCode, unknownAccount.DeliveryResultMessage));
        Assert.Equal(20004, noAddress.DeliveryResultCode);
        Assert.Empty(desk.Orders);
    }

    [Fact]
    public async Task A_cancelled_order_reads_as_cancelled()
    {
        await UseFormatAsync("json");
        using var merchantClient = ClientFor(merchant);
        var placed = await merchantClient.Orders.AddAsync(Order("order-4"));

        await merchantClient.Orders.CancelAsync("order-4", new DeliveryId("SF"), placed.WaybillId, "buyer-openid");

        Assert.True((await merchantClient.Orders.GetAsync("order-4", new DeliveryId("SF"), placed.WaybillId, "buyer-openid")).IsCancelled);
        Assert.Empty(desk.Orders);
    }

    [Fact]
    public async Task A_merchant_tries_the_test_sandbox_through_the_sdk()
    {
        using var merchantClient = ClientFor(merchant);
        var placed = await merchantClient.Orders.AddAsync(Order("order-test", bizId: "test_biz_id", deliveryId: "TEST"));

        await merchantClient.Orders.TestUpdateAsync("order-test", placed.WaybillId, DateTimeOffset.FromUnixTimeSeconds(1_764_000_000), ActionType.OutForDelivery, "派件中");
        var notTest = await Assert.ThrowsAsync<WxLogisticsApiException>(() =>
            merchantClient.Orders.TestUpdateAsync("order-test", new WaybillId("OTHER"), DateTimeOffset.FromUnixTimeSeconds(1_764_000_000), ActionType.Delivered, "签收"));

        var path = await merchantClient.BusinessPath.GetAsync(new DeliveryId("TEST"), placed.WaybillId, openId: "buyer-openid");
        Assert.Equal([(ActionType.OutForDelivery, "派件中")], path.Items.Select(i => (i.ActionType, i.ActionMessage)));
        Assert.Equal(930563, notTest.ErrorCode);
        Assert.Empty(desk.Orders);
    }

    [Fact]
    public async Task A_merchant_reads_its_orders_in_one_call_through_the_sdk_each_with_its_own_outcome()
    {
        using var merchantClient = ClientFor(merchant);
        var first = await merchantClient.Orders.AddAsync(Order("order-b1", bizId: "test_biz_id", deliveryId: "TEST"));
        var second = await merchantClient.Orders.AddAsync(Order("order-b2", bizId: "test_biz_id", deliveryId: "TEST"));
        await merchantClient.Orders.CancelAsync("order-b2", new DeliveryId("TEST"), second.WaybillId, "buyer-openid");
        var unknown = new OrderKey("order-b9", new DeliveryId("TEST"), new WaybillId("0"));

        var results = await merchantClient.Orders.BatchGetAsync(
            [new OrderKey("order-b2", new DeliveryId("TEST"), second.WaybillId), unknown, new OrderKey("order-b1", new DeliveryId("TEST"), first.WaybillId)]);

        Assert.Equal(["order-b2", "order-b9", "order-b1"], results.Select(r => r.Asked.OrderId));
        Assert.True(results[0].Order is { IsCancelled: true } cancelled && cancelled.WaybillId == second.WaybillId);
        Assert.Equal((40199, "waybill_id not found", null), (results[1].ErrorCode, results[1].ErrorMessage, results[1].Order));
        Assert.True(results[2].Order is { IsCancelled: false } open && open.WaybillId == first.WaybillId && open.OrderId == "order-b1");
        await Assert.ThrowsAsync<ArgumentException>(() => merchantClient.Orders.BatchGetAsync(Enumerable.Repeat(unknown, 101).ToList()));
    }

    [Theory]
    [InlineData("xml")]
    [InlineData("json")]
    public async Task A_merchant_asks_for_its_balance_through_the_sdk_and_the_sample_carrier_answers_get_quota(string format)
    {
        await UseFormatAsync(format);
        using var merchantClient = ClientFor(merchant);

        Assert.Equal(1000, await merchantClient.Orders.GetQuotaAsync(new DeliveryId("SF"), "shop-account"));
        await merchantClient.Orders.AddAsync(Order("order-q1"));
        Assert.Equal(999, await merchantClient.Orders.GetQuotaAsync(new DeliveryId("SF"), "shop-account"));

        var unknown = await Assert.ThrowsAsync<WxLogisticsDeliveryException>(() => merchantClient.Orders.GetQuotaAsync(new DeliveryId("SF"), "other-account"));
        Assert.Equal((9300501, 10001, "客户编码不存在"), (unknown.ErrorCode, unknown.DeliveryResultCode, unknown.DeliveryResultMessage));
        Assert.Equal(10_000, await merchantClient.Orders.GetQuotaAsync(new DeliveryId("TEST"), "test_biz_id"));
    }

    [Theory]
    [InlineData("json")]
    [InlineData("xml")]
    public async Task A_merchant_binds_an_account_through_the_sdk_that_the_sample_carrier_checks_and_lists_and_unbinds_it(string format)
    {
        await UseFormatAsync(format);
        using var merchantClient = ClientFor(merchant);

        await merchantClient.Orders.BindAccountAsync(new DeliveryId("SF"), "shop-account", "secret-7", "联系人:张三");
        var refused = await Assert.ThrowsAsync<WxLogisticsApiException>(() => merchantClient.Orders.BindAccountAsync(new DeliveryId("SF"), "other-account", "x"));

        var account = Assert.Single(await merchantClient.Orders.GetAllAccountAsync());
        Assert.Equal(("shop-account", "SF", 0, "联系人:张三", "标准快递"), (account.BizId, account.DeliveryId.Value, account.StatusCode, account.RemarkContent, account.ServiceTypes[0].ServiceName));
        Assert.Null(account.Quota);
        await merchantClient.Orders.GetQuotaAsync(new DeliveryId("SF"), "shop-account");
        account = Assert.Single(await merchantClient.Orders.GetAllAccountAsync());
        Assert.Equal(1000, account.Quota);
        Assert.NotNull(account.QuotaTime);
        Assert.Equal((9300531, "logistics.bindAccount"), (refused.ErrorCode, refused.Api));
        Assert.Contains("10001", refused.ErrorMessage);
        await merchantClient.Orders.UnbindAccountAsync(new DeliveryId("SF"), "shop-account");
        Assert.Empty(await merchantClient.Orders.GetAllAccountAsync());
        Assert.Equal(9300530, (await Assert.ThrowsAsync<WxLogisticsApiException>(() => merchantClient.Orders.UnbindAccountAsync(new DeliveryId("SF"), "shop-account"))).ErrorCode);
    }

    [Fact]
    public async Task A_push_with_a_wrong_signature_is_refused_by_the_sample_webhook()
    {
        using var http = new HttpClient();
        using var content = new StringContent("<xml><Event><![CDATA[add_express_path]]></Event></xml>");

        var response = await http.PostAsync($"{BaseUrl}/wx/merchant?signature=00&timestamp={DateTimeOffset.UtcNow.ToUnixTimeSeconds()}&nonce=1", content);

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/wx/merchant", "<xml><Event><![CDATA[add_express_path]]></Event><DeliveryID>")]
    [InlineData("/wx/merchant", "{\"Event\":\"add_express_path\",\"Version\":\"one\"}")]
    [InlineData("/wx/carrier", "<xml><Event><![CDATA[add_waybill]]></Event></xml>")]
    [InlineData("/wx/carrier", "not an event")]
    public async Task A_signed_push_that_is_not_an_event_is_answered_400_with_the_reason_not_500(string path, string body)
    {
        using var http = new HttpClient();
        using var content = new StringContent(body);
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var token = path == "/wx/merchant" ? MerchantPushToken : CarrierPushToken;
        var signature = WxLogistics.Push.MessagePush.Signature(token, timestamp, "42");

        var response = await http.PostAsync($"{BaseUrl}{path}?signature={signature}&timestamp={timestamp}&nonce=42", content);

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotEmpty(await response.Content.ReadAsStringAsync());
    }
}
