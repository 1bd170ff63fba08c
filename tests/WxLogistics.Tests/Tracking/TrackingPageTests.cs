using System.Net;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Tracking;

/// <summary>The tracking page and its links, through HTTP.</summary>
public abstract class TrackingPageTests(StoreKind storeKind) : IAsyncLifetime
{
    readonly WxServer server = new(storeKind, new ManualClock(DateTimeOffset.Parse("2026-11-28T12:00:00Z")));
    App merchant = new("", "");
    Waybill waybill = new("", "", "");
    string carrierToken = "";
    string merchantToken = "";

    public async Task InitializeAsync()
    {
        var carrier = await server.AddCarrierAsync("SF", "顺丰速运");
        merchant = await server.AddMerchantAsync();
        waybill = await server.AddWaybillAsync("SF", "SF1234567890", merchant: merchant, orderId: "o-1", openId: "u-1");
        carrierToken = await server.AccessTokenAsync(carrier);
        merchantToken = await server.AccessTokenAsync(merchant);
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    async Task UpdateAsync(long actionTime, int actionType, string actionMsg) =>
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, new { token = waybill.Token, waybill_id = waybill.WaybillId, action_time = actionTime, action_type = actionType, action_msg = actionMsg }));

    async Task<string> LinkAsync(object? body = null)
    {
        var reply = await server.PostJsonAsync($"/cgi-bin/express/business/path/link?access_token={merchantToken}", body ?? new { delivery_id = "SF", waybill_id = waybill.WaybillId });
        Assert.True(reply.TryGetProperty("path", out var path), reply.GetRawText());
        return path.GetString()!;
    }

    async Task<(HttpStatusCode Status, string Html, HttpResponseMessage Response)> GetPageAsync(string path)
    {
        var response = await server.CreateClient().GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    [Fact]
    public async Task The_page_shows_the_carrier_the_waybill_the_stage_and_the_path_newest_first_in_China_time()
    {
        await UpdateAsync(1533052800, 100001, "快递员已成功取件");
        await UpdateAsync(1533072800, 300002, "快递员正在派件");
        await UpdateAsync(1533062800, 200001, "快件已到达广州集散中心");

        var (status, html, response) = await GetPageAsync(await LinkAsync());

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text/html; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("顺丰速运", html);
        Assert.Contains("SF1234567890", html);
        Assert.Contains("<p class=\"stage\" id=\"stage\">派送</p>", html);
        var order = new[] { "快递员正在派件", "快件已到达广州集散中心", "快递员已成功取件" }.Select(m => html.IndexOf(m, StringComparison.Ordinal)).ToList();
        Assert.Equal(order.Order(), order);
        Assert.Contains("2018-08-01 00:00", html); // 1533052800 is 2018-07-31 16:00 UTC
        Assert.Contains("datetime=\"2018-08-01T00:00:00+08:00\"", html);
    }

    [Theory]
    [InlineData(100003, "揽件")]
    [InlineData(200001, "运输")]
    [InlineData(300004, "派送")]
    [InlineData(300003, "签收")]
    [InlineData(400002, "异常")]
    public async Task The_stage_follows_the_latest_action_type(int actionType, string stage)
    {
        await UpdateAsync(1533052800, 100001, "揽件成功");
        await UpdateAsync(1533062800, actionType, "最新一条");

        var (_, html, _) = await GetPageAsync(await LinkAsync());

        Assert.Contains($"<p class=\"stage\" id=\"stage\">{stage}</p>", html);
    }

    [Fact]
    public async Task A_mobile_number_in_action_msg_becomes_a_tel_link_and_other_digits_do_not()
    {
        await UpdateAsync(1533052800, 300002, "丽影邓丽君【18666666666】正在派件，单号123456789012345");

        var (_, html, _) = await GetPageAsync(await LinkAsync());

        Assert.Contains("<a href=\"tel:18666666666\">18666666666</a>", html);
        Assert.DoesNotContain("tel:1234567890", html);
    }

    [Fact]
    public async Task Hostile_action_msg_is_shown_as_inert_text()
    {
        await UpdateAsync(1533052800, 200001, "<script>alert(1)</script>\"><img src=x onerror=alert(2)><a href=\"javascript:alert(3)\">x</a>");

        var (_, html, response) = await GetPageAsync(await LinkAsync());

        Assert.DoesNotContain("<script>", html);
        Assert.DoesNotContain("<img", html);
        Assert.DoesNotContain("href=\"javascript:", html);
        Assert.Contains("&lt;script&gt;", html);
        Assert.Contains("script-src", response.Headers.GetValues("Content-Security-Policy").Single() + " script-src");
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
    }

    [Fact]
    public async Task A_HEAD_request_answers_as_the_page_would_without_its_body_for_link_checkers_and_previews()
    {
        var link = await LinkAsync();
        var tampered = link[..^2] + (link[^2] == 'A' ? "B" : "A") + link[^1];
        var client = server.CreateClient();

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, link));
        using var headOfTampered = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, tampered));
        using var health = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/healthz"));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("text/html", head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, headOfTampered.StatusCode);
        Assert.Equal("text/html", headOfTampered.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task A_tampered_link_gets_a_plain_not_found_page()
    {
        var link = await LinkAsync();
        var tampered = link[..^2] + (link[^2] == 'A' ? "B" : "A") + link[^1];

        var (status, html, _) = await GetPageAsync(tampered);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("未找到该运单", html);
        Assert.DoesNotContain("SF1234567890", html);
    }

    [Fact]
    public async Task A_link_to_another_waybill_cannot_be_forged_by_changing_its_payload()
    {
        var link = await LinkAsync();
        var signature = link[(link.IndexOf('.') + 1)..];
        var forgedPayload = WxLogistics.Apps.Secrets.Base64Url(System.Text.Encoding.UTF8.GetBytes("SF\nSF0000000000\n4102444800"));

        var (status, _, _) = await GetPageAsync($"/t/{forgedPayload}.{signature}");

        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public async Task A_link_cannot_be_extended_by_changing_its_expiry()
    {
        var link = await LinkAsync(new { delivery_id = "SF", waybill_id = waybill.WaybillId, ttl_seconds = 3600 });
        var dot = link.IndexOf('.');
        var payload = link["/t/".Length..dot];
        var padded = payload.Replace('-', '+').Replace('_', '/');
        var text = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(padded.PadRight(padded.Length + ((4 - (padded.Length % 4)) % 4), '=')));
        var parts = text.Split('\n');
        var extended = WxLogistics.Apps.Secrets.Base64Url(System.Text.Encoding.UTF8.GetBytes($"{parts[0]}\n{parts[1]}\n{long.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture) + 86_400_000}"));

        server.Clock!.Advance(TimeSpan.FromSeconds(3600));

        Assert.Equal(HttpStatusCode.NotFound, (await GetPageAsync($"/t/{extended}{link[dot..]}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await GetPageAsync(link)).Status);
    }

    [Fact]
    public async Task An_expired_link_gets_the_not_found_page()
    {
        var link = await LinkAsync(new { delivery_id = "SF", waybill_id = waybill.WaybillId, ttl_seconds = 3600 });
        Assert.Equal(HttpStatusCode.OK, (await GetPageAsync(link)).Status);

        server.Clock!.Advance(TimeSpan.FromSeconds(3600));

        Assert.Equal(HttpStatusCode.NotFound, (await GetPageAsync(link)).Status);
    }

    [Fact]
    public async Task A_merchant_gets_links_only_for_its_own_waybills()
    {
        var stranger = await server.AddMerchantAsync("Another shop");
        var strangerToken = await server.AccessTokenAsync(stranger);

        var reply = await server.PostJsonAsync($"/cgi-bin/express/business/path/link?access_token={strangerToken}", new { delivery_id = "SF", waybill_id = waybill.WaybillId });

        WxAssert.Error(40199, reply);
    }

    [Fact]
    public async Task The_link_answer_says_when_it_expires()
    {
        var reply = await server.PostJsonAsync($"/cgi-bin/express/business/path/link?access_token={merchantToken}", new { delivery_id = "SF", waybill_id = waybill.WaybillId });

        Assert.StartsWith("/t/", reply.GetProperty("path").GetString());
        Assert.Equal(server.Clock!.GetUtcNow().AddDays(7).ToUnixTimeSeconds(), reply.GetProperty("expires_at").GetInt64());
        WxAssert.Error(40097, await server.PostJsonAsync($"/cgi-bin/express/business/path/link?access_token={merchantToken}", new { delivery_id = "SF", waybill_id = waybill.WaybillId, ttl_seconds = 10 }));
    }

    [Fact]
    public async Task An_operator_gets_a_link_with_the_waybill_link_verb()
    {
        var json = await server.OperatorAsync("waybill", "link", "--delivery-id", "SF", "--waybill-id", waybill.WaybillId, "--hours", "1", "--base-url", "https://track.example.com");

        var path = json.GetProperty("path").GetString()!;
        Assert.Equal("https://track.example.com" + path, json.GetProperty("url").GetString());
        Assert.Equal(HttpStatusCode.OK, (await GetPageAsync(path)).Status);
    }

    [Fact]
    public async Task A_waybill_without_events_says_so()
    {
        var (_, html, _) = await GetPageAsync(await LinkAsync());
        Assert.Contains("暂无物流轨迹", html);
    }
}

public sealed class TrackingPageTestsOnSqlite() : TrackingPageTests(StoreKind.Sqlite);

public sealed class TrackingPageTestsOnPostgres() : TrackingPageTests(StoreKind.Postgres);
