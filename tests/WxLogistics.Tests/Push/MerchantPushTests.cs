using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using Microsoft.Extensions.DependencyInjection;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Push;

/// <summary>add_express_path pushes to a merchant's message server: signed, complete, and never lost.</summary>
public abstract class MerchantPushTests(StoreKind storeKind) : IAsyncLifetime
{
    const string PushToken = "merchantToken42";

    readonly ManualClock clock = new(DateTimeOffset.Parse("2026-11-28T12:00:00Z"));
    readonly PushReceiver receiver = new();
    WxServer server = null!;
    App carrier = new("", "");
    App merchant = new("", "");
    Waybill waybill = new("", "", "");
    string carrierToken = "";

    public async Task InitializeAsync()
    {
        server = new WxServer(storeKind, clock);
        await receiver.StartAsync();
        carrier = await server.AddCarrierAsync("SF");
        merchant = await AddMerchantAsync("json");
        waybill = await server.AddWaybillAsync("SF", "SF1000000001", merchant: merchant, orderId: "order-1", openId: "openid-1");
        carrierToken = await server.AccessTokenAsync(carrier);
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        await receiver.DisposeAsync();
    }

    async Task<App> AddMerchantAsync(string format, PushReceiver? to = null)
    {
        var json = await server.OperatorAsync("app", "add", "--role", "merchant", "--name", "shop", "--push-url", (to ?? receiver).Url, "--push-token", PushToken, "--format", format);
        return new App(json.GetProperty("appid").GetString()!, json.GetProperty("secret").GetString()!);
    }

    async Task UpdateAsync(long actionTime, int actionType, string message, Waybill? on = null)
    {
        var target = on ?? waybill;
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, new { token = target.Token, waybill_id = target.WaybillId, action_time = actionTime, action_type = actionType, action_msg = message }));
    }

    static JsonElement Json(ReceivedPush push) => JsonDocument.Parse(push.Body).RootElement;

    Task UntilVersionAsync(PushReceiver at, long version) =>
        Eventually.TrueAsync(() => at.Pushes.Any(p => Json(p).GetProperty("Version").GetInt64() == version), $"version {version} is pushed");

    async Task<JsonElement> DeliveryAsync(App of)
    {
        var list = await server.OperatorAsync("push", "list", "--merchant-appid", of.AppId, "--json");
        return list.GetProperty("deliveries")[0];
    }

    [Fact]
    public async Task A_json_push_is_signed_and_carries_the_whole_path_in_time_order_with_its_version()
    {
        await UpdateAsync(1546924841, 200001, "到达广州集包地");
        await UpdateAsync(1546924840, 100001, "小哥A揽件成功");
        await UpdateAsync(1546924842, 200001, "运往目的地");

        await UntilVersionAsync(receiver, 3);

        var push = receiver.Pushes.Last();
        string[] parts = [PushToken, push.Timestamp, push.Nonce];
        Array.Sort(parts, StringComparer.Ordinal);
        Assert.Equal(Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(string.Concat(parts)))), push.Signature);
        var json = Json(push);
        Assert.Equal(
            ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Event", "DeliveryID", "WayBillId", "OrderId", "Version", "Count", "Actions"],
            json.EnumerateObject().Select(p => p.Name));
        Assert.Equal("event", json.GetProperty("MsgType").GetString());
        Assert.Equal("add_express_path", json.GetProperty("Event").GetString());
        Assert.Equal("SF", json.GetProperty("DeliveryID").GetString());
        Assert.Equal("SF1000000001", json.GetProperty("WayBillId").GetString());
        Assert.Equal("order-1", json.GetProperty("OrderId").GetString());
        Assert.Equal(3, json.GetProperty("Count").GetInt32());
        Assert.Equal(
            """[{"ActionTime":1546924840,"ActionType":100001,"ActionMsg":"小哥A揽件成功"},{"ActionTime":1546924841,"ActionType":200001,"ActionMsg":"到达广州集包地"},{"ActionTime":1546924842,"ActionType":200001,"ActionMsg":"运往目的地"}]""",
            json.GetProperty("Actions").GetRawText());
        Assert.StartsWith("application/json", push.ContentType);
    }

    [Fact]
    public async Task An_xml_push_matches_WeChats_sample_shape_with_CDATA_strings()
    {
        var xmlMerchant = await AddMerchantAsync("xml");
        var xmlWaybill = await server.AddWaybillAsync("SF", "123456789", merchant: xmlMerchant, orderId: "123456");
        await UpdateAsync(1546924840, 100001, "小哥A揽件成功", xmlWaybill);
        await UpdateAsync(1546924841, 200001, "到达广州集包地", xmlWaybill);
        await UpdateAsync(1546924842, 200001, "运往目的地 ]]> <b>", xmlWaybill);

        await Eventually.TrueAsync(() => receiver.Pushes.Any(p => p.Body.Contains("<Version>3</Version>")), "version 3 is pushed as XML");

        var push = receiver.Pushes.Last(p => p.Body.StartsWith("<xml>", StringComparison.Ordinal));
        Assert.Contains("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[add_express_path]]></Event><DeliveryID><![CDATA[SF]]></DeliveryID><WayBillId><![CDATA[123456789]]></WayBillId><OrderId><![CDATA[123456]]></OrderId><Version>3</Version><Count>3</Count>", push.Body);
        Assert.Contains("<Actions><ActionTime>1546924840</ActionTime><ActionType>100001</ActionType><ActionMsg><![CDATA[小哥A揽件成功]]></ActionMsg></Actions>", push.Body);
        var xml = XDocument.Parse(push.Body).Root!;
        Assert.Equal("xml", xml.Name.LocalName);
        Assert.Equal(["小哥A揽件成功", "到达广州集包地", "运往目的地 ]]> <b>"], xml.Elements("Actions").Select(a => a.Element("ActionMsg")!.Value));
        Assert.StartsWith("text/xml", push.ContentType);
    }

    [Fact]
    public async Task A_merchant_that_is_down_for_a_while_ends_up_with_the_latest_version()
    {
        await receiver.StopAsync();
        await UpdateAsync(1546924840, 100001, "揽件");
        await Eventually.TrueAsync(async () => (await DeliveryAsync(merchant)).GetProperty("attempts").GetInt32() >= 1, "a delivery attempt failed");
        await UpdateAsync(1546924841, 200001, "运输");
        await UpdateAsync(1546924842, 300002, "派送");

        var failed = await DeliveryAsync(merchant);
        Assert.Equal("pending", failed.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(failed.GetProperty("last_error").GetString()));

        await receiver.StartAsync();
        clock.Advance(TimeSpan.FromMinutes(2));
        await UntilVersionAsync(receiver, 3);

        Assert.Equal(3, Json(receiver.Pushes.Last()).GetProperty("Count").GetInt32());
        await Eventually.TrueAsync(async () => (await DeliveryAsync(merchant)).GetProperty("status").GetString() == "delivered", "the outbox says delivered");
    }

    [Fact]
    public async Task A_push_queued_before_a_restart_is_delivered_after_it()
    {
        await receiver.StopAsync();
        await UpdateAsync(1546924840, 100001, "揽件");
        await UpdateAsync(1546924841, 200001, "运输");
        await Eventually.TrueAsync(async () => (await DeliveryAsync(merchant)).GetProperty("attempts").GetInt32() >= 1, "a delivery attempt failed");
        await server.DisposeAsync();

        await receiver.StartAsync();
        clock.Advance(TimeSpan.FromMinutes(5));
        server = new WxServer(server.Store, clock);
        _ = server.Server; // start it

        await UntilVersionAsync(receiver, 2);
    }

    [Fact]
    public async Task An_event_stored_while_a_push_is_out_is_pushed_as_soon_as_that_push_is_recorded()
    {
        // The first push waits at the merchant until the second event is stored; once the server has recorded it as
        // delivered, the deliverer is held for a second (in the metric it counts then), while the claims go on. The
        // clock does not move, so a claim of version 2 that nobody delivered would hold its lease for good.
        using var secondStored = new ManualResetEventSlim();
        var answers = 0;
        receiver.Answer = () =>
        {
            if (Interlocked.Increment(ref answers) == 1)
            {
                secondStored.Wait(TimeSpan.FromSeconds(10));
            }

            return (200, "success");
        };
        using var hold = HoldAfterFirstDelivery(TimeSpan.FromSeconds(1));

        await UpdateAsync(1546924840, 100001, "揽件");
        await Eventually.TrueAsync(() => !receiver.Pushes.IsEmpty, "version 1 is being pushed");
        await UpdateAsync(1546924841, 200001, "运输");
        secondStored.Set();

        await UntilVersionAsync(receiver, 2);
        Assert.Equal([1L, 2L], receiver.Pushes.Select(p => Json(p).GetProperty("Version").GetInt64()));
    }

    /// <summary>Blocks the first "delivered" count of this server's push metric for <paramref name="hold"/>.</summary>
    MeterListener HoldAfterFirstDelivery(TimeSpan hold)
    {
        var meters = server.Services.GetRequiredService<IMeterFactory>();
        var held = 0;
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, listening) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Name == "wxlogistics.push.deliveries")
                {
                    listening.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "outcome", Value: "delivered" } && Interlocked.Exchange(ref held, 1) == 0)
                {
                    Thread.Sleep(hold);
                }
            }
        });
        listener.Start();
        return listener;
    }

    [Fact]
    public async Task A_slow_merchant_does_not_delay_another_merchants_pushes()
    {
        await using var slowReceiver = new PushReceiver { Delay = TimeSpan.FromSeconds(8) };
        await slowReceiver.StartAsync();
        var slowMerchant = await AddMerchantAsync("json", slowReceiver);
        var slowWaybill = await server.AddWaybillAsync("SF", "SLOW0001", merchant: slowMerchant, orderId: "slow-order");

        await UpdateAsync(1546924840, 100001, "慢商户的揽件", slowWaybill);
        await Eventually.TrueAsync(() => !slowReceiver.Pushes.IsEmpty, "the slow merchant is being pushed to");
        var started = DateTime.UtcNow;
        await UpdateAsync(1546924840, 100001, "快商户的揽件");
        await UntilVersionAsync(receiver, 1);

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), "the fast merchant waited for the slow one");
    }

    [Fact]
    public async Task A_merchant_that_answers_with_a_large_body_is_not_read_past_64_KB_and_the_push_is_tried_again()
    {
        receiver.Answer = () => (200, new string('x', 1_000_000));
        await UpdateAsync(1546924840, 100001, "揽件");

        await Eventually.TrueAsync(async () => (await DeliveryAsync(merchant)).GetProperty("attempts").GetInt32() >= 1, "a delivery attempt failed");
        var failed = await DeliveryAsync(merchant);
        Assert.Equal("pending", failed.GetProperty("status").GetString());
        Assert.Equal("HTTP 200 with an answer larger than the 64 KB read (expected success or nothing)", failed.GetProperty("last_error").GetString());

        // "success" saved with a byte order mark, as a PHP page saved by some editors answers, is success.
        receiver.Answer = () => (200, "\uFEFFsuccess");
        clock.Advance(TimeSpan.FromMinutes(2));
        await Eventually.TrueAsync(async () => (await DeliveryAsync(merchant)).GetProperty("status").GetString() == "delivered", "the next try is delivered");
    }

    [Fact]
    public async Task A_merchant_answer_holding_a_nul_character_is_kept_as_the_last_error_and_the_push_tried_again()
    {
        // PostgreSQL's text cannot hold U+0000; the answer is the merchant's, so it must not break the push's record.
        receiver.Answer = () => (500, "fail\0ed");
        await UpdateAsync(1546924840, 100001, "揽件");

        await Eventually.TrueAsync(async () => (await DeliveryAsync(merchant)).GetProperty("attempts").GetInt32() >= 1, "a delivery attempt failed");
        var failed = await DeliveryAsync(merchant);
        Assert.Equal("pending", failed.GetProperty("status").GetString());
        Assert.StartsWith("HTTP 500, body 'fail", failed.GetProperty("last_error").GetString());
        Assert.EndsWith("ed' (expected success or nothing)", failed.GetProperty("last_error").GetString());

        receiver.Answer = () => (200, "success");
        clock.Advance(TimeSpan.FromMinutes(2));
        await Eventually.TrueAsync(async () => (await DeliveryAsync(merchant)).GetProperty("status").GetString() == "delivered", "the next try is delivered");
    }

    [Fact]
    public async Task A_push_that_keeps_failing_is_parked_and_can_be_replayed()
    {
        receiver.Answer = () => (200, "fail");
        await UpdateAsync(1546924840, 100001, "揽件");

        for (var attempt = 1; attempt <= 16; attempt++)
        {
            var expected = attempt;
            await Eventually.TrueAsync(async () => (await DeliveryAsync(merchant)).GetProperty("attempts").GetInt32() >= expected, $"attempt {expected} is made");
            clock.Advance(TimeSpan.FromHours(8));
        }

        var parked = await DeliveryAsync(merchant);
        Assert.Equal("dead", parked.GetProperty("status").GetString());
        Assert.Contains("expected success", parked.GetProperty("last_error").GetString());
        var tries = receiver.Pushes.Count;
        await Task.Delay(500);
        Assert.Equal(tries, receiver.Pushes.Count);

        receiver.Answer = () => (200, "success");
        var replay = await server.OperatorAsync("push", "replay", "--merchant-appid", merchant.AppId);

        Assert.Equal(1, replay.GetProperty("queued").GetInt32());
        await Eventually.TrueAsync(async () => (await DeliveryAsync(merchant)).GetProperty("status").GetString() == "delivered", "the replayed push is delivered");
    }

    [Fact]
    public void The_retry_schedule_doubles_from_30_seconds_and_covers_more_than_24_hours_even_with_the_shortest_jitter()
    {
        var retries = Enumerable.Range(1, WxLogistics.Push.PushDelivery.MaxAttempts - 1).ToList();
        var shortest = retries.Select(n => Math.Min(30 * Math.Pow(2, n - 1), 6 * 3600) * 0.8).ToList();

        foreach (var n in retries)
        {
            var wait = WxLogistics.Push.PushDelivery.Backoff(n).TotalSeconds;
            var nominal = Math.Min(30 * Math.Pow(2, n - 1), 6 * 3600);
            Assert.InRange(wait, nominal * 0.8, nominal * 1.2);
        }

        Assert.True(shortest.Sum() >= 24 * 3600, $"the retries span only {shortest.Sum() / 3600:0.0} h at the shortest");
    }

    [Fact]
    public async Task Operators_replay_through_the_admin_endpoint_with_the_admin_key()
    {
        await UpdateAsync(1546924840, 100001, "揽件");
        await UntilVersionAsync(receiver, 1);

        // The receiver has the push before the server has recorded it as delivered: replay after that, not between.
        await Eventually.TrueAsync(async () => (await DeliveryAsync(merchant)).GetProperty("status").GetString() == "delivered", "version 1 is recorded as delivered");
        var client = server.CreateClient();
        var body = new StringContent(JsonSerializer.Serialize(new { merchant_appid = merchant.AppId, delivery_id = "SF", waybill_id = waybill.WaybillId }), Encoding.UTF8, "application/json");

        using var refused = await client.PostAsync("/admin/push/replay", body);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);

        var adminKey = await File.ReadAllTextAsync(Path.Combine(server.DataDirectory, "admin.key"));
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminKey);
        using var replayed = await client.PostAsync("/admin/push/replay", body);
        Assert.Equal(1, JsonDocument.Parse(await replayed.Content.ReadAsStringAsync()).RootElement.GetProperty("queued").GetInt32());
        await Eventually.TrueAsync(() => receiver.Pushes.Count(p => Json(p).GetProperty("Version").GetInt64() == 1) == 2, "version 1 is sent again");

        var list = JsonDocument.Parse(await client.GetStringAsync($"/admin/push?merchant_appid={merchant.AppId}")).RootElement;
        Assert.Equal("SF1000000001", list.GetProperty("deliveries")[0].GetProperty("waybill_id").GetString());
    }
}

public sealed class MerchantPushTestsOnSqlite() : MerchantPushTests(StoreKind.Sqlite);

public sealed class MerchantPushTestsOnPostgres() : MerchantPushTests(StoreKind.Postgres);
