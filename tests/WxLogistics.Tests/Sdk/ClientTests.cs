using WxLogistics.Client;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Sdk;

/// <summary>The C# SDK against a real server: calls, errors as exceptions, and access_token handling.</summary>
public sealed class ClientTests : IAsyncLifetime
{
    readonly ManualClock clock = new(DateTimeOffset.Parse("2026-11-28T12:00:00Z"));
    readonly WxServer server;
    readonly CountingHandler counter = new();
    App carrier = new("", "");
    App merchant = new("", "");
    Waybill waybill = new("", "", "");

    public ClientTests() => server = new WxServer(clock: clock);

    public async Task InitializeAsync()
    {
        carrier = await server.AddCarrierAsync("SF");
        merchant = await server.AddMerchantAsync();
        waybill = await server.AddWaybillAsync("SF", "SF5550001", merchant: merchant, orderId: "o-1", openId: "u-1");
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    WxLogisticsClient ClientFor(App app, bool stable = true) => new(
        new WxLogisticsClientOptions { AppId = app.AppId, AppSecret = app.Secret, BaseAddress = server.Server.BaseAddress, UseStableToken = stable, TimeProvider = clock },
        server.CreateDefaultClient(counter));

    [Fact]
    public async Task A_carrier_updates_a_path_and_a_merchant_reads_it_through_the_sdk()
    {
        using var carrierClient = ClientFor(carrier);
        using var merchantClient = ClientFor(merchant);

        await carrierClient.DeliveryPath.UpdateAsync(new PathUpdate(waybill.Token, new WaybillId("SF5550001"), DateTimeOffset.FromUnixTimeSeconds(1533052800), ActionType.OutForDelivery, "丽影邓丽君【18666666666】正在派件"));
        var path = await merchantClient.BusinessPath.GetAsync(new DeliveryId("SF"), new WaybillId("SF5550001"), orderId: "o-1");

        var item = Assert.Single(path.Items);
        Assert.Equal(ActionType.OutForDelivery, item.ActionType);
        Assert.Equal(1533052800, item.ActionTime.ToUnixTimeSeconds());
        Assert.Equal("u-1", path.OpenId);
    }

    [Fact]
    public async Task Optional_fields_not_given_are_left_out_of_the_request_not_sent_as_null()
    {
        using var merchantClient = ClientFor(merchant);

        await merchantClient.BusinessPath.GetAsync(new DeliveryId("SF"), new WaybillId("SF5550001"));

        var (_, body) = Assert.Single(counter.Sent, sent => sent.Path == "/cgi-bin/express/business/path/get");
        Assert.Equal("""{"delivery_id":"SF","waybill_id":"SF5550001"}""", body);
    }

    [Fact]
    public async Task A_non_zero_errcode_throws_with_the_errcode_and_errmsg()
    {
        using var client = ClientFor(carrier);

        var error = await Assert.ThrowsAsync<WxLogisticsApiException>(() =>
            client.DeliveryPath.UpdateAsync(new PathUpdate("WRONG", new WaybillId("SF5550001"), DateTimeOffset.FromUnixTimeSeconds(1533052800), ActionType.PickedUp, "揽件")));

        Assert.Equal(9300507, error.ErrorCode);
        Assert.Equal("logistics.updatePath", error.Api);
        Assert.Contains(" rid: ", error.ErrorMessage);
    }

    [Fact]
    public async Task The_token_is_cached_and_renewed_five_minutes_before_it_expires()
    {
        using var client = ClientFor(carrier, stable: false);
        PathUpdate Event(int n) => new(waybill.Token, new WaybillId("SF5550001"), DateTimeOffset.FromUnixTimeSeconds(1533052800 + n), ActionType.InTransit, $"第{n}站");

        await client.DeliveryPath.UpdateAsync(Event(1));
        await client.DeliveryPath.UpdateAsync(Event(2));
        Assert.Equal(1, counter.TokenRequests);

        clock.Advance(TimeSpan.FromSeconds(7200 - 299));
        await client.DeliveryPath.UpdateAsync(Event(3));
        Assert.Equal(2, counter.TokenRequests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Many_calls_made_at_once_by_a_new_client_fetch_one_token_between_them(bool stable)
    {
        using var client = ClientFor(carrier, stable);
        PathUpdate Event(int n) => new(waybill.Token, new WaybillId("SF5550001"), DateTimeOffset.FromUnixTimeSeconds(1533052800 + n), ActionType.InTransit, $"第{n}站");

        await Task.WhenAll(Enumerable.Range(1, 20).Select(n => Task.Run(() => client.DeliveryPath.UpdateAsync(Event(n)))));

        // A /cgi-bin/token per call would have retired each other's tokens and spent the app's daily quota.
        Assert.Equal(1, counter.TokenRequests);
        await using var stored = await server.Store.OpenAsync();
        Assert.Equal(20, (await stored.ReadPathAsync(Keys.Sf("SF5550001"))).Count);
    }

    [Fact]
    public async Task A_token_replaced_elsewhere_is_renewed_once_and_the_call_goes_through()
    {
        using var client = ClientFor(carrier, stable: false);
        PathUpdate Event(int n) => new(waybill.Token, new WaybillId("SF5550001"), DateTimeOffset.FromUnixTimeSeconds(1533052800 + n), ActionType.InTransit, $"第{n}站");
        await client.DeliveryPath.UpdateAsync(Event(1));

        // Another process of the same carrier fetches a new token: this client's one stops after the overlap.
        await server.AccessTokenAsync(carrier);
        clock.Advance(TimeSpan.FromSeconds(301));
        await client.DeliveryPath.UpdateAsync(Event(2));

        Assert.Equal(2, counter.TokenRequests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Many_calls_that_find_the_token_replaced_at_once_renew_it_once_between_them(bool stable)
    {
        using var client = ClientFor(carrier, stable);
        PathUpdate Event(int n) => new(waybill.Token, new WaybillId("SF5550001"), DateTimeOffset.FromUnixTimeSeconds(1533052800 + n), ActionType.InTransit, $"第{n}站");
        await client.DeliveryPath.UpdateAsync(Event(0));

        // Replaced by another process of the carrier: a forced stable_token, or a new /cgi-bin/token and the overlap past.
        if (stable)
        {
            // Past the 30 s within which WeChat answers a forced refresh with the token just issued.
            clock.Advance(TimeSpan.FromSeconds(31));
            var forced = await server.PostJsonAsync("/cgi-bin/stable_token", new { grant_type = "client_credential", appid = carrier.AppId, secret = carrier.Secret, force_refresh = true });
            Assert.True(forced.TryGetProperty("access_token", out _), forced.ToString());
        }
        else
        {
            await server.AccessTokenAsync(carrier);
        }

        clock.Advance(TimeSpan.FromSeconds(301));
        await Task.WhenAll(Enumerable.Range(1, 20).Select(n => client.DeliveryPath.UpdateAsync(Event(n))));

        // Each fetch counts against the app's daily quota, and each forced one retires the token the others hold.
        Assert.Equal(2, counter.TokenRequests);
        await using var stored = await server.Store.OpenAsync();
        Assert.Equal(21, (await stored.ReadPathAsync(Keys.Sf("SF5550001"))).Count);
    }

    [Theory]
    [InlineData("http://gateway.example/wx/")]
    [InlineData("http://gateway.example/wx")]
    public async Task A_client_pointed_at_a_server_behind_a_proxy_path_calls_under_that_path(string baseAddress)
    {
        using var client = new WxLogisticsClient(
            new WxLogisticsClientOptions { AppId = carrier.AppId, AppSecret = carrier.Secret, BaseAddress = new Uri(baseAddress), TimeProvider = clock },
            server.CreateDefaultClient(new ProxyAt("/wx"), counter));

        await client.DeliveryPath.UpdateAsync(new PathUpdate(waybill.Token, new WaybillId("SF5550001"), DateTimeOffset.FromUnixTimeSeconds(1533052800), ActionType.PickedUp, "揽件成功"));

        Assert.Equal(1, counter.TokenRequests);
        await using var stored = await server.Store.OpenAsync();
        Assert.Single(await stored.ReadPathAsync(Keys.Sf("SF5550001")));
    }

    [Fact]
    public async Task An_expired_token_answered_42001_is_renewed_once_and_the_call_then_succeeds()
    {
        // The client's own clock stands still, so only the server's 42001 tells it the token has expired.
        var clientClock = new ManualClock(clock.GetUtcNow());
        using var client = new WxLogisticsClient(
            new WxLogisticsClientOptions { AppId = carrier.AppId, AppSecret = carrier.Secret, BaseAddress = server.Server.BaseAddress, TimeProvider = clientClock },
            server.CreateDefaultClient(counter));
        PathUpdate Event(int n) => new(waybill.Token, new WaybillId("SF5550001"), DateTimeOffset.FromUnixTimeSeconds(1533052800 + n), ActionType.InTransit, $"第{n}站");
        await client.DeliveryPath.UpdateAsync(Event(1));

        clock.Advance(TimeSpan.FromSeconds(7201));
        await client.DeliveryPath.UpdateAsync(Event(2));
        await client.DeliveryPath.UpdateAsync(Event(3));

        Assert.Equal(2, counter.TokenRequests);
    }

    [Theory]
    [InlineData("SF5550001", "WRONG", 100001, "揽件", 9300507)]
    [InlineData("NOSUCHWAYBILL", "-", 100001, "揽件", 40199)]
    [InlineData("SF5550001", null, 123456, "揽件", 40097)]
    [InlineData("SF5550001", null, 100001, "", 40097)]
    public async Task Each_updatePath_errcode_surfaces_as_an_exception_with_that_errcode(string waybillId, string? token, int actionType, string message, int errcode)
    {
        using var client = ClientFor(carrier);

        var error = await Assert.ThrowsAsync<WxLogisticsApiException>(() => client.DeliveryPath.UpdateAsync(
            new PathUpdate(token ?? waybill.Token, new WaybillId(waybillId), DateTimeOffset.FromUnixTimeSeconds(1533052800), (ActionType)actionType, message)));

        Assert.Equal(errcode, error.ErrorCode);
        Assert.IsNotType<WxLogisticsDeliveryException>(error);
    }

    [Fact]
    public async Task A_message_over_the_limit_surfaces_as_9300526()
    {
        using var client = ClientFor(carrier);

        var error = await Assert.ThrowsAsync<WxLogisticsApiException>(() => client.DeliveryPath.UpdateAsync(
            new PathUpdate(waybill.Token, new WaybillId("SF5550001"), DateTimeOffset.FromUnixTimeSeconds(1533052800), ActionType.InTransit, new string('字', 400))));

        Assert.Equal(9300526, error.ErrorCode);
    }

    [Fact]
    public void Options_without_credentials_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new WxLogisticsClient(new WxLogisticsClientOptions { AppId = "", AppSecret = "x" }));
    }

    [Fact]
    public void Options_with_an_unusable_address_clock_or_renewal_margin_are_refused_when_the_client_is_made()
    {
        var none = Assert.Throws<ArgumentException>(() => new WxLogisticsClient(new WxLogisticsClientOptions { AppId = "wx1", AppSecret = "s", BaseAddress = null! }));
        Assert.Contains("BaseAddress must be an absolute http or https URI", none.Message);
        var file = Assert.Throws<ArgumentException>(() => new WxLogisticsClient(new WxLogisticsClientOptions { AppId = "wx1", AppSecret = "s", BaseAddress = new Uri("file:///tmp/wx") }));
        Assert.Contains("not 'file:///tmp/wx'", file.Message);
        Assert.Throws<ArgumentException>(() => new WxLogisticsClient(new WxLogisticsClientOptions { AppId = "wx1", AppSecret = "s", BaseAddress = new Uri("/wx/", UriKind.Relative) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WxLogisticsClient(new WxLogisticsClientOptions { AppId = "wx1", AppSecret = "s", RefreshBeforeExpiry = TimeSpan.FromMinutes(-1) }));
        Assert.Throws<ArgumentNullException>(() => new WxLogisticsClient(new WxLogisticsClientOptions { AppId = "wx1", AppSecret = "s", TimeProvider = null! }));
    }

    /// <summary>A reverse proxy that serves the server under <paramref name="prefix"/> and nothing else.</summary>
    sealed class ProxyAt(string prefix) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            if (!uri.AbsolutePath.StartsWith(prefix + "/", StringComparison.Ordinal))
            {
                return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.NotFound) { RequestMessage = request });
            }

            request.RequestUri = new UriBuilder(uri) { Path = uri.AbsolutePath[prefix.Length..] }.Uri;
            return base.SendAsync(request, cancellationToken);
        }
    }

    sealed class CountingHandler : DelegatingHandler
    {
        int tokenRequests;

        public int TokenRequests => tokenRequests;

        /// <summary>The body of every API call sent (token requests aside), by path.</summary>
        public System.Collections.Concurrent.ConcurrentQueue<(string Path, string Body)> Sent { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath is "/cgi-bin/token" or "/cgi-bin/stable_token")
            {
                Interlocked.Increment(ref tokenRequests);
            }
            else if (request.Content is not null)
            {
                Sent.Enqueue((request.RequestUri.AbsolutePath, await request.Content.ReadAsStringAsync(cancellationToken)));
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
