using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using WxLogistics.Tests.Infrastructure;
using static WxLogistics.Tests.Infrastructure.OrderBodies;

namespace WxLogistics.Tests.Orders;

/// <summary>addOrder hands the carrier its token through add_waybill; the carrier then updates the path with it.</summary>
public abstract class OrderTests(StoreKind storeKind) : IAsyncLifetime
{
    const string CarrierPushToken = "carrierToken7";

    readonly WxServer server = new(storeKind);
    readonly PushReceiver carrierServer = new();
    App merchant = new("", "");
    string merchantToken = "";

    public async Task InitializeAsync()
    {
        await carrierServer.StartAsync();
        merchant = await server.AddMerchantAsync();
        merchantToken = await server.AccessTokenAsync(merchant);
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        await carrierServer.DisposeAsync();
    }

    async Task<App> CarrierAsync(string format, string deliveryId = "SF")
    {
        var json = await server.OperatorAsync(
            "app", "add", "--role", "carrier", "--delivery-id", deliveryId, "--name", "顺丰速运", "--push-url", carrierServer.Url, "--push-token", CarrierPushToken, "--format", format);
        var carrier = new App(json.GetProperty("appid").GetString()!, json.GetProperty("secret").GetString()!);
        await server.OperatorAsync("app", "services", "--appid", carrier.AppId, "--service-types", "1:标准快递,2:次日达");
        return carrier;
    }

    Task<JsonElement> AddOrderAsync(object order) => server.PostJsonAsync($"/cgi-bin/express/business/order/add?access_token={merchantToken}", order);

    /// <summary>A carrier that accepts every order and gives it a waybill number, answering in its own format.</summary>
    static (int, string) Accept(ReceivedPush push, string waybillId, int resultCode = 0, string resultMsg = "成功")
    {
        if (push.ContentType.StartsWith("application/json", StringComparison.Ordinal))
        {
            var e = JsonDocument.Parse(push.Body).RootElement;
            return (200, JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["ToUserName"] = e.GetProperty("FromUserName").GetString()!,
                ["FromUserName"] = e.GetProperty("ToUserName").GetString()!,
                ["CreateTime"] = 1,
                ["MsgType"] = "event",
                ["Event"] = "add_waybill",
                ["Token"] = e.GetProperty("Token").GetString()!,
                ["OrderID"] = e.GetProperty("OrderID").GetString()!,
                ["BizID"] = e.GetProperty("BizID").GetString()!,
                ["WayBillID"] = waybillId,
                ["ResultCode"] = resultCode,
                ["ResultMsg"] = resultMsg,
                ["WaybillData"] = "##ZTO_bagAddr##广州##ZTO_mark##888-666-666##",
            }));
        }

        var x = XDocument.Parse(push.Body).Root!;
        return (200, $"<xml><ToUserName><![CDATA[{x.Element("FromUserName")!.Value}]]></ToUserName><FromUserName><![CDATA[{x.Element("ToUserName")!.Value}]]></FromUserName>" +
            $"<CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[add_waybill]]></Event><Token>{x.Element("Token")!.Value}</Token>" +
            $"<OrderID>{x.Element("OrderID")!.Value}</OrderID><BizID>{x.Element("BizID")!.Value}</BizID><WayBillID>{waybillId}</WayBillID>" +
            $"<ResultCode>{resultCode}</ResultCode><ResultMsg>{resultMsg}</ResultMsg><WaybillData>##ZTO_bagAddr##广州##ZTO_mark##888-666-666##</WaybillData></xml>");
    }

    /// <summary>A carrier that accepts orders and answers cancel_waybill with the given result.</summary>
    static (int, string) AcceptAndCancel(ReceivedPush push, string waybillId, int cancelResult)
    {
        var e = JsonDocument.Parse(push.Body).RootElement;
        if (e.GetProperty("Event").GetString() != "cancel_waybill")
        {
            return Accept(push, waybillId);
        }

        return (200, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["ToUserName"] = e.GetProperty("FromUserName").GetString()!,
            ["FromUserName"] = e.GetProperty("ToUserName").GetString()!,
            ["CreateTime"] = 1,
            ["MsgType"] = "event",
            ["Event"] = "cancel_waybill",
            ["BizID"] = e.GetProperty("BizID").GetString()!,
            ["OrderID"] = e.GetProperty("OrderID").GetString()!,
            ["WayBillID"] = e.GetProperty("WayBillID").GetString()!,
            ["ResultCode"] = cancelResult,
            ["ResultMsg"] = cancelResult == 0 ? "取消成功" : "已经揽收，不可取消",
        }));
    }

    object OrderKey(string waybillId) => new { order_id = "order-1", openid = "openid-1", delivery_id = "SF", waybill_id = waybillId };

    [Fact]
    public async Task A_carrier_reads_the_contacts_of_its_waybill_with_the_token_it_was_pushed()
    {
        var carrier = await CarrierAsync("json");
        carrierServer.Respond = push => Accept(push, "SF7100000001");
        await AddOrderAsync(Order());
        var token = TokenIn(carrierServer.Pushes.Single());
        var carrierToken = await server.AccessTokenAsync(carrier);

        var contact = await server.PostJsonAsync($"/cgi-bin/express/delivery/contact/get?access_token={carrierToken}", new { token, waybill_id = "SF7100000001" });

        Assert.Equal("SF7100000001", contact.GetProperty("waybill_id").GetString());
        Assert.Equal("广东省广州市海珠区新港中路397号", contact.GetProperty("sender").GetProperty("address").GetString());
        Assert.Equal("张三", contact.GetProperty("sender").GetProperty("name").GetString());
        Assert.Equal("13900000000", contact.GetProperty("receiver").GetProperty("mobile").GetString());
        WxAssert.Error(9300507, await server.PostJsonAsync($"/cgi-bin/express/delivery/contact/get?access_token={carrierToken}", new { token = "WRONG", waybill_id = "SF7100000001" }));
        WxAssert.Error(40199, await server.PostJsonAsync($"/cgi-bin/express/delivery/contact/get?access_token={carrierToken}", new { token, waybill_id = "SF0" }));
    }

    [Fact]
    public async Task A_merchant_gets_its_order_and_cancels_it_when_the_carrier_agrees()
    {
        await CarrierAsync("json");
        carrierServer.Respond = push => AcceptAndCancel(push, "SF7100000002", 0);
        await AddOrderAsync(Order());

        var order = await server.PostJsonAsync($"/cgi-bin/express/business/order/get?access_token={merchantToken}", OrderKey("SF7100000002"));
        Assert.Equal(0, order.GetProperty("order_status").GetInt32());
        Assert.Equal("", order.GetProperty("print_html").GetString());
        Assert.Equal("广州", order.GetProperty("waybill_data")[0].GetProperty("value").GetString());

        WxAssert.Ok(await server.PostJsonAsync($"/cgi-bin/express/business/order/cancel?access_token={merchantToken}", OrderKey("SF7100000002")));

        Assert.Contains("cancel_waybill", carrierServer.Pushes.Last().Body);
        var cancelled = await server.PostJsonAsync($"/cgi-bin/express/business/order/get?access_token={merchantToken}", OrderKey("SF7100000002"));
        Assert.Equal(1, cancelled.GetProperty("order_status").GetInt32());
        WxAssert.Error(9300524, await server.PostJsonAsync($"/cgi-bin/express/business/order/cancel?access_token={merchantToken}", OrderKey("SF7100000002")));
        WxAssert.Error(40199, await server.PostJsonAsync($"/cgi-bin/express/business/order/get?access_token={merchantToken}", OrderKey("SF0")));
    }

    [Fact]
    public async Task A_merchant_reads_several_orders_at_once_each_answered_in_the_order_asked_with_its_own_errcode()
    {
        await CarrierAsync("json");
        carrierServer.Respond = push => JsonDocument.Parse(push.Body).RootElement.GetProperty("Event").GetString() == "cancel_waybill"
            ? AcceptAndCancel(push, "", 0)
            : Accept(push, JsonDocument.Parse(push.Body).RootElement.GetProperty("OrderID").GetString() == "order-1" ? "SF7100000011" : "SF7100000012");
        await AddOrderAsync(Order("order-1"));
        await AddOrderAsync(Order("order-2"));
        WxAssert.Ok(await server.PostJsonAsync(
            $"/cgi-bin/express/business/order/cancel?access_token={merchantToken}", new { order_id = "order-2", delivery_id = "SF", waybill_id = "SF7100000012" }));
        var stranger = await server.AddMerchantAsync("Another shop");

        var answer = await server.PostJsonAsync($"/cgi-bin/express/business/order/batchget?access_token={merchantToken}", new
        {
            order_list = new[]
            {
                new { order_id = "order-2", delivery_id = "SF", waybill_id = "SF7100000012" },
                new { order_id = "order-1", delivery_id = "SF", waybill_id = "SF7100000012" },
                new { order_id = "order-9", delivery_id = "SF", waybill_id = "SF7100000019" },
                new { order_id = "order-1", delivery_id = "SF", waybill_id = "SF7100000011" },
            },
        });

        var orders = answer.GetProperty("order_list").EnumerateArray().ToList();
        Assert.Equal(4, orders.Count);
        Assert.Equal((0, "ok", "order-2", "SF7100000012", 1), (orders[0].GetProperty("errcode").GetInt32(), orders[0].GetProperty("errmsg").GetString(),
            orders[0].GetProperty("order_id").GetString(), orders[0].GetProperty("waybill_id").GetString(), orders[0].GetProperty("order_status").GetInt32()));
        Assert.Equal("广州", orders[0].GetProperty("waybill_data")[0].GetProperty("value").GetString());
        Assert.Equal("", orders[0].GetProperty("print_html").GetString());

        // An order named with another order's waybill, and one that does not exist: 40199 each, what was asked echoed, nothing more.
        foreach (var (missing, orderId, waybillId) in new[] { (orders[1], "order-1", "SF7100000012"), (orders[2], "order-9", "SF7100000019") })
        {
            Assert.Equal(40199, missing.GetProperty("errcode").GetInt32());
            Assert.Equal("waybill_id not found", missing.GetProperty("errmsg").GetString());
            Assert.Equal((orderId, "SF", waybillId), (missing.GetProperty("order_id").GetString(), missing.GetProperty("delivery_id").GetString(), missing.GetProperty("waybill_id").GetString()));
            Assert.False(missing.TryGetProperty("order_status", out _));
            Assert.False(missing.TryGetProperty("waybill_data", out _));
        }

        Assert.Equal((0, 0, "SF7100000011"), (orders[3].GetProperty("errcode").GetInt32(), orders[3].GetProperty("order_status").GetInt32(), orders[3].GetProperty("waybill_id").GetString()));

        // Another merchant sees none of them.
        var theirs = await server.PostJsonAsync($"/cgi-bin/express/business/order/batchget?access_token={await server.AccessTokenAsync(stranger)}", new
        {
            order_list = new[] { new { order_id = "order-1", delivery_id = "SF", waybill_id = "SF7100000011" } },
        });
        Assert.Equal(40199, theirs.GetProperty("order_list")[0].GetProperty("errcode").GetInt32());
    }

    [Fact]
    public async Task A_batch_naming_an_order_twice_or_an_order_id_no_store_can_hold_answers_each_in_its_place()
    {
        await CarrierAsync("json");
        carrierServer.Respond = push => Accept(push, "SF7100000021");
        await AddOrderAsync(Order("order-1"));

        var answer = await server.PostRawAsync($"/cgi-bin/express/business/order/batchget?access_token={merchantToken}", Encoding.UTF8.GetBytes(
            """{"order_list":[{"order_id":"order-1","delivery_id":"SF","waybill_id":"SF7100000021"},{"order_id":"order-1\u0000","delivery_id":"SF","waybill_id":"SF7100000021"},{"order_id":"order-1","delivery_id":"SF","waybill_id":"SF7100000021"}]}"""));

        Assert.Equal([0, 40199, 0], answer.GetProperty("order_list").EnumerateArray().Select(o => o.GetProperty("errcode").GetInt32()));
        Assert.Equal("order-1\0", answer.GetProperty("order_list")[1].GetProperty("order_id").GetString());
    }

    const string AccountPassword = "pw-Secret-7731";

    /// <summary>A carrier's answer to check_biz in JSON: accounts it serves pass with <see cref="AccountPassword"/>, others get 10001.</summary>
    static (int, string) CheckBiz(ReceivedPush push, params string[] served)
    {
        var e = JsonDocument.Parse(push.Body).RootElement;
        var bizId = e.GetProperty("BizID").GetString()!;
        var (code, message) = !served.Contains(bizId) ? (10001, "客户编码不存在") : e.GetProperty("BizPwd").GetString() != AccountPassword ? (10002, "客户密码不正确") : (0, "审核通过");
        return (200, JsonSerializer.Serialize(new { ToUserName = "x", FromUserName = "y", CreateTime = 1, MsgType = "event", Event = "check_biz", BizID = bizId, ResultCode = code, ResultMsg = message }));
    }

    Task<JsonElement> BindAsync(object body, string? token = null) =>
        server.PostJsonAsync($"/cgi-bin/express/business/account/bind?access_token={token ?? merchantToken}", body);

    Task<JsonElement> AccountsAsync(string? token = null) => server.GetJsonAsync($"/cgi-bin/express/business/account/getall?access_token={token ?? merchantToken}");

    [Fact]
    public async Task A_merchant_binds_an_account_the_carrier_checks_lists_it_and_unbinds_it()
    {
        var carrier = await CarrierAsync("json");
        carrierServer.Respond = push => CheckBiz(push, "biz-001");

        WxAssert.Ok(await BindAsync(new { type = "bind", delivery_id = "SF", biz_id = "biz-001", password = AccountPassword, remark_content = "联系人:张三" }));

        var push = carrierServer.Pushes.Single();
        var sent = JsonDocument.Parse(push.Body).RootElement;
        Assert.Equal(("check_biz", "biz-001", AccountPassword, merchant.AppId, carrier.AppId), (
            sent.GetProperty("Event").GetString(), sent.GetProperty("BizID").GetString(), sent.GetProperty("BizPwd").GetString(),
            sent.GetProperty("ShopAppID").GetString(), sent.GetProperty("ToUserName").GetString()));
        Assert.Equal(Sha1(CarrierPushToken, push.Timestamp, push.Nonce), push.Signature);

        var listed = await AccountsAsync();
        Assert.Equal(1, listed.GetProperty("count").GetInt32());
        var account = listed.GetProperty("list")[0];
        Assert.Equal(("biz-001", "SF", 0, "联系人:张三", "标准快递"), (
            account.GetProperty("biz_id").GetString(), account.GetProperty("delivery_id").GetString(), account.GetProperty("status_code").GetInt32(),
            account.GetProperty("remark_content").GetString(), account.GetProperty("service_type")[0].GetProperty("service_name").GetString()));
        Assert.True(account.GetProperty("create_time").GetInt64() > 0);
        Assert.False(account.TryGetProperty("quota_num", out _));

        // Once getQuota has asked the carrier, the list shows what it said, and when.
        carrierServer.Respond = push => Quota(push, "42");
        Assert.Equal(42, (await GetQuotaAsync(new { delivery_id = "SF", biz_id = "biz-001" })).GetProperty("quota_num").GetInt64());
        carrierServer.Respond = push => CheckBiz(push, "biz-001");
        account = (await AccountsAsync()).GetProperty("list")[0];
        Assert.Equal(42, account.GetProperty("quota_num").GetInt64());
        Assert.True(account.GetProperty("quota_update_time").GetInt64() >= account.GetProperty("create_time").GetInt64());

        // Bound once; the password is nowhere in the store's files.
        WxAssert.Error(9300529, await BindAsync(new { type = "bind", delivery_id = "SF", biz_id = "biz-001", password = AccountPassword }));
        Assert.Single(carrierServer.Pushes, p => p.Body.Contains("check_biz", StringComparison.Ordinal));
        if (storeKind == StoreKind.Sqlite)
        {
            foreach (var file in new[] { "wxlogistics.db", "wxlogistics.db-wal" }.Select(name => Path.Combine(server.DataDirectory, name)))
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy);
                Assert.True(copy.ToArray().AsSpan().IndexOf(Encoding.UTF8.GetBytes(AccountPassword)) < 0, $"the password is in {Path.GetFileName(file)}");
            }
        }

        WxAssert.Ok(await BindAsync(new { type = "unbind", delivery_id = "SF", biz_id = "biz-001" }));
        Assert.Equal(0, (await AccountsAsync()).GetProperty("count").GetInt32());
        WxAssert.Error(9300530, await BindAsync(new { type = "unbind", delivery_id = "SF", biz_id = "biz-001" }));
    }

    [Fact]
    public async Task An_account_the_carrier_refuses_is_not_bound_and_the_merchant_learns_why()
    {
        await CarrierAsync("json");
        carrierServer.Respond = push => CheckBiz(push, "biz-001");

        WxAssert.Error(9300531, await BindAsync(new { type = "bind", delivery_id = "SF", biz_id = "biz-001", password = "wrong" }), "the carrier answered 10002 客户密码不正确");
        WxAssert.Error(9300531, await BindAsync(new { type = "bind", delivery_id = "SF", biz_id = "biz-404", password = AccountPassword }), "the carrier answered 10001");
        carrierServer.Respond = _ => (200, "not a reply");
        var failed = await BindAsync(new { type = "bind", delivery_id = "SF", biz_id = "biz-001", password = AccountPassword });
        WxAssert.Error(9300501, failed);
        Assert.Equal(-1, failed.GetProperty("delivery_resultcode").GetInt32());

        Assert.Equal(0, (await AccountsAsync()).GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task Accounts_are_each_merchants_own_and_binding_checks_its_fields()
    {
        await server.AddCarrierAsync("ZTO", "中通快递");
        WxAssert.Ok(await BindAsync(new { type = "bind", delivery_id = "TEST", biz_id = "test_biz_id" }));
        WxAssert.Error(9300531, await BindAsync(new { type = "bind", delivery_id = "TEST", biz_id = "other" }));
        var stranger = await server.AddMerchantAsync("Another shop");

        Assert.Equal(0, (await AccountsAsync(await server.AccessTokenAsync(stranger))).GetProperty("count").GetInt32());
        Assert.Equal("test_biz_id", (await AccountsAsync()).GetProperty("list")[0].GetProperty("biz_id").GetString());
        await GetQuotaAsync(new { delivery_id = "TEST", biz_id = "test_biz_id" });
        Assert.Equal(10_000, (await AccountsAsync()).GetProperty("list")[0].GetProperty("quota_num").GetInt64());
        WxAssert.Error(40097, await BindAsync(new { type = "link", delivery_id = "TEST", biz_id = "b" }), "type must be bind or unbind");
        WxAssert.Error(40097, await BindAsync(new { type = "bind", delivery_id = "TEST" }), "biz_id is required");
        WxAssert.Error(47001, await BindAsync(new { type = "bind", delivery_id = "TEST", biz_id = "b", password = 7 }), "password must be a string");
        WxAssert.Error(9300503, await BindAsync(new { type = "bind", delivery_id = "NOPE", biz_id = "b" }));
        var noServer = await BindAsync(new { type = "bind", delivery_id = "ZTO", biz_id = "b" });
        Assert.Equal("ZTO has no message server to push check_biz to", noServer.GetProperty("delivery_resultmsg").GetString());
    }

    [Theory]
    [InlineData("{}", 40097, "order_list is required")]
    [InlineData("{\"order_list\":[]}", 40097, "order_list names no order")]
    [InlineData("{\"order_list\":{\"order_id\":\"order-1\"}}", 47001, "order_list must be a list")]
    [InlineData("{\"order_list\":[{\"order_id\":\"order-1\"},7]}", 47001, "order_list[1] must be an object")]
    [InlineData("{\"order_list\":[{\"order_id\":1,\"delivery_id\":\"SF\",\"waybill_id\":\"SF1\"}]}", 47001, "order_list[0].order_id must be a string")]
    [InlineData("{\"order_list\":[{\"order_id\":\"a\",\"order_id\":\"b\"}]}", 47001, "order_list[0].order_id")]
    public async Task A_batch_read_without_a_list_of_orders_as_WeChat_takes_it_is_refused_saying_what_is_wrong(string body, int errcode, string why)
    {
        var reply = await server.PostRawAsync($"/cgi-bin/express/business/order/batchget?access_token={merchantToken}", Encoding.UTF8.GetBytes(body));

        WxAssert.Error(errcode, reply, why);
    }

    [Fact]
    public async Task A_batch_read_of_more_than_a_hundred_orders_gets_9300526_and_a_hundred_are_read()
    {
        object List(int count) => new { order_list = Enumerable.Range(0, count).Select(i => new { order_id = $"order-{i}", delivery_id = "SF", waybill_id = $"SF{i}" }).ToArray() };

        WxAssert.Error(9300526, await server.PostJsonAsync($"/cgi-bin/express/business/order/batchget?access_token={merchantToken}", List(101)),
            "order_list names 101 orders; at most 100 are read in one call");
        var hundred = await server.PostJsonAsync($"/cgi-bin/express/business/order/batchget?access_token={merchantToken}", List(100));
        Assert.Equal(100, hundred.GetProperty("order_list").GetArrayLength());
    }

    /// <summary>A carrier's answer to get_quota, in the push's own format, echoing its BizID unless told otherwise.</summary>
    static (int, string) Quota(ReceivedPush push, string quota, int resultCode = 0, string? bizId = null)
    {
        var json = push.ContentType.StartsWith("application/json", StringComparison.Ordinal);
        var asked = json ? JsonDocument.Parse(push.Body).RootElement.GetProperty("BizID").GetString()! : XDocument.Parse(push.Body).Root!.Element("BizID")!.Value;
        return json
            ? (200, $$"""{"ToUserName":"x","FromUserName":"y","CreateTime":1,"MsgType":"event","Event":"get_quota","BizID":"{{bizId ?? asked}}","ResultCode":{{resultCode}},"ResultMsg":"{{(resultCode == 0 ? "成功" : "客户密码不正确")}}","Quota":{{quota}}}""")
            : (200, $"<xml><ToUserName><![CDATA[x]]></ToUserName><FromUserName><![CDATA[y]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType>" +
                $"<Event><![CDATA[get_quota]]></Event><BizID><![CDATA[{bizId ?? asked}]]></BizID><ResultCode>{resultCode}</ResultCode><ResultMsg><![CDATA[成功]]></ResultMsg><Quota>{quota}</Quota></xml>");
    }

    Task<JsonElement> GetQuotaAsync(object body) => server.PostJsonAsync($"/cgi-bin/express/business/quota/get?access_token={merchantToken}", body);

    [Theory]
    [InlineData("json")]
    [InlineData("xml")]
    public async Task A_merchant_asks_the_carrier_for_its_accounts_balance_and_gets_the_quota_the_carrier_answers(string format)
    {
        var carrier = await CarrierAsync(format);
        carrierServer.Respond = push => Quota(push, "88");

        var answer = await GetQuotaAsync(new { delivery_id = "SF", biz_id = "biz-001" });

        Assert.Equal(88, answer.GetProperty("quota_num").GetInt64());
        carrierServer.Respond = push => Quota(push, "8.8e1");
        Assert.Equal(88, (await GetQuotaAsync(new { delivery_id = "SF", biz_id = "biz-001" })).GetProperty("quota_num").GetInt64());
        var push = carrierServer.Pushes.First();
        Assert.Equal(format == "json" ? "application/json" : "text/xml", push.ContentType.Split(';')[0]);
        var fields = format == "json"
            ? JsonDocument.Parse(push.Body).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ToString())
            : XDocument.Parse(push.Body).Root!.Elements().ToDictionary(e => e.Name.LocalName, e => e.Value);
        Assert.Equal(("get_quota", "event", "biz-001", merchant.AppId, carrier.AppId), (fields["Event"], fields["MsgType"], fields["BizID"], fields["ShopAppID"], fields["ToUserName"]));
        Assert.Equal(Sha1(CarrierPushToken, push.Timestamp, push.Nonce), push.Signature);
    }

    static string Sha1(params string[] parts)
    {
        Array.Sort(parts, StringComparer.Ordinal);
        return Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(string.Concat(parts))));
    }

    [Theory]
    [InlineData("0", 10002, null, 10002, "客户密码不正确")]
    [InlineData("-5", 0, null, -1, "the carrier's Quota is not a whole number of labels: -5")]
    [InlineData("\"many\"", 0, null, -1, "the carrier's Quota is not a whole number of labels: many")]
    [InlineData("2.5", 0, null, -1, "the carrier's Quota is not a whole number of labels: 2.5")]
    [InlineData("7", 0, "biz-other", -1, "the carrier's reply is not a get_quota reply in JSON echoing BizID, with a ResultCode")]
    public async Task A_carrier_that_refuses_or_answers_no_usable_quota_fails_getQuota_with_its_code_or_the_reason(
        string quota, int resultCode, string? echoedBizId, int deliveryResultCode, string deliveryResultMessage)
    {
        await CarrierAsync("json");
        carrierServer.Respond = push => Quota(push, quota, resultCode, echoedBizId);

        var answer = await GetQuotaAsync(new { delivery_id = "SF", biz_id = "biz-001" });

        WxAssert.Error(9300501, answer);
        Assert.Equal((deliveryResultCode, deliveryResultMessage), (answer.GetProperty("delivery_resultcode").GetInt32(), answer.GetProperty("delivery_resultmsg").GetString()));
    }

    [Fact]
    public async Task GetQuota_names_what_is_missing_or_unknown_and_the_TEST_sandbox_answers_itself()
    {
        await server.AddCarrierAsync("ZTO", "中通快递");

        WxAssert.Error(40097, await GetQuotaAsync(new { delivery_id = "SF" }), "biz_id is required");
        WxAssert.Error(47001, await GetQuotaAsync(new { delivery_id = "SF", biz_id = 7 }), "biz_id must be a string");
        WxAssert.Error(9300503, await GetQuotaAsync(new { delivery_id = "NOPE", biz_id = "biz-001" }));
        var noServer = await GetQuotaAsync(new { delivery_id = "ZTO", biz_id = "biz-001" });
        WxAssert.Error(9300501, noServer);
        Assert.Equal("ZTO has no message server to push get_quota to", noServer.GetProperty("delivery_resultmsg").GetString());

        Assert.Equal(10000, (await GetQuotaAsync(new { delivery_id = "TEST", biz_id = "test_biz_id" })).GetProperty("quota_num").GetInt64());
        Assert.Equal(10001, (await GetQuotaAsync(new { delivery_id = "TEST", biz_id = "other" })).GetProperty("delivery_resultcode").GetInt32());
    }

    [Theory]
    [InlineData("order/get", "[1,2]", "the body must be a JSON object")]
    [InlineData("order/cancel", "{\"order_id\":", "the body is not valid JSON")]
    public async Task Reading_or_cancelling_an_order_with_a_body_that_is_not_a_JSON_object_gets_47001_not_order_not_found(string api, string body, string why)
    {
        var reply = await server.PostRawAsync($"/cgi-bin/express/business/{api}?access_token={merchantToken}", System.Text.Encoding.UTF8.GetBytes(body));

        WxAssert.Error(47001, reply, why);
    }

    [Fact]
    public async Task Another_merchant_can_neither_read_nor_cancel_the_order()
    {
        await CarrierAsync("json");
        carrierServer.Respond = push => AcceptAndCancel(push, "SF7100000005", 0);
        await AddOrderAsync(Order());
        var stranger = await server.AddMerchantAsync("Another shop");
        var strangerToken = await server.AccessTokenAsync(stranger);

        WxAssert.Error(40199, await server.PostJsonAsync($"/cgi-bin/express/business/order/get?access_token={strangerToken}", OrderKey("SF7100000005")));
        WxAssert.Error(40199, await server.PostJsonAsync($"/cgi-bin/express/business/order/cancel?access_token={strangerToken}", OrderKey("SF7100000005")));
        WxAssert.Error(40199, await server.GetPathAsync(strangerToken, OrderKey("SF7100000005")));
        Assert.DoesNotContain(carrierServer.Pushes, p => p.Body.Contains("cancel_waybill", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_cancel_the_carrier_refuses_keeps_the_order()
    {
        await CarrierAsync("json");
        carrierServer.Respond = push => AcceptAndCancel(push, "SF7100000003", 30002);
        await AddOrderAsync(Order());

        var reply = await server.PostJsonAsync($"/cgi-bin/express/business/order/cancel?access_token={merchantToken}", OrderKey("SF7100000003"));

        WxAssert.Error(9300501, reply);
        Assert.Equal(30002, reply.GetProperty("delivery_resultcode").GetInt32());
        var order = await server.PostJsonAsync($"/cgi-bin/express/business/order/get?access_token={merchantToken}", OrderKey("SF7100000003"));
        Assert.Equal(0, order.GetProperty("order_status").GetInt32());
    }

    [Fact]
    public async Task An_order_whose_waybill_has_a_path_cannot_be_cancelled()
    {
        var carrier = await CarrierAsync("json");
        carrierServer.Respond = push => AcceptAndCancel(push, "SF7100000004", 0);
        await AddOrderAsync(Order());
        var carrierToken = await server.AccessTokenAsync(carrier);
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, new { token = TokenIn(carrierServer.Pushes.Single()), waybill_id = "SF7100000004", action_time = 1533052800, action_type = 100001, action_msg = "揽件成功" }));

        WxAssert.Error(9300506, await server.PostJsonAsync($"/cgi-bin/express/business/order/cancel?access_token={merchantToken}", OrderKey("SF7100000004")));
    }

    static string TokenIn(ReceivedPush push) => push.ContentType.StartsWith("application/json", StringComparison.Ordinal)
        ? JsonDocument.Parse(push.Body).RootElement.GetProperty("Token").GetString()!
        : XDocument.Parse(push.Body).Root!.Element("Token")!.Value;

    [Theory]
    [InlineData("json")]
    [InlineData("xml")]
    public async Task The_whole_loop_order_push_token_update_and_read(string format)
    {
        var carrier = await CarrierAsync(format);
        carrierServer.Respond = push => Accept(push, "SF7000000001");

        var placed = await AddOrderAsync(Order());

        Assert.Equal("SF7000000001", placed.GetProperty("waybill_id").GetString());
        Assert.Equal("order-1", placed.GetProperty("order_id").GetString());
        Assert.Equal("""[{"key":"ZTO_bagAddr","value":"广州"},{"key":"ZTO_mark","value":"888-666-666"}]""", placed.GetProperty("waybill_data").GetRawText());
        var push = Assert.Single(carrierServer.Pushes);
        Assert.Equal(Sha1(CarrierPushToken, push.Timestamp, push.Nonce), push.Signature);
        Assert.Contains("add_waybill", push.Body);
        Assert.Contains("新港中路397号", push.Body);

        var carrierToken = await server.AccessTokenAsync(carrier);
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, new { token = TokenIn(push), waybill_id = "SF7000000001", action_time = 1533052800, action_type = 100001, action_msg = "揽件成功" }));
        var path = await server.GetPathAsync(merchantToken, new { order_id = "order-1", openid = "openid-1", delivery_id = "SF", waybill_id = "SF7000000001" });
        Assert.Equal(1, path.GetProperty("path_item_num").GetInt32());
    }

    [Fact]
    public async Task The_same_order_again_returns_the_same_waybill_without_asking_the_carrier_again()
    {
        await CarrierAsync("json");
        carrierServer.Respond = push => Accept(push, "SF7000000002");

        var first = await AddOrderAsync(Order());
        var again = await AddOrderAsync(Order());

        Assert.Equal(first.GetRawText(), again.GetRawText());
        Assert.Single(carrierServer.Pushes);
    }

    [Fact]
    public async Task A_carrier_that_refuses_fails_the_order_with_its_result_code_and_creates_nothing()
    {
        await CarrierAsync("xml");
        carrierServer.Respond = push => Accept(push, "0", 10002, "客户密码不正确");

        var reply = await AddOrderAsync(Order());

        WxAssert.Error(9300501, reply, "delivery logic fail");
        Assert.Equal(10002, reply.GetProperty("delivery_resultcode").GetInt32());
        Assert.Equal("客户密码不正确", reply.GetProperty("delivery_resultmsg").GetString());
        await AssertNothingCreatedAsync();
    }

    [Theory]
    [InlineData("down", "could not be reached")]
    [InlineData("slow", "did not answer within 5 s")]
    [InlineData("garbage", "not a valid add_waybill reply")]
    [InlineData("no-echo", "does not echo Token, OrderID and BizID")]
    [InlineData("http-500", "HTTP 500")]
    public async Task A_carrier_that_fails_to_answer_properly_fails_the_order_plainly_and_creates_nothing(string behaviour, string message)
    {
        await CarrierAsync("json");
        switch (behaviour)
        {
            case "down":
                await carrierServer.StopAsync();
                break;
            case "slow":
                carrierServer.Delay = TimeSpan.FromSeconds(7);
                carrierServer.Respond = push => Accept(push, "SF7000000003");
                break;
            case "garbage":
                carrierServer.Respond = _ => (200, "<html>upstream error</html>");
                break;
            case "no-echo":
                carrierServer.Respond = push => (200, Accept(push, "SF7000000003").Item2.Replace("order-1", "order-x", StringComparison.Ordinal));
                break;
            default:
                carrierServer.Respond = _ => (500, "");
                break;
        }

        var reply = await AddOrderAsync(Order());

        WxAssert.Error(9300501, reply);
        Assert.Equal(-1, reply.GetProperty("delivery_resultcode").GetInt32());
        Assert.Contains(message, reply.GetProperty("delivery_resultmsg").GetString());
        await AssertNothingCreatedAsync();
    }

    async Task AssertNothingCreatedAsync()
    {
        await using var store = await server.Store.OpenAsync();
        Assert.True(Apps.AppId.TryParse(merchant.AppId, out var merchantId));
        Assert.Null(await store.FindOrderAsync(merchantId, "order-1"));
        Assert.True(Apps.DeliveryId.TryParse("SF", out var sf));
        Assert.True(Apps.WaybillId.TryParse("SF7000000003", out var waybill));
        Assert.Null(await store.FindWaybillAsync(new Apps.WaybillKey(sf, waybill)));
    }

    [Fact]
    public async Task Order_fields_are_checked_with_WeChats_codes()
    {
        await CarrierAsync("json");
        carrierServer.Respond = push => Accept(push, "SF7000000004");

        var unknownCarrier = Order(deliveryId: "NOPE");
        var unknownService = Order();
        unknownService["service"] = new { service_type = 9, service_name = "x" };
        var badShop = Order();
        badShop["shop"] = new { wxa_path = "/index", img_url = "", goods_name = "", goods_count = 0 };
        var longOrderId = Order(orderId: new string('o', 513));
        var noReceiver = Order();
        noReceiver.Remove("receiver");

        WxAssert.Error(9300503, await AddOrderAsync(unknownCarrier));
        WxAssert.Error(9300510, await AddOrderAsync(unknownService), "SF offers service_type 1, 2");
        WxAssert.Error(9300535, await AddOrderAsync(badShop));
        WxAssert.Error(9300526, await AddOrderAsync(longOrderId), "order_id is 513 bytes");
        WxAssert.Error(40097, await AddOrderAsync(noReceiver), "receiver is required");
        Assert.Empty(carrierServer.Pushes);
    }

    [Theory]
    [InlineData("xml")]
    [InlineData("json")]
    public async Task A_carrier_that_answers_in_GBK_as_its_content_type_says_is_read_in_GBK(string format)
    {
        await CarrierAsync(format);
        var gbk = System.Text.CodePagesEncodingProvider.Instance.GetEncoding("gbk")!;
        carrierServer.AnswerAs = (format == "json" ? "application/json; charset=GBK" : "text/xml; charset=GBK", gbk);
        carrierServer.Respond = push => Accept(push, "SF7000000006");

        var placed = await AddOrderAsync(Order());

        Assert.True(placed.TryGetProperty("waybill_id", out var waybillId), placed.ToString());
        Assert.Equal("SF7000000006", waybillId.GetString());
        Assert.Equal("""[{"key":"ZTO_bagAddr","value":"广州"},{"key":"ZTO_mark","value":"888-666-666"}]""", placed.GetProperty("waybill_data").GetRawText());
    }

    [Fact]
    public async Task A_carrier_that_answers_in_a_charset_no_one_knows_or_at_length_is_a_delivery_failure_not_a_system_error()
    {
        await CarrierAsync("json");
        carrierServer.Respond = _ => (200, new string(' ', 2_000_000));
        var large = await AddOrderAsync(Order(orderId: "order-8"));
        Assert.Equal(9300501, large.GetProperty("errcode").GetInt32());
        Assert.Equal("the carrier answered HTTP 200 with an answer larger than the 1024 KB read", large.GetProperty("delivery_resultmsg").GetString());

        carrierServer.AnswerAs = ("application/json; charset=x-unknown-1", System.Text.Encoding.UTF8);
        carrierServer.Respond = push => Accept(push, "SF7000000007");
        var named = await AddOrderAsync(Order(orderId: "order-9"));
        Assert.Equal("the carrier answered HTTP 200 with an answer in charset 'x-unknown-1', which this server does not know (UTF-8 is expected)", named.GetProperty("delivery_resultmsg").GetString());
    }

    [Fact]
    public async Task A_carrier_whose_answer_is_cut_short_by_a_closed_connection_is_a_delivery_failure_not_a_system_error()
    {
        // A carrier that sends its headers, a part of the body it announced, and closes.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var serving = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            var stream = socket.GetStream();
            // The whole request first (its headers, then Content-Length bytes), so that the answer is not taken for a reset.
            var request = new List<byte>();
            var chunk = new byte[16 * 1024];
            while (System.Text.Encoding.ASCII.GetString([.. request]) is var text
                && !(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) is var end and >= 0
                    && System.Text.RegularExpressions.Regex.Match(text, @"Content-Length: (\d+)", System.Text.RegularExpressions.RegexOptions.IgnoreCase) is { Success: true } length
                    && request.Count >= end + 4 + int.Parse(length.Groups[1].Value)))
            {
                var read = await stream.ReadAsync(chunk);
                if (read == 0)
                {
                    return;
                }

                request.AddRange(chunk.AsSpan(0, read));
            }
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"Token\":"u8.ToArray());
            await stream.FlushAsync();
        });
        var json = await server.OperatorAsync(
            "app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运", "--push-url", $"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}/wx", "--push-token", CarrierPushToken, "--format", "json");
        await server.OperatorAsync("app", "services", "--appid", json.GetProperty("appid").GetString()!, "--service-types", "1:标准快递");

        var reply = await AddOrderAsync(Order());
        await serving;

        Assert.Equal(9300501, reply.GetProperty("errcode").GetInt32());
        Assert.StartsWith("the carrier answered HTTP 200 with an answer cut short: ", reply.GetProperty("delivery_resultmsg").GetString());
    }

    [Fact]
    public async Task An_order_id_holding_a_NUL_character_is_refused_or_not_found_on_either_store_not_a_system_error()
    {
        await CarrierAsync("json");
        carrierServer.Respond = push => Accept(push, "SF7000000008");

        WxAssert.Error(40097, await AddOrderAsync(Order(orderId: "order\u0000-1")), "order_id must not hold control characters");
        foreach (var api in new[] { "order/get", "order/cancel" })
        {
            WxAssert.Error(40199, await server.PostJsonAsync(
                $"/cgi-bin/express/business/{api}?access_token={merchantToken}", new { order_id = "order\u0000-1", openid = "openid-1", delivery_id = "SF", waybill_id = "SF7000000008" }));
        }

        Assert.Empty(carrierServer.Pushes);
    }

    [Fact]
    public async Task An_order_for_a_carrier_that_offers_no_service_type_yet_says_so()
    {
        await server.AddCarrierAsync("ZTO", "中通快递");

        WxAssert.Error(9300510, await AddOrderAsync(Order(deliveryId: "ZTO")), "ZTO offers no service type yet");
    }

    [Theory]
    [InlineData("cargo.weight", "1e400", 40097, "cargo.weight 1e400 is too large")]
    [InlineData("cargo.count", "99999999999999999999999999999999", 40097, "cargo.count 99999999999999999999999999999999 is too large")]
    [InlineData("insured.insured_value", "1e400", 40097, "insured.insured_value 1e400 is too large")]
    [InlineData("cargo.count", "-1", 40097, "cargo.count must be a whole number, not negative")]
    [InlineData("cargo.detail_list.0.count", "0.5", 40097, "cargo.detail_list.count must be a whole number, not negative")]
    [InlineData("cargo.space_x", "-10", 40097, "cargo.space_x must not be negative")]
    [InlineData("cargo.weight", "\"1.2\"", 47001, "cargo.weight must be a number")]
    [InlineData("cargo.detail_list.0", "1", 47001, "cargo.detail_list must hold objects {name, count}")]
    [InlineData("insured.use_insured", "2", 40097, "insured.use_insured must be 0 or 1")]
    [InlineData("add_source", "1.5", 40097, "add_source must be 0 (mini program) or 2 (App/H5)")]
    public async Task A_number_the_carrier_would_be_sent_that_is_negative_not_whole_or_too_large_is_refused_naming_it_not_answered_with_a_system_error(
        string path, string value, int errcode, string message)
    {
        await CarrierAsync("json");
        carrierServer.Respond = push => Accept(push, "SF7000000005");
        var order = JsonSerializer.SerializeToNode(Order())!;
        var names = path.Split('.');
        var parent = names[..^1].Aggregate(order, (node, name) => int.TryParse(name, out var index) ? node[index]! : node[name]!);
        if (int.TryParse(names[^1], out var at))
        {
            parent[at] = System.Text.Json.Nodes.JsonNode.Parse(value);
        }
        else
        {
            parent[names[^1]] = System.Text.Json.Nodes.JsonNode.Parse(value);
        }

        var reply = await server.PostRawAsync($"/cgi-bin/express/business/order/add?access_token={merchantToken}", System.Text.Encoding.UTF8.GetBytes(order.ToJsonString()));

        WxAssert.Error(errcode, reply, message);
        Assert.Empty(carrierServer.Pushes);
    }

    [Fact]
    public async Task The_TEST_sandbox_carrier_answers_itself_and_testUpdateOrder_writes_its_path()
    {
        var all = await server.GetJsonAsync($"/cgi-bin/express/business/delivery/getall?access_token={merchantToken}");
        var test = all.GetProperty("data").EnumerateArray().Single(d => d.GetProperty("delivery_id").GetString() == "TEST");
        Assert.Equal(1, test.GetProperty("service_type")[0].GetProperty("service_type").GetInt32());

        var refused = await AddOrderAsync(Order(orderId: "t-0", deliveryId: "TEST", bizId: "wrong"));
        Assert.Equal(10001, refused.GetProperty("delivery_resultcode").GetInt32());

        var placed = await AddOrderAsync(Order(orderId: "t-1", deliveryId: "TEST", bizId: "test_biz_id"));
        var waybillId = placed.GetProperty("waybill_id").GetString()!;
        var update = new { biz_id = "test_biz_id", order_id = "t-1", delivery_id = "TEST", waybill_id = waybillId, action_time = 1533052800, action_type = 100001, action_msg = "模拟揽件" };
        WxAssert.Ok(await server.PostJsonAsync($"/cgi-bin/express/business/test_update_order?access_token={merchantToken}", update));

        var path = await server.GetPathAsync(merchantToken, new { delivery_id = "TEST", waybill_id = waybillId });
        Assert.Equal("模拟揽件", path.GetProperty("path_item_list")[0].GetProperty("action_msg").GetString());
        WxAssert.Error(930563, await server.PostJsonAsync($"/cgi-bin/express/business/test_update_order?access_token={merchantToken}", update with { order_id = "t-9" }), "order not exists");
        WxAssert.Error(40097, await server.PostJsonAsync($"/cgi-bin/express/business/test_update_order?access_token={merchantToken}", update with { action_type = 300001 }));
    }
}

public sealed class OrderTestsOnSqlite() : OrderTests(StoreKind.Sqlite);

public sealed class OrderTestsOnPostgres() : OrderTests(StoreKind.Postgres);
