using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WxLogistics.AccessToken;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Core;

/// <summary>GET /cgi-bin/token and POST /cgi-bin/stable_token, with WeChat's lifetimes and overlaps.</summary>
public abstract class AccessTokenTests(StoreKind storeKind) : IAsyncLifetime
{
    readonly WxServer server = new(storeKind, new ManualClock(DateTimeOffset.Parse("2026-11-28T12:00:00Z")));
    App carrier = new("", "");

    public async Task InitializeAsync()
    {
        carrier = await server.AddCarrierAsync("SF");
        await server.AddWaybillAsync("SF", "W1", "TOKEN");
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    Task<JsonElement> TokenAsync(string query) => server.GetJsonAsync($"/cgi-bin/token?{query}");

    Task<JsonElement> StableAsync(object body) => server.PostJsonAsync("/cgi-bin/stable_token", body);

    async Task<JsonElement> UseAsync(string accessToken) =>
        await server.UpdatePathAsync(accessToken, new { token = "TOKEN", waybill_id = "W1", action_time = 1533052800, action_type = 100001, action_msg = "揽件" });

    [Fact]
    public async Task An_app_gets_an_access_token_valid_for_7200_seconds()
    {
        var reply = await TokenAsync($"grant_type=client_credential&appid={carrier.AppId}&secret={carrier.Secret}");

        Assert.Equal(7200, reply.GetProperty("expires_in").GetInt32());
        Assert.True(reply.GetProperty("access_token").GetString()!.Length >= 32);
        WxAssert.Ok(await UseAsync(reply.GetProperty("access_token").GetString()!));
    }

    [Theory]
    [InlineData("appid={0}&secret={1}", 40002)]
    [InlineData("grant_type=password&appid={0}&secret={1}", 40002)]
    [InlineData("grant_type=client_credential&secret={1}", 41002)]
    [InlineData("grant_type=client_credential&appid={0}", 41004)]
    [InlineData("grant_type=client_credential&appid=wx0000000000000000&secret={1}", 40013)]
    [InlineData("grant_type=client_credential&appid=nonsense&secret={1}", 40013)]
    [InlineData("grant_type=client_credential&appid={0}&secret=00000000000000000000000000000000", 40125)]
    public async Task Bad_credentials_get_WeChats_error_codes(string query, int errcode)
    {
        var reply = await TokenAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, query, carrier.AppId, carrier.Secret));
        WxAssert.Error(errcode, reply);
    }

    [Fact]
    public async Task A_new_token_retires_the_previous_one_after_a_five_minute_overlap()
    {
        var first = await server.AccessTokenAsync(carrier);
        var second = await server.AccessTokenAsync(carrier);

        server.Clock!.Advance(TimeSpan.FromSeconds(299));
        WxAssert.Ok(await UseAsync(first));

        server.Clock.Advance(TimeSpan.FromSeconds(1));
        WxAssert.Error(40001, await UseAsync(first), "not latest");
        WxAssert.Ok(await UseAsync(second));
    }

    [Fact]
    public async Task Calls_that_find_their_access_token_due_for_a_recheck_share_one_read_of_the_store()
    {
        var (token, readsSince) = await TokenInUseAsync();

        server.Clock!.Advance(TimeSpan.FromSeconds(6));
        var replies = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => UseAsync(token)));

        Assert.All(replies, reply => WxAssert.Ok(reply));
        Assert.Equal(1, readsSince());
    }

    [Fact]
    public async Task A_token_in_steady_use_is_read_again_in_the_background_before_its_calls_would_wait_for_the_store()
    {
        var (token, readsSince) = await TokenInUseAsync();

        server.Clock!.Advance(TimeSpan.FromSeconds(3));
        WxAssert.Ok(await UseAsync(token));
        await server.Services.GetRequiredService<AccessTokens>().ReadsDoneAsync();
        Assert.Equal(1, readsSince());

        // Five seconds after the first read, when it would be due, and two after the background one: no read.
        server.Clock.Advance(TimeSpan.FromSeconds(2));
        WxAssert.Ok(await UseAsync(token));
        Assert.Equal(1, readsSince());
    }

    /// <summary>A token checked once, and how many times the server has read it from the store since.</summary>
    async Task<(string Token, Func<long> ReadsSince)> TokenInUseAsync()
    {
        var token = await server.AccessTokenAsync(carrier);
        WxAssert.Ok(await UseAsync(token));
        var tokens = server.Services.GetRequiredService<AccessTokens>();
        var before = tokens.StoreReads;
        return (token, () => tokens.StoreReads - before);
    }

    [Fact]
    public async Task A_new_token_for_one_app_does_not_retire_another_apps_token()
    {
        var merchant = await server.AddMerchantAsync();
        var carrierToken = await server.AccessTokenAsync(carrier);

        await server.AccessTokenAsync(merchant);
        await server.AccessTokenAsync(merchant);
        server.Clock!.Advance(TimeSpan.FromMinutes(6));

        WxAssert.Ok(await UseAsync(carrierToken));
    }

    [Fact]
    public async Task The_stable_token_is_the_same_on_every_call_while_it_is_fresh()
    {
        var request = new { grant_type = "client_credential", appid = carrier.AppId, secret = carrier.Secret };
        var first = await StableAsync(request);
        server.Clock!.Advance(TimeSpan.FromSeconds(600));
        var second = await StableAsync(request);

        Assert.Equal(first.GetProperty("access_token").GetString(), second.GetProperty("access_token").GetString());
        Assert.Equal(7200 - 600, second.GetProperty("expires_in").GetInt32());
        WxAssert.Ok(await UseAsync(second.GetProperty("access_token").GetString()!));
    }

    [Fact]
    public async Task The_stable_token_is_renewed_five_minutes_before_it_expires_and_the_old_one_runs_out()
    {
        var request = new { grant_type = "client_credential", appid = carrier.AppId, secret = carrier.Secret };
        var first = (await StableAsync(request)).GetProperty("access_token").GetString()!;

        server.Clock!.Advance(TimeSpan.FromSeconds(7200 - 300));
        var renewed = await StableAsync(request);
        var second = renewed.GetProperty("access_token").GetString()!;

        Assert.NotEqual(first, second);
        Assert.Equal(7200, renewed.GetProperty("expires_in").GetInt32());
        WxAssert.Ok(await UseAsync(first));
        server.Clock.Advance(TimeSpan.FromSeconds(300));
        WxAssert.Error(42001, await UseAsync(first));
        WxAssert.Ok(await UseAsync(second));
    }

    [Fact]
    public async Task Force_refresh_replaces_the_stable_token_at_once_but_not_twice_within_30_seconds()
    {
        var request = new { grant_type = "client_credential", appid = carrier.AppId, secret = carrier.Secret };
        var force = new { grant_type = "client_credential", appid = carrier.AppId, secret = carrier.Secret, force_refresh = true };
        var first = (await StableAsync(request)).GetProperty("access_token").GetString()!;

        var tooSoon = (await StableAsync(force)).GetProperty("access_token").GetString()!;
        Assert.Equal(first, tooSoon);

        server.Clock!.Advance(TimeSpan.FromSeconds(30));
        var forced = (await StableAsync(force)).GetProperty("access_token").GetString()!;

        Assert.NotEqual(first, forced);
        WxAssert.Error(40001, await UseAsync(first));
        WxAssert.Ok(await UseAsync(forced));
    }

    [Fact]
    public async Task Force_refresh_is_limited_to_20_a_day()
    {
        var force = new { grant_type = "client_credential", appid = carrier.AppId, secret = carrier.Secret, force_refresh = true };
        for (var i = 0; i < 20; i++)
        {
            Assert.True((await StableAsync(force)).TryGetProperty("access_token", out _));
            server.Clock!.Advance(TimeSpan.FromSeconds(31));
        }

        WxAssert.Error(45009, await StableAsync(force));
    }

    [Fact]
    public async Task Stable_and_plain_tokens_are_isolated_from_each_other()
    {
        var stable = (await StableAsync(new { grant_type = "client_credential", appid = carrier.AppId, secret = carrier.Secret })).GetProperty("access_token").GetString()!;
        await server.AccessTokenAsync(carrier);
        await server.AccessTokenAsync(carrier);
        server.Clock!.Advance(TimeSpan.FromMinutes(10));

        WxAssert.Ok(await UseAsync(stable));
    }

    [Theory]
    [InlineData("""{"grant_type":"client_credential","appid":1,"secret":"x"}""", 47001)]
    [InlineData("""{"grant_type":"client_credential","appid":"wx0000000000000000","secret":"x","force_refresh":"yes"}""", 47001)]
    [InlineData("""not json""", 47001)]
    [InlineData("""{"appid":"wx0000000000000000","secret":"x"}""", 40002)]
    [InlineData("""{"grant_type":"client_credential","secret":"x"}""", 41002)]
    [InlineData("""{"grant_type":"client_credential","appid":"wx0000000000000000"}""", 41004)]
    [InlineData("""{"grant_type":"client_credential","appid":"wx0000000000000000","secret":"x"}""", 40013)]
    public async Task Stable_token_requests_are_checked_like_WeChats(string body, int errcode)
    {
        var reply = await server.PostRawAsync("/cgi-bin/stable_token", Encoding.UTF8.GetBytes(body));
        WxAssert.Error(errcode, reply);
    }

    [Fact]
    public async Task Stable_token_takes_only_POST()
    {
        WxAssert.Error(43002, await server.GetJsonAsync("/cgi-bin/stable_token"));
        WxAssert.Error(44002, await server.PostRawAsync("/cgi-bin/stable_token", []));
    }

    [Fact]
    public async Task A_stable_token_survives_a_restart_of_the_server()
    {
        var request = new { grant_type = "client_credential", appid = carrier.AppId, secret = carrier.Secret };
        var before = (await StableAsync(request)).GetProperty("access_token").GetString()!;
        await server.DisposeAsync();

        await using var restarted = new WxServer(server.Store, server.Clock);
        var after = await restarted.PostJsonAsync("/cgi-bin/stable_token", request);

        Assert.Equal(before, after.GetProperty("access_token").GetString());
    }
}

public sealed class AccessTokenTestsOnSqlite() : AccessTokenTests(StoreKind.Sqlite);

public sealed class AccessTokenTestsOnPostgres() : AccessTokenTests(StoreKind.Postgres);
