using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using WxLogistics.Apps;
using WxLogistics.Tests.Infrastructure;
using WxLogistics.Wire;

namespace WxLogistics.Tests.Core;

/// <summary>
/// WeChat's call limits, a minute's (45011) and a day's (45009): stable_token's own, and the ones an operator may set
/// for every API.
/// </summary>
public sealed class CallQuotaTests : IAsyncLifetime
{
    const string MinuteQuotaText = "api minute-quota reach limit  mustslower  retry next minute";
    const string DailyQuotaText = "reach max api daily quota limit";

    // Ten seconds into a minute, so that no test's calls straddle two minutes.
    readonly ManualClock clock = new(DateTimeOffset.Parse("2026-11-28T12:00:10Z"));
    readonly WxServer server;

    public CallQuotaTests()
    {
        server = new WxServer(StoreKind.Sqlite, clock) { Settings = { ["WxLogistics:MinuteQuota"] = "5" } };
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await server.DisposeAsync();

    static object Event(Waybill waybill, long actionTime) => new
    {
        token = waybill.Token,
        waybill_id = waybill.WaybillId,
        action_time = actionTime,
        action_type = 100001,
        action_msg = "揽件成功",
    };

    [Fact]
    public async Task A_carrier_past_the_operators_minute_quota_gets_45011_until_the_next_minute_and_other_apps_are_not_held_up()
    {
        var carrier = await server.AddCarrierAsync("SF");
        var waybill = await server.AddWaybillAsync("SF", waybillId: "QUOTA1");
        var other = await server.AddCarrierAsync("ZTO", "中通快递");
        var otherWaybill = await server.AddWaybillAsync("ZTO", waybillId: "QUOTA2");
        var token = await server.AccessTokenAsync(carrier);
        var otherToken = await server.AccessTokenAsync(other);
        var time = clock.GetUtcNow().ToUnixTimeSeconds() - 3600;

        for (var i = 0; i < 5; i++)
        {
            WxAssert.Ok(await server.UpdatePathAsync(token, Event(waybill, time++)));
        }

        var refused = await server.UpdatePathAsync(token, Event(waybill, time++));
        Assert.Equal(45011, refused.GetProperty("errcode").GetInt32());
        Assert.StartsWith($"{MinuteQuotaText}: logistics.updatePath takes 5 calls a minute from an app rid: ", refused.GetProperty("errmsg").GetString());

        // Another carrier has a count of its own; the refused call is in the inspector with its reason.
        WxAssert.Ok(await server.UpdatePathAsync(otherToken, Event(otherWaybill, time)));
        await Eventually.TrueAsync(
            async () => (await server.OperatorAsync("calls", "list", "--appid", carrier.AppId, "--errcode", "45011", "--json")).GetProperty("calls").GetArrayLength() == 1,
            "the refused call is in the inspector");

        // The next minute, the carrier is served again; nothing it sent was stored twice or lost.
        clock.Advance(TimeSpan.FromMinutes(1));
        WxAssert.Ok(await server.UpdatePathAsync(token, Event(waybill, time++)));
        await using var stored = await server.Store.OpenAsync();
        Assert.Equal(6, (await stored.ReadPathAsync(Keys.Sf("QUOTA1"))).Count);
    }

    [Fact]
    public async Task A_call_that_read_the_clock_just_before_the_minute_turned_is_counted_in_the_new_minute_without_restarting_either_count()
    {
        var carrier = await server.AddCarrierAsync("SF");
        var waybill = await server.AddWaybillAsync("SF", waybillId: "QUOTA3");
        var token = await server.AccessTokenAsync(carrier);
        var time = clock.GetUtcNow().ToUnixTimeSeconds() - 3600;

        // The new minute has begun, and the carrier has used its quota in it.
        clock.Advance(TimeSpan.FromSeconds(50));
        for (var i = 0; i < 5; i++)
        {
            WxAssert.Ok(await server.UpdatePathAsync(token, Event(waybill, time++)));
        }

        // A call racing the turn of the minute read the clock a moment before it: it is one more call of the
        // minute that has begun, and the calls after it are still refused.
        clock.Advance(TimeSpan.FromSeconds(-1));
        Assert.Equal(45011, (await server.UpdatePathAsync(token, Event(waybill, time++))).GetProperty("errcode").GetInt32());
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(45011, (await server.UpdatePathAsync(token, Event(waybill, time++))).GetProperty("errcode").GetInt32());

        await using var stored = await server.Store.OpenAsync();
        Assert.Equal(5, (await stored.ReadPathAsync(Keys.Sf("QUOTA3"))).Count);
    }

    [Fact]
    public async Task Stable_token_takes_ten_thousand_calls_a_minute_from_an_app_as_WeChat_documents()
    {
        var carrier = await server.AddCarrierAsync("SF");
        var body = new { grant_type = "client_credential", appid = carrier.AppId, secret = carrier.Secret };
        var client = server.CreateClient();
        async Task<int> StableTokenAsync()
        {
            using var response = await client.PostAsync("/cgi-bin/stable_token", JsonContent.Create(body));
            var reply = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            return reply.TryGetProperty("errcode", out var errcode) ? errcode.GetInt32() : 0;
        }

        for (var i = 0; i < 10_000; i++)
        {
            Assert.Equal(0, await StableTokenAsync());
        }

        var refused = await server.PostJsonAsync("/cgi-bin/stable_token", body);
        Assert.Equal(45011, refused.GetProperty("errcode").GetInt32());
        Assert.StartsWith($"{MinuteQuotaText}: auth.getStableAccessToken takes 10000 calls a minute from an app", refused.GetProperty("errmsg").GetString());

        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, await StableTokenAsync());
    }

    [Fact]
    public async Task A_carrier_past_the_operators_daily_quota_gets_45009_until_midnight_in_China()
    {
        // 20:00:10 in China: the day ends at 16:00 UTC, not at UTC's midnight.
        await using var daily = new WxServer(StoreKind.Sqlite, clock) { Settings = { ["WxLogistics:DailyQuota"] = "3" } };
        var carrier = await daily.AddCarrierAsync("SF");
        var waybill = await daily.AddWaybillAsync("SF", waybillId: "DAILY1");
        var token = await daily.AccessTokenAsync(carrier);
        var time = clock.GetUtcNow().ToUnixTimeSeconds() - 3600;

        for (var i = 0; i < 3; i++)
        {
            WxAssert.Ok(await daily.UpdatePathAsync(token, Event(waybill, time++)));
            clock.Advance(TimeSpan.FromMinutes(30));
        }

        var refused = await daily.UpdatePathAsync(token, Event(waybill, time++));
        Assert.Equal(45009, refused.GetProperty("errcode").GetInt32());
        Assert.StartsWith(
            $"{DailyQuotaText}: logistics.updatePath takes 3 calls a day from an app (days in China time) rid: ", refused.GetProperty("errmsg").GetString());

        // A second before midnight in China it is still the same day; at midnight the carrier is served again.
        clock.Advance(DateTimeOffset.Parse("2026-11-28T15:59:59Z") - clock.GetUtcNow());
        token = await daily.AccessTokenAsync(carrier);
        Assert.Equal(45009, (await daily.UpdatePathAsync(token, Event(waybill, time++))).GetProperty("errcode").GetInt32());
        clock.Advance(TimeSpan.FromSeconds(1));
        WxAssert.Ok(await daily.UpdatePathAsync(token, Event(waybill, time++)));

        await using var stored = await daily.Store.OpenAsync();
        Assert.Equal(4, (await stored.ReadPathAsync(Keys.Sf("DAILY1"))).Count);
    }

    [Fact]
    public async Task Stable_token_takes_five_hundred_thousand_calls_a_day_from_an_app_as_WeChat_documents()
    {
        var carrier = await server.AddCarrierAsync("SF");
        var body = new { grant_type = "client_credential", appid = carrier.AppId, secret = carrier.Secret };
        Assert.True(AppId.TryParse(carrier.AppId, out var appId));

        // All but ten of the day's calls are counted as the server counts each call (sending them over HTTP would take
        // minutes), ten thousand a minute, so that no minute's limit is reached; the other operator quotas do not count.
        var quotas = server.Services.GetRequiredService<CallQuotas>();
        for (var call = 0; call < CallQuotas.StableTokenPerDay - 10; call++)
        {
            if (call > 0 && call % CallQuotas.StableTokenPerMinute == 0)
            {
                clock.Advance(TimeSpan.FromMinutes(1));
            }

            Assert.Null(quotas.TakeStableToken(appId));
        }

        clock.Advance(TimeSpan.FromMinutes(1));
        for (var i = 0; i < 10; i++)
        {
            Assert.True((await server.PostJsonAsync("/cgi-bin/stable_token", body)).TryGetProperty("access_token", out _));
        }

        var refused = await server.PostJsonAsync("/cgi-bin/stable_token", body);
        Assert.Equal(45009, refused.GetProperty("errcode").GetInt32());
        Assert.StartsWith(
            $"{DailyQuotaText}: auth.getStableAccessToken takes 500000 calls a day from an app (days in China time) rid: ", refused.GetProperty("errmsg").GetString());

        // Midnight in China starts a new day's count.
        clock.Advance(DateTimeOffset.Parse("2026-11-28T16:00:00Z") - clock.GetUtcNow());
        Assert.True((await server.PostJsonAsync("/cgi-bin/stable_token", body)).TryGetProperty("access_token", out _));
    }

    [Fact]
    public async Task A_negative_minute_quota_stops_the_server_with_a_clear_message()
    {
        var (exitCode, _, error) = await ServerProcess.RunToEndAsync("--urls", "http://127.0.0.1:0", "--data", TempDirectory.Create(), "--WxLogistics:MinuteQuota", "-1");

        Assert.Equal(2, exitCode);
        Assert.Contains("WxLogistics:MinuteQuota must be 0 (no limit) or a number of calls a minute", error);
    }

    [Fact]
    public async Task A_negative_daily_quota_stops_the_server_with_a_clear_message()
    {
        var (exitCode, _, error) = await ServerProcess.RunToEndAsync("--urls", "http://127.0.0.1:0", "--data", TempDirectory.Create(), "--WxLogistics:DailyQuota", "-1");

        Assert.Equal(2, exitCode);
        Assert.Contains("WxLogistics:DailyQuota must be 0 (no limit) or a number of calls a day", error);
    }
}
