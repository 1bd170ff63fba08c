using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Core;

/// <summary>
/// WxLogistics:MaxEventsPerWaybill: an operator's guard against a carrier whose every retry is a new event ("updated at
/// 10:01:07"), which would grow one path, its getPath answer and each push of it without end.
/// </summary>
public abstract class PathLimitTests(StoreKind storeKind) : IAsyncLifetime
{
    const int Limit = 5;
    const long Start = 1_700_000_000;

    readonly string directory = TempDirectory.Create();
    WxServer server = null!;
    Waybill waybill = new("", "", "");
    string carrierToken = "";
    string merchantToken = "";

    public async Task InitializeAsync()
    {
        server = new WxServer(storeKind) { Settings = { ["WxLogistics:MaxEventsPerWaybill"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture) } };
        (_, waybill, carrierToken, merchantToken) = await server.AddShipmentAsync("LIMIT1", "o-1", "u-1");
    }

    public async Task DisposeAsync() => await server.DisposeAsync();


    Task<System.Text.Json.JsonElement> UpdateAsync(Waybill on, int n) => server.UpdatePathAsync(
        carrierToken, new { token = on.Token, waybill_id = on.WaybillId, action_time = Start + n, action_type = 200001, action_msg = $"第{n}站" });

    async Task<int> PathLengthAsync(Waybill of) =>
        (await server.GetPathAsync(merchantToken, new { delivery_id = "SF", waybill_id = of.WaybillId })).GetProperty("path_item_num").GetInt32();

    [Fact]
    public async Task A_new_event_for_a_full_path_gets_9300526_while_a_repeat_is_still_ok_and_other_waybills_go_on()
    {
        for (var n = 1; n <= Limit; n++)
        {
            WxAssert.Ok(await UpdateAsync(waybill, n));
        }

        var refused = await UpdateAsync(waybill, Limit + 1);

        Assert.Equal(9300526, refused.GetProperty("errcode").GetInt32());
        Assert.StartsWith(
            $"arg size exceed limit: the path of waybill LIMIT1 holds {Limit} events, the most this server keeps for a waybill (WxLogistics:MaxEventsPerWaybill) rid: ",
            refused.GetProperty("errmsg").GetString());
        WxAssert.Ok(await UpdateAsync(waybill, 3));
        Assert.Equal(Limit, await PathLengthAsync(waybill));

        var other = await server.AddWaybillAsync("SF", "LIMIT2", merchant: null);
        WxAssert.Ok(await UpdateAsync(other, 1));
    }

    [Fact]
    public async Task A_path_filled_by_an_import_refuses_the_servers_first_update_of_it()
    {
        // The server has not seen this waybill: on PostgreSQL the append itself checks its token and its path.
        var file = Path.Combine(directory, "full.jsonl");
        await File.WriteAllLinesAsync(file, Enumerable.Range(1, Limit).Select(n =>
            $$"""{"delivery_id":"SF","waybill_id":"LIMIT1","action_time":{{Start + n}},"action_type":200001,"action_msg":"第{{n}}站"}"""));
        var (exitCode, output, error) = await ServerProcess.RunToEndAsync(["path", "import", file, "--json", .. server.Store.Args]);
        Assert.True(exitCode == 0, $"import failed ({exitCode}): {error} {output}");

        Assert.Equal(9300526, (await UpdateAsync(waybill, Limit + 1)).GetProperty("errcode").GetInt32());
        WxAssert.Ok(await UpdateAsync(waybill, 1));
        Assert.Equal(9300526, (await UpdateAsync(waybill, Limit + 2)).GetProperty("errcode").GetInt32());
        Assert.Equal(Limit, await PathLengthAsync(waybill));
    }

    [Fact]
    public async Task The_refusal_shows_in_the_call_inspector_with_its_reason()
    {
        for (var n = 1; n <= Limit + 1; n++)
        {
            await UpdateAsync(waybill, n);
        }

        var carrier = (await server.OperatorAsync("app", "list", "--json")).GetProperty("apps").EnumerateArray().Single(a => a.GetProperty("delivery_id").GetString() == "SF");
        await Eventually.TrueAsync(
            async () => (await server.OperatorAsync("calls", "list", "--appid", carrier.GetProperty("appid").GetString()!, "--errcode", "9300526", "--json"))
                .GetProperty("calls").EnumerateArray().Any(c => c.GetProperty("reason").GetString()!.Contains($"holds {Limit} events", StringComparison.Ordinal)),
            "the refused call is in the call inspector");
    }

    [Fact]
    public async Task The_TEST_sandbox_s_testUpdateOrder_keeps_the_same_limit()
    {
        var placed = await server.PostJsonAsync(
            $"/cgi-bin/express/business/order/add?access_token={merchantToken}", OrderBodies.Order(orderId: "t-1", deliveryId: "TEST", bizId: "test_biz_id"));
        var waybillId = placed.GetProperty("waybill_id").GetString()!;
        Task<System.Text.Json.JsonElement> TestUpdateAsync(int n) => server.PostJsonAsync(
            $"/cgi-bin/express/business/test_update_order?access_token={merchantToken}",
            new { biz_id = "test_biz_id", order_id = "t-1", delivery_id = "TEST", waybill_id = waybillId, action_time = Start + n, action_type = 200001, action_msg = $"模拟{n}" });

        for (var n = 1; n <= Limit; n++)
        {
            WxAssert.Ok(await TestUpdateAsync(n));
        }

        Assert.Equal(9300526, (await TestUpdateAsync(Limit + 1)).GetProperty("errcode").GetInt32());
        WxAssert.Ok(await TestUpdateAsync(1));
    }

    [Fact]
    public async Task Many_new_events_at_once_for_one_waybill_store_exactly_the_limit()
    {
        // They share group commits: the limit holds within one batch as well as across them. The first update, alone,
        // leaves the waybill's token in the server's memory, so that the rest take the path of a known token.
        var many = await server.AddWaybillAsync("SF", "LIMIT3", merchant: null);
        WxAssert.Ok(await UpdateAsync(many, 0));

        var replies = await Task.WhenAll(Enumerable.Range(1, 40).Select(n => server.UpdatePathAsync(
            carrierToken, new { token = many.Token, waybill_id = "LIMIT3", action_time = Start + n, action_type = 200001, action_msg = $"并发{n}" })));

        Assert.Equal(Limit - 1, replies.Count(r => r.GetProperty("errcode").GetInt32() == 0));
        Assert.Equal(40 - (Limit - 1), replies.Count(r => r.GetProperty("errcode").GetInt32() == 9300526));
        await using var stored = await server.Store.OpenAsync();
        Assert.Equal(Limit, (await stored.ReadPathAsync(Keys.Sf("LIMIT3"))).Count);
    }

    [Fact]
    public async Task Events_sent_twice_at_once_count_once_toward_the_limit_and_each_copy_gets_its_twins_answer()
    {
        var twice = await server.AddWaybillAsync("SF", "LIMIT4", merchant: null);

        var replies = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => server.UpdatePathAsync(
            carrierToken, new { token = twice.Token, waybill_id = "LIMIT4", action_time = Start + (i / 2), action_type = 200001, action_msg = $"重发{i / 2}" })));

        // 20 events, each twice: 5 stored (both copies answered 0), 15 refused (both copies 9300526).
        Assert.Equal(2 * Limit, replies.Count(r => r.GetProperty("errcode").GetInt32() == 0));
        Assert.Equal(40 - (2 * Limit), replies.Count(r => r.GetProperty("errcode").GetInt32() == 9300526));
        for (var pair = 0; pair < 20; pair++)
        {
            Assert.Equal(replies[2 * pair].GetProperty("errcode").GetInt32(), replies[(2 * pair) + 1].GetProperty("errcode").GetInt32());
        }

        await using var stored = await server.Store.OpenAsync();
        Assert.Equal(Limit, (await stored.ReadPathAsync(Keys.Sf("LIMIT4"))).Count);
    }

    [Fact]
    public async Task A_negative_limit_stops_the_server_with_a_clear_message()
    {
        var (exitCode, _, error) = await ServerProcess.RunToEndAsync(
            "--urls", "http://127.0.0.1:0", "--data", TempDirectory.Create(), "--WxLogistics:MaxEventsPerWaybill", "-1");

        Assert.Equal(2, exitCode);
        Assert.Contains("WxLogistics:MaxEventsPerWaybill must be 0 (no limit) or a number of events", error);
    }
}

public sealed class PathLimitTestsOnSqlite() : PathLimitTests(StoreKind.Sqlite);

public sealed class PathLimitTestsOnPostgres() : PathLimitTests(StoreKind.Postgres);
