using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Core;

/// <summary>logistics.getPath: a merchant reads the paths of its own orders, and only those.</summary>
public abstract class GetPathTests(StoreKind storeKind) : IAsyncLifetime
{
    readonly WxServer server = new(storeKind);
    Waybill waybill = new("", "", "");
    string carrierToken = "";
    string merchantToken = "";

    string GetUrl => $"/cgi-bin/express/business/path/get?access_token={merchantToken}";

    public async Task InitializeAsync() =>
        (_, waybill, carrierToken, merchantToken) = await server.AddShipmentAsync("SF1234567890", "order-1", "openid-1");

    public async Task DisposeAsync() => await server.DisposeAsync();

    object Query(string waybillId = "SF1234567890", string deliveryId = "SF", string? orderId = "order-1", string? openId = "openid-1") =>
        new { order_id = orderId, openid = openId, delivery_id = deliveryId, waybill_id = waybillId };

    [Fact]
    public async Task A_merchant_reads_the_path_of_its_order_with_the_documented_fields_however_often_it_reads_it()
    {
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, new { token = waybill.Token, waybill_id = waybill.WaybillId, action_time = 1533052800, action_type = 100001, action_msg = "快递员已成功取件" }));
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, new { token = waybill.Token, waybill_id = waybill.WaybillId, action_time = 1533062800, action_type = 200001, action_msg = "快件已到达xxx集散中心，准备发往xxx" }));

        // The first read is from the store; the next from memory on SQLite, which keeps the path's JSON from then on.
        for (var read = 0; read < 3; read++)
        {
            var reply = await server.GetPathAsync(merchantToken, Query());

            Assert.Equal(
                """{"openid":"openid-1","delivery_id":"SF","waybill_id":"SF1234567890","path_item_num":2,"path_item_list":[{"action_time":1533052800,"action_type":100001,"action_msg":"快递员已成功取件"},{"action_time":1533062800,"action_type":200001,"action_msg":"快件已到达xxx集散中心，准备发往xxx"}]}""",
                reply.GetRawText());
        }
    }

    [Fact]
    public async Task A_waybill_without_events_has_an_empty_path()
    {
        var reply = await server.GetPathAsync(merchantToken, Query(orderId: null, openId: null));

        Assert.Equal(0, reply.GetProperty("path_item_num").GetInt32());
        Assert.Empty(reply.GetProperty("path_item_list").EnumerateArray());
    }

    [Fact]
    public async Task A_merchant_that_does_not_own_the_order_gets_40199()
    {
        var stranger = await server.AddMerchantAsync("Another shop");
        var strangerToken = await server.AccessTokenAsync(stranger);

        var reply = await server.GetPathAsync(strangerToken, Query());

        WxAssert.Error(40199, reply, "waybill_id not found");
    }

    [Theory]
    [InlineData("order-2", "openid-1")]
    [InlineData("order-1", "openid-2")]
    public async Task An_order_id_or_openid_that_does_not_match_gets_40199(string orderId, string openId)
    {
        var reply = await server.GetPathAsync(merchantToken, Query(orderId: orderId, openId: openId));
        WxAssert.Error(40199, reply);
    }

    [Fact]
    public async Task An_unknown_waybill_gets_40199()
    {
        WxAssert.Error(40199, await server.GetPathAsync(merchantToken, Query(waybillId: "nope")));
        WxAssert.Error(40199, await server.GetPathAsync(merchantToken, Query(deliveryId: "ZTO")));
    }

    [Fact]
    public async Task Missing_ids_are_named_in_a_40097()
    {
        WxAssert.Error(40097, await server.GetPathAsync(merchantToken, new { waybill_id = "SF1234567890" }), "delivery_id is required");
        WxAssert.Error(40097, await server.GetPathAsync(merchantToken, new { delivery_id = "SF" }), "waybill_id is required");
        WxAssert.Error(47001, await server.GetPathAsync(merchantToken, new { delivery_id = 1, waybill_id = "SF1234567890" }), "delivery_id must be a string");
    }

    [Theory]
    [InlineData("""{"delivery_id":"SF","waybill_id":""", "the body is not valid JSON")]
    [InlineData("""{"delivery_id":"SF","waybill_id":"SF1234567890"} {}""", "the body is not valid JSON")]
    [InlineData("""["SF","SF1234567890"]""", "the body must be a JSON object")]
    [InlineData("""{"delivery_id":"SF","waybill_id":["SF1234567890"]}""", "waybill_id must be a string")]
    [InlineData("""{"delivery_id":"SF","waybill_id":"SF1234567890","openid":{"id":"openid-1"}}""", "openid must be a string")]
    public async Task A_body_that_is_not_a_getPath_request_gets_47001_saying_why(string body, string why)
    {
        var reply = await server.PostRawAsync(GetUrl, System.Text.Encoding.UTF8.GetBytes(body));

        WxAssert.Error(47001, reply, why);
    }

    [Fact]
    public async Task Text_that_is_not_UTF8_in_an_id_gets_47001()
    {
        byte[] body = [.. """{"delivery_id":"SF","waybill_id":"SF"""u8, 0xC3, 0x28, .. "\"}"u8];

        var reply = await server.PostRawAsync(GetUrl, body);

        WxAssert.Error(47001, reply, "not valid UTF-8");
    }

    [Fact]
    public async Task Fields_getPath_does_not_know_are_ignored_whatever_they_hold_and_one_it_reads_sent_twice_is_refused()
    {
        const string body = """
            {"extra":{"nested":[1,{"deep":null}],"s":"x","s":"y"},"delivery_id":"SF","w\u0061ybill_id":"SF1234567890","flag":true}
            """;

        var reply = await server.PostRawAsync(GetUrl, System.Text.Encoding.UTF8.GetBytes(body));

        Assert.Equal("SF1234567890", reply.GetProperty("waybill_id").GetString());
        Assert.Equal(0, reply.GetProperty("path_item_num").GetInt32());

        // The same name written another way is the same name.
        var twice = body.Replace("\"delivery_id\":\"SF\"", "\"delivery_id\":\"SF\",\"waybill_id\":\"nope\"", StringComparison.Ordinal);
        WxAssert.Error(47001, await server.PostRawAsync(GetUrl, System.Text.Encoding.UTF8.GetBytes(twice)), "waybill_id is sent twice");
    }

    [Fact]
    public async Task A_carrier_token_cannot_read_a_merchants_path()
    {
        WxAssert.Error(48001, await server.GetPathAsync(carrierToken, Query()));
    }
}

public sealed class GetPathTestsOnSqlite() : GetPathTests(StoreKind.Sqlite);

public sealed class GetPathTestsOnPostgres() : GetPathTests(StoreKind.Postgres);
