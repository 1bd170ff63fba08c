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

    [Fact]
    public void Options_without_credentials_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new WxLogisticsClient(new WxLogisticsClientOptions { AppId = "", AppSecret = "x" }));
    }

    sealed class CountingHandler : DelegatingHandler
    {
        int tokenRequests;

        public int TokenRequests => tokenRequests;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath is "/cgi-bin/token" or "/cgi-bin/stable_token")
            {
                Interlocked.Increment(ref tokenRequests);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
