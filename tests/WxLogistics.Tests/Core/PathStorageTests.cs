using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Core;

/// <summary>What the store promises: durable, idempotent, time-ordered paths, also under concurrency and restarts.</summary>
public abstract class PathStorageTests(StoreKind storeKind) : IAsyncLifetime
{
    readonly WxServer server = new(storeKind);
    App merchant = new("", "");
    Waybill waybill = new("", "", "");
    string carrierToken = "";
    string merchantToken = "";

    public async Task InitializeAsync() =>
        (merchant, waybill, carrierToken, merchantToken) = await server.AddShipmentAsync(orderId: "order-1", openId: "openid-1");

    public async Task DisposeAsync() => await server.DisposeAsync();

    object Event(long actionTime, int actionType, string actionMsg) =>
        new { token = waybill.Token, waybill_id = waybill.WaybillId, action_time = actionTime, action_type = actionType, action_msg = actionMsg };

    async Task<List<(long Time, int Type, string Msg)>> PathAsync(WxServer on)
    {
        var reply = await on.GetPathAsync(merchantToken, new { order_id = "order-1", openid = "openid-1", delivery_id = "SF", waybill_id = waybill.WaybillId });
        var items = reply.GetProperty("path_item_list").EnumerateArray()
            .Select(i => (i.GetProperty("action_time").GetInt64(), i.GetProperty("action_type").GetInt32(), i.GetProperty("action_msg").GetString()!))
            .ToList();
        Assert.Equal(items.Count, reply.GetProperty("path_item_num").GetInt32());
        return items;
    }

    [Fact]
    public async Task A_repeated_event_is_acknowledged_again_and_stored_once()
    {
        for (var i = 0; i < 3; i++)
        {
            WxAssert.Ok(await server.UpdatePathAsync(carrierToken, Event(1533052800, 100001, "快递员已成功取件")));
        }

        var path = await PathAsync(server);

        Assert.Single(path);
    }

    [Fact]
    public async Task Events_that_differ_only_in_message_are_both_kept()
    {
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, Event(1533052800, 200001, "到达广州")));
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, Event(1533052800, 200001, "到达深圳")));

        Assert.Equal(["到达广州", "到达深圳"], (await PathAsync(server)).Select(e => e.Msg));
    }

    [Fact]
    public async Task Out_of_order_events_come_back_sorted_by_time_then_by_arrival()
    {
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, Event(1533072800, 300002, "开始派送")));
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, Event(1533052800, 100001, "揽件成功")));
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, Event(1533062800, 200001, "第二条同一时间")));
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, Event(1533062800, 200001, "再到一条同一时间")));

        var path = await PathAsync(server);

        Assert.Equal([1533052800L, 1533062800L, 1533062800L, 1533072800L], path.Select(e => e.Time));
        Assert.Equal("第二条同一时间", path[1].Msg);
        Assert.Equal("再到一条同一时间", path[2].Msg);
    }

    [Fact]
    public async Task An_acknowledged_event_survives_a_restart_of_the_server_on_the_same_data_directory()
    {
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, Event(1533052800, 100001, "揽件成功")));
        await server.DisposeAsync();

        await using var restarted = new WxServer(server.Store);
        var path = await PathAsync(restarted);

        Assert.Equal([(1533052800L, 100001, "揽件成功")], path);
    }

    [Fact]
    public async Task Two_hundred_concurrent_updates_to_one_waybill_all_land_exactly_once()
    {
        var updates = Enumerable.Range(0, 200)
            .Select(i => server.UpdatePathAsync(carrierToken, Event(1533052800 + (i % 7), 200001, $"第{i}站")))
            .ToList();
        var replies = await Task.WhenAll(updates);

        Assert.All(replies, WxAssert.Ok);
        var path = await PathAsync(server);
        Assert.Equal(200, path.Count);
        Assert.Equal(200, path.Select(e => e.Msg).Distinct().Count());
        Assert.Equal(path.OrderBy(e => e.Time).Select(e => e.Time), path.Select(e => e.Time));
    }

    [Fact]
    public async Task Each_real_change_bumps_the_path_version_and_a_repeat_does_not()
    {
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, Event(1533052800, 100001, "揽件成功")));
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, Event(1533052800, 100001, "揽件成功")));
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, Event(1533062800, 200001, "运输中")));

        Assert.True(Apps.DeliveryId.TryParse("SF", out var deliveryId));
        Assert.True(Apps.WaybillId.TryParse(waybill.WaybillId, out var waybillId));
        await using var store = await server.Store.OpenAsync();
        var record = await store.FindWaybillAsync(new Apps.WaybillKey(deliveryId, waybillId));
        Assert.Equal(2, record!.PathVersion);
    }
}

public sealed class PathStorageTestsOnSqlite() : PathStorageTests(StoreKind.Sqlite);

public sealed class PathStorageTestsOnPostgres() : PathStorageTests(StoreKind.Postgres);
