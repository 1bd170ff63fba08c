using System.Text;
using System.Text.Json;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Core;

/// <summary>logistics.updatePath over HTTPS: the seed's example, and every error code in the order it is checked.</summary>
public abstract class UpdatePathTests(StoreKind storeKind) : IAsyncLifetime
{
    const string SeedWaybill = "12345678901234567890";
    const string SeedMessage = "丽影邓丽君【18666666666】正在派件";

    readonly WxServer server = new(storeKind, new ManualClock(DateTimeOffset.Parse("2026-11-28T12:00:00Z")));
    string accessToken = "";

    public async Task InitializeAsync()
    {
        var carrier = await server.AddCarrierAsync("SF");
        await server.AddWaybillAsync("SF", SeedWaybill, "TOKEN");
        accessToken = await server.AccessTokenAsync(carrier);
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    static object Seed(string token = "TOKEN", string waybillId = SeedWaybill, object? actionTime = null, object? actionType = null, object? actionMsg = null) => new
    {
        token,
        waybill_id = waybillId,
        action_time = actionTime ?? 1533052800,
        action_type = actionType ?? 300002,
        action_msg = actionMsg ?? SeedMessage,
    };

    string UpdateUrl => $"/cgi-bin/express/delivery/path/update?access_token={accessToken}";

    [Fact]
    public async Task The_seed_documents_own_request_succeeds_with_exactly_ok()
    {
        var body = """
            { "token": "TOKEN", "waybill_id": "12345678901234567890", "action_time": 1533052800, "action_type": 300002, "action_msg": "丽影邓丽君【18666666666】正在派件" }
            """;

        var reply = await server.PostRawAsync(UpdateUrl, Encoding.UTF8.GetBytes(body));

        WxAssert.Ok(reply);
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded")] // what curl -d sends
    [InlineData("text/plain")]
    [InlineData("text/json")]
    [InlineData("text/xml")] // what Senparc's SDK labels its JSON with on .NET Core
    [InlineData(null)] // no Content-Type at all, as many HTTP clients send a string body
    public async Task A_JSON_body_is_read_whatever_Content_Type_the_carrier_labels_it_with(string? contentType)
    {
        var merchant = await server.AddMerchantAsync();
        var waybill = await server.AddWaybillAsync("SF", "LABELLED-1", "TOKEN-L", merchant);
        var message = $"labelled {contentType ?? "nothing"}";

        var reply = await server.PostRawAsync(UpdateUrl, JsonSerializer.SerializeToUtf8Bytes(Seed(waybill.Token, waybill.WaybillId, actionMsg: message)), contentType);

        WxAssert.Ok(reply);
        var path = await server.GetPathAsync(await server.AccessTokenAsync(merchant), new { delivery_id = "SF", waybill_id = waybill.WaybillId });
        Assert.Equal([message], path.GetProperty("path_item_list").EnumerateArray().Select(e => e.GetProperty("action_msg").GetString()));
    }

    [Fact]
    public async Task A_call_without_access_token_is_rejected_with_41001()
    {
        var reply = await server.PostJsonAsync("/cgi-bin/express/delivery/path/update", Seed());
        WxAssert.Error(41001, reply, "access_token missing");
    }

    [Fact]
    public async Task A_made_up_access_token_is_rejected_with_40001()
    {
        var reply = await server.UpdatePathAsync("not-a-token-we-issued", Seed());
        WxAssert.Error(40001, reply, "invalid credential");
    }

    [Fact]
    public async Task An_access_token_past_its_7200_seconds_is_rejected_with_42001()
    {
        server.Clock!.Advance(TimeSpan.FromSeconds(7200));

        var reply = await server.UpdatePathAsync(accessToken, Seed());

        WxAssert.Error(42001, reply, "access_token expired");
    }

    [Fact]
    public async Task A_GET_is_rejected_with_43002()
    {
        var reply = await server.GetJsonAsync(UpdateUrl);
        WxAssert.Error(43002, reply, "require POST method");
    }

    [Fact]
    public async Task An_empty_body_is_rejected_with_44002()
    {
        var reply = await server.PostRawAsync(UpdateUrl, []);
        WxAssert.Error(44002, reply, "empty post data");
    }

    [Fact]
    public async Task A_body_that_starts_with_a_byte_order_mark_is_rejected_with_47001_that_says_so()
    {
        var body = (byte[])[0xEF, 0xBB, 0xBF, .. JsonSerializer.SerializeToUtf8Bytes(Seed())];

        var reply = await server.PostRawAsync(UpdateUrl, body);

        Assert.Contains("byte order mark", WxAssert.Error(47001, reply, "data format error"));
    }

    [Theory]
    [InlineData("{\"token\": \"TOKEN\", ")]
    [InlineData("not json at all")]
    [InlineData("[1, 2, 3]")]
    [InlineData("{\"token\": \"TOKEN\"} trailing")]
    public async Task A_body_that_is_not_a_JSON_object_is_rejected_with_47001(string body)
    {
        var reply = await server.PostRawAsync(UpdateUrl, Encoding.UTF8.GetBytes(body));
        WxAssert.Error(47001, reply, "data format error");
    }

    [Theory]
    [InlineData("""{"token": 123, "waybill_id": "12345678901234567890", "action_time": 1533052800, "action_type": 300002, "action_msg": "x"}""", "token must be a string")]
    [InlineData("""{"token": "TOKEN", "waybill_id": 12345678901234567890, "action_time": 1533052800, "action_type": 300002, "action_msg": "x"}""", "waybill_id must be a string")]
    [InlineData("""{"token": "TOKEN", "waybill_id": "12345678901234567890", "action_time": "1533052800", "action_type": 300002, "action_msg": "x"}""", "action_time must be a number")]
    [InlineData("""{"token": "TOKEN", "waybill_id": "12345678901234567890", "action_time": 1533052800, "action_type": [300002], "action_msg": "x"}""", "action_type must be a number")]
    [InlineData("""{"token": "TOKEN", "waybill_id": "12345678901234567890", "action_time": 1533052800, "action_type": 300002, "action_msg": {"a": 1}}""", "action_msg must be a string")]
    public async Task A_field_of_the_wrong_JSON_type_is_rejected_with_47001(string body, string reason)
    {
        var reply = await server.PostRawAsync(UpdateUrl, Encoding.UTF8.GetBytes(body));
        WxAssert.Error(47001, reply, reason);
    }

    [Fact]
    public async Task An_unknown_waybill_is_rejected_with_40199()
    {
        var reply = await server.UpdatePathAsync(accessToken, Seed(waybillId: "99999999999999999999"));
        WxAssert.Error(40199, reply, "waybill_id not found");
    }

    [Fact]
    public async Task A_carrier_cannot_update_another_carriers_waybill_and_gets_40199_as_if_it_did_not_exist()
    {
        var other = await server.AddCarrierAsync("ZTO", "中通快递");
        var otherToken = await server.AccessTokenAsync(other);

        var reply = await server.UpdatePathAsync(otherToken, Seed());

        WxAssert.Error(40199, reply, "waybill_id not found");
    }

    [Fact]
    public async Task Unknown_waybill_comes_before_a_wrong_token()
    {
        var reply = await server.UpdatePathAsync(accessToken, Seed(token: "WRONG", waybillId: "1"));
        WxAssert.Error(40199, reply);
    }

    [Theory]
    [InlineData("WRONG")]
    [InlineData("token")]
    [InlineData("")]
    public async Task Update_with_a_wrong_token_is_rejected_with_9300507(string token)
    {
        var reply = await server.UpdatePathAsync(accessToken, Seed(token: token));
        WxAssert.Error(9300507, reply);
    }

    [Fact]
    public async Task A_wrong_token_stores_nothing_whether_or_not_the_server_has_the_waybill_in_memory()
    {
        // The server has not read this waybill: on PostgreSQL the append itself checks the token. A request with a field
        // wrong makes the server read the waybill, which it then keeps in memory and checks the token against.
        var merchant = await server.AddMerchantAsync();
        var waybill = await server.AddWaybillAsync("SF", "REMEMBERED-1", "TOKEN-R", merchant);

        WxAssert.Error(9300507, await server.UpdatePathAsync(accessToken, Seed(token: "WRONG", waybillId: waybill.WaybillId, actionMsg: "not in memory")));
        WxAssert.Error(40097, await server.UpdatePathAsync(accessToken, Seed(token: waybill.Token, waybillId: waybill.WaybillId, actionType: 1)));
        WxAssert.Error(9300507, await server.UpdatePathAsync(accessToken, Seed(token: "WRONG", waybillId: waybill.WaybillId, actionMsg: "in memory")));
        WxAssert.Ok(await server.UpdatePathAsync(accessToken, Seed(token: waybill.Token, waybillId: waybill.WaybillId, actionMsg: "the right token")));

        var path = await server.GetPathAsync(await server.AccessTokenAsync(merchant), new { delivery_id = "SF", waybill_id = waybill.WaybillId });
        Assert.Equal(["the right token"], path.GetProperty("path_item_list").EnumerateArray().Select(e => e.GetProperty("action_msg").GetString()));
    }

    [Fact]
    public async Task A_wrong_token_comes_before_the_field_checks()
    {
        var reply = await server.UpdatePathAsync(accessToken, Seed(token: "WRONG", actionType: 1));
        WxAssert.Error(9300507, reply);
    }

    [Theory]
    [InlineData(300001)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(90001)]
    public async Task An_action_type_outside_the_seeds_nine_values_is_rejected_with_40097(int actionType)
    {
        var reply = await server.UpdatePathAsync(accessToken, Seed(actionType: actionType));
        WxAssert.Error(40097, reply, $"action_type {actionType} is not one of 100001, 100002, 100003, 200001, 300002, 300003, 300004, 400001, 400002");
    }

    [Fact]
    public async Task An_action_time_in_milliseconds_is_rejected_with_a_message_that_says_so()
    {
        var reply = await server.UpdatePathAsync(accessToken, Seed(actionTime: 1533052800000L));
        WxAssert.Error(40097, reply, "action_time 1533052800000 looks like milliseconds");
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-5L)]
    [InlineData(946684799L)]
    [InlineData(4102444800L)]
    public async Task An_implausible_action_time_is_rejected_with_40097(long actionTime)
    {
        var reply = await server.UpdatePathAsync(accessToken, Seed(actionTime: actionTime));
        WxAssert.Error(40097, reply, "is not a plausible Unix time in seconds");
    }

    [Fact]
    public async Task A_fractional_action_time_is_rejected_with_40097()
    {
        var reply = await server.UpdatePathAsync(accessToken, Seed(actionTime: 1533052800.5));
        WxAssert.Error(40097, reply, "action_time must be an integer");
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task An_empty_action_msg_is_rejected_with_40097(string message)
    {
        var reply = await server.UpdatePathAsync(accessToken, Seed(actionMsg: message));
        WxAssert.Error(40097, reply, "action_msg must not be empty");
    }

    [Fact]
    public async Task A_missing_field_is_named_in_the_40097_message()
    {
        var reply = await server.UpdatePathAsync(accessToken, new { token = "TOKEN", waybill_id = SeedWaybill, action_time = 1533052800, action_type = 300002 });
        WxAssert.Error(40097, reply, "action_msg is required");
    }

    [Fact]
    public async Task An_action_msg_that_is_not_UTF8_is_rejected_with_40097()
    {
        var body = Encoding.UTF8.GetBytes("""{"token":"TOKEN","waybill_id":"12345678901234567890","action_time":1533052800,"action_type":300002,"action_msg":"AB"}""").ToList();
        var at = body.LastIndexOf((byte)'A');
        body.InsertRange(at, new byte[] { 0xC3, 0x28, 0xFF });

        var reply = await server.PostRawAsync(UpdateUrl, [.. body]);

        WxAssert.Error(40097, reply, "not valid UTF-8");
    }

    [Fact]
    public async Task An_action_msg_escaping_half_a_character_is_rejected_with_40097_saying_so_not_that_the_body_is_not_UTF8()
    {
        var body = """{"token":"TOKEN","waybill_id":"12345678901234567890","action_time":1533052800,"action_type":300002,"action_msg":"派件\ud800中"}""";

        var reply = await server.PostRawAsync(UpdateUrl, Encoding.UTF8.GetBytes(body));

        WxAssert.Error(40097, reply, @"action_msg holds a \u escape of half a character (a surrogate without its pair)");
    }

    [Fact]
    public async Task An_action_msg_with_a_NUL_character_is_rejected_with_40097()
    {
        var reply = await server.UpdatePathAsync(accessToken, Seed(actionMsg: "派件\u0000中"));
        WxAssert.Error(40097, reply, "control character U+0000");
    }

    [Fact]
    public async Task An_action_msg_over_1024_bytes_is_rejected_with_9300526()
    {
        var reply = await server.UpdatePathAsync(accessToken, Seed(actionMsg: new string('派', 342)));
        WxAssert.Error(9300526, reply, "action_msg is 1026 bytes; the limit is 1024");
    }

    [Fact]
    public async Task An_action_msg_of_exactly_1024_bytes_is_accepted()
    {
        var reply = await server.UpdatePathAsync(accessToken, Seed(actionMsg: new string('派', 341) + "a"));
        WxAssert.Ok(reply);
    }

    [Fact]
    public async Task A_waybill_id_over_128_bytes_is_rejected_with_9300526()
    {
        var reply = await server.UpdatePathAsync(accessToken, Seed(waybillId: new string('9', 129)));
        WxAssert.Error(9300526, reply, "waybill_id is longer than 128 bytes");
    }

    [Fact]
    public async Task A_body_over_64_KiB_is_rejected_with_9300526_without_being_read()
    {
        var reply = await server.PostRawAsync(UpdateUrl, new byte[10 * 1024 * 1024]);
        WxAssert.Error(9300526, reply, "larger than 65536 bytes");
    }

    [Fact]
    public async Task A_merchant_access_token_cannot_update_a_path_and_gets_48001()
    {
        var merchant = await server.AddMerchantAsync();
        var merchantToken = await server.AccessTokenAsync(merchant);

        var reply = await server.UpdatePathAsync(merchantToken, Seed());

        WxAssert.Error(48001, reply, "api unauthorized");
    }

    [Fact]
    public async Task Carriers_updating_many_new_waybills_at_once_each_get_the_answer_for_their_own_waybill_and_token()
    {
        // The server has not seen these waybills: it reads those asked for at the same time together, and each request
        // must still be answered for its own waybill and token, and each accepted event stored on its own waybill.
        var merchant = await server.AddMerchantAsync();
        var merchantToken = await server.AccessTokenAsync(merchant);
        var waybills = new List<Waybill>();
        for (var i = 0; i < 16; i++)
        {
            waybills.Add(await server.AddWaybillAsync("SF", $"MANY-{i}", $"TOKEN-{i}", merchant));
        }

        var requests = waybills.SelectMany((w, i) => new[]
        {
            (Body: Seed(token: w.Token, waybillId: w.WaybillId, actionMsg: $"到达第{i}站"), Expect: 0),
            (Body: Seed(token: $"TOKEN-{i + 1}", waybillId: w.WaybillId, actionMsg: "not this one's token"), Expect: 9300507),
            (Body: Seed(token: w.Token, waybillId: $"UNKNOWN-{i}"), Expect: 40199),
            (Body: Seed(token: w.Token, waybillId: w.WaybillId, actionTime: 1533052801, actionMsg: $"派送第{i}件"), Expect: 0),
        }).ToList();

        var replies = await Task.WhenAll(requests.Select(r => server.UpdatePathAsync(accessToken, r.Body)));

        Assert.Equal(requests.Select(r => r.Expect), replies.Select(r => r.GetProperty("errcode").GetInt32()));
        for (var i = 0; i < waybills.Count; i++)
        {
            var path = await server.GetPathAsync(merchantToken, new { delivery_id = "SF", waybill_id = waybills[i].WaybillId });
            Assert.Equal(
                [$"到达第{i}站", $"派送第{i}件"],
                path.GetProperty("path_item_list").EnumerateArray().Select(e => e.GetProperty("action_msg").GetString()));
        }
    }

    [Fact]
    public async Task Unknown_fields_are_ignored()
    {
        var reply = await server.UpdatePathAsync(accessToken, new { token = "TOKEN", waybill_id = SeedWaybill, action_time = 1533052800, action_type = 300002, action_msg = "x", extra = new { deep = new[] { 1, 2 } } });
        WxAssert.Ok(reply);
    }

    [Fact]
    public async Task An_unknown_url_answers_40066_in_the_WeChat_envelope()
    {
        using var response = await server.CreateClient().GetAsync("/cgi-bin/express/delivery/path/nothing");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"errcode\":40066", text);
    }
}

public sealed class UpdatePathTestsOnSqlite() : UpdatePathTests(StoreKind.Sqlite);

public sealed class UpdatePathTestsOnPostgres() : UpdatePathTests(StoreKind.Postgres);
