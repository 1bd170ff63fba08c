using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.CloudCall;

/// <summary>
/// The seed's cloud function, unchanged, run by the real wx-server-sdk@4.0.2 against a real server process.
/// </summary>
public abstract class CloudCallTests(StoreKind storeKind) : IAsyncLifetime
{
    const string SeedWaybill = "12345678901234567890";

    readonly TestStore store = TestStore.Create(storeKind);
    ServerProcess server = null!;

    Uri Gateway => new(server.BaseAddress, "/tcb/admin");

    public async Task InitializeAsync() => server = await ServerProcess.StartAsync(store);

    public async Task DisposeAsync() => await server.DisposeAsync();

    Task<JsonElement> OperatorAsync(params string[] args) => TestRun.OperatorAsync(store, args);

    async Task<string> CarrierAsync(string deliveryId) =>
        (await OperatorAsync("app", "add", "--role", "carrier", "--delivery-id", deliveryId, "--name", deliveryId)).GetProperty("appid").GetString()!;

    async Task<(string Id, string Key)> EnvAsync(string env, string appId, string permissions, bool isDefault = false)
    {
        var json = await OperatorAsync(["cloudenv", "add", "--env", env, "--appid", appId, "--permissions", permissions, .. isDefault ? new[] { "--default" } : []]);
        Assert.Equal("/tcb/admin", json.GetProperty("gateway_path").GetString());
        return (json.GetProperty("secretId").GetString()!, json.GetProperty("secretKey").GetString()!);
    }

    [Fact]
    public async Task The_seed_cloud_function_succeeds_against_the_default_env_with_no_code_change()
    {
        var carrier = await CarrierAsync("SF");
        await OperatorAsync("waybill", "add", "--delivery-id", "SF", "--waybill-id", SeedWaybill, "--token", "TOKEN");
        var (id, key) = await EnvAsync("carrier-prod", carrier, "logistics.updatePath", isDefault: true);

        var result = await CloudFunctions.RunAsync("updatePath", Gateway, env: null, id, key);

        Assert.Equal("""{"errMsg":"openapi.logistics.updatePath:ok","errCode":0}""", result.GetRawText());
    }

    [Fact]
    public async Task The_cloud_update_lands_in_the_same_path_the_HTTPS_API_serves()
    {
        var carrier = await CarrierAsync("SF");
        var merchant = (await OperatorAsync("app", "add", "--role", "merchant", "--name", "shop")).GetProperty("appid").GetString()!;
        await OperatorAsync("waybill", "add", "--delivery-id", "SF", "--waybill-id", SeedWaybill, "--token", "TOKEN", "--merchant-appid", merchant, "--order-id", "o-1", "--openid", "u-1");
        var (carrierId, carrierKey) = await EnvAsync("carrier-env", carrier, "logistics.updatePath");
        var (merchantId, merchantKey) = await EnvAsync("shop-env", merchant, "logistics.getPath");

        var update = await CloudFunctions.RunAsync("updatePath", Gateway, "carrier-env", carrierId, carrierKey);
        var path = await CloudFunctions.RunAsync(
            "getPath", Gateway, "shop-env", merchantId, merchantKey, new { openid = "u-1", orderId = "o-1", deliveryId = "SF", waybillId = SeedWaybill });

        Assert.Equal(0, update.GetProperty("errCode").GetInt32());
        Assert.Equal(
            """{"openid":"u-1","deliveryId":"SF","waybillId":"12345678901234567890","pathItemNum":1,"pathItemList":[{"actionTime":1533052800,"actionType":300002,"actionMsg":"丽影邓丽君【18666666666】正在派件"}],"errMsg":"openapi.logistics.getPath:ok","errCode":0}""",
            path.GetRawText());
    }

    [Fact]
    public async Task A_merchant_function_reads_several_orders_at_once_with_batchGetOrder()
    {
        var merchant = await OperatorAsync("app", "add", "--role", "merchant", "--name", "shop");
        var (appId, secret) = (merchant.GetProperty("appid").GetString()!, merchant.GetProperty("secret").GetString()!);

        // An order with the TEST sandbox carrier, placed over HTTPS.
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var token = JsonDocument.Parse(await http.GetStringAsync($"/cgi-bin/token?grant_type=client_credential&appid={appId}&secret={secret}"))
            .RootElement.GetProperty("access_token").GetString();
        using var placed = await http.PostAsync(
            $"/cgi-bin/express/business/order/add?access_token={token}",
            new StringContent(JsonSerializer.Serialize(OrderBodies.Order("o-7", "TEST", "test_biz_id")), Encoding.UTF8, "application/json"));
        var waybillId = JsonDocument.Parse(await placed.Content.ReadAsStringAsync()).RootElement.GetProperty("waybill_id").GetString()!;
        var (id, key) = await EnvAsync("shop-env", appId, "logistics.batchGetOrder");

        var result = await CloudFunctions.RunAsync("batchGetOrder", Gateway, "shop-env", id, key, new
        {
            orderList = new[] { new { orderId = "o-7", deliveryId = "TEST", waybillId }, new { orderId = "o-8", deliveryId = "TEST", waybillId = "0" } },
        });

        Assert.Equal("openapi.logistics.batchGetOrder:ok", result.GetProperty("errMsg").GetString());
        var found = result.GetProperty("orderList")[0];
        Assert.Equal((0, "o-7", waybillId, 0), (found.GetProperty("errcode").GetInt32(), found.GetProperty("orderId").GetString(), found.GetProperty("waybillId").GetString(), found.GetProperty("orderStatus").GetInt32()));
        Assert.Equal(JsonValueKind.Array, found.GetProperty("waybillData").ValueKind);
        var missing = result.GetProperty("orderList")[1];
        Assert.Equal((40199, "o-8"), (missing.GetProperty("errcode").GetInt32(), missing.GetProperty("orderId").GetString()));
    }

    [Fact]
    public async Task A_merchant_function_asks_for_its_labels_left_with_getQuota_and_a_refusal_throws_the_carriers_code()
    {
        var merchant = (await OperatorAsync("app", "add", "--role", "merchant", "--name", "shop")).GetProperty("appid").GetString()!;
        var (id, key) = await EnvAsync("shop-env", merchant, "logistics.getQuota");

        var quota = await CloudFunctions.RunAsync("getQuota", Gateway, "shop-env", id, key, new { deliveryId = "TEST", bizId = "test_biz_id" });
        var refused = await CloudFunctions.RunAsync("getQuota", Gateway, "shop-env", id, key, new { deliveryId = "TEST", bizId = "other" });

        Assert.Equal("""{"quotaNum":10000,"errMsg":"openapi.logistics.getQuota:ok","errCode":0}""", quota.GetRawText());
        Assert.Equal(9300501, refused.GetProperty("errCode").GetInt32());
    }

    [Fact]
    public async Task A_merchant_function_binds_an_account_and_lists_its_accounts_through_a_GET_api()
    {
        var merchant = (await OperatorAsync("app", "add", "--role", "merchant", "--name", "shop")).GetProperty("appid").GetString()!;
        var (id, key) = await EnvAsync("shop-env", merchant, "logistics.bindAccount,logistics.getAllAccount");

        var listed = await CloudFunctions.RunAsync("bindAndListAccounts", Gateway, "shop-env", id, key, new { deliveryId = "TEST", bizId = "test_biz_id" });
        var again = await CloudFunctions.RunAsync("bindAndListAccounts", Gateway, "shop-env", id, key, new { deliveryId = "TEST", bizId = "test_biz_id" });

        Assert.Equal(("openapi.logistics.getAllAccount:ok", 1), (listed.GetProperty("errMsg").GetString(), listed.GetProperty("count").GetInt32()));
        var account = listed.GetProperty("list")[0];
        Assert.Equal(("test_biz_id", "TEST", 0), (account.GetProperty("bizId").GetString(), account.GetProperty("deliveryId").GetString(), account.GetProperty("statusCode").GetInt32()));
        Assert.Equal(9300529, again.GetProperty("errCode").GetInt32());
    }

    [Fact]
    public async Task A_function_past_the_operators_minute_quota_gets_45011_as_the_https_api_does()
    {
        var carrier = await CarrierAsync("SF");
        await OperatorAsync("waybill", "add", "--delivery-id", "SF", "--waybill-id", SeedWaybill, "--token", "TOKEN");
        var (id, key) = await EnvAsync("limited", carrier, "logistics.updatePath");
        // The server again, with a quota (one server at a time on a SQLite store).
        await server.DisposeAsync();
        server = await ServerProcess.StartAsync(store, "--WxLogistics:MinuteQuota", "1");

        // Both calls in one clock minute, which is what the quota counts.
        while (DateTime.UtcNow.Second >= 45)
        {
            await Task.Delay(500);
        }

        var first = await CloudFunctions.RunAsync("updatePath", Gateway, "limited", id, key);
        var second = await CloudFunctions.RunAsync("updatePath", Gateway, "limited", id, key);

        Assert.Equal(0, first.GetProperty("errCode").GetInt32());
        Assert.Equal(45011, second.GetProperty("errCode").GetInt32());
        Assert.StartsWith(
            "openapi.logistics.updatePath:fail api minute-quota reach limit  mustslower  retry next minute: logistics.updatePath takes 1 calls a minute from an app rid: ",
            second.GetProperty("errMsg").GetString());
    }

    [Fact]
    public async Task A_wrong_token_makes_the_sdk_throw_9300507()
    {
        var carrier = await CarrierAsync("ZTO");
        await OperatorAsync("waybill", "add", "--delivery-id", "ZTO", "--waybill-id", SeedWaybill, "--token", "NOT-TOKEN");
        var (id, key) = await EnvAsync("zto", carrier, "logistics.updatePath");

        var result = await CloudFunctions.RunAsync("updatePath", Gateway, "zto", id, key);

        Assert.Equal(9300507, result.GetProperty("errCode").GetInt32());
        Assert.StartsWith("openapi.logistics.updatePath:fail token is incorrect rid: ", result.GetProperty("errMsg").GetString());
    }

    [Fact]
    public async Task An_unknown_waybill_makes_the_sdk_throw_40199()
    {
        var carrier = await CarrierAsync("YTO");
        var (id, key) = await EnvAsync("yto", carrier, "logistics.updatePath");

        var result = await CloudFunctions.RunAsync("updatePath", Gateway, "yto", id, key);

        Assert.Equal(40199, result.GetProperty("errCode").GetInt32());
        Assert.StartsWith("openapi.logistics.updatePath:fail waybill_id not found rid: ", result.GetProperty("errMsg").GetString());
    }

    [Fact]
    public async Task A_function_without_the_permission_gets_604101_and_nothing_is_stored()
    {
        var carrier = await CarrierAsync("SF");
        await OperatorAsync("waybill", "add", "--delivery-id", "SF", "--waybill-id", SeedWaybill, "--token", "TOKEN");
        var (id, key) = await EnvAsync("read-only", carrier, "logistics.getPath");

        var result = await CloudFunctions.RunAsync("updatePath", Gateway, "read-only", id, key);

        Assert.Equal("""{"errCode":-604101,"errMsg":"system error: error code: -604101"}""", result.GetRawText());
        await using var stored = await store.OpenAsync();
        Assert.True(Apps.DeliveryId.TryParse("SF", out var sf));
        Assert.True(Apps.WaybillId.TryParse(SeedWaybill, out var waybill));
        Assert.Empty(await stored.ReadPathAsync(new Apps.WaybillKey(sf, waybill)));
    }

    [Fact]
    public async Task An_api_that_does_not_exist_gets_604100()
    {
        var carrier = await CarrierAsync("SF");
        var (id, key) = await EnvAsync("any", carrier, "logistics.updatePath,logistics.noSuchApi");

        var result = await CloudFunctions.RunAsync("unknownApi", Gateway, "any", id, key);

        Assert.Equal(-604100, result.GetProperty("errCode").GetInt32());
    }

    [Fact]
    public async Task A_wrong_secret_key_is_refused_with_a_clear_message_and_nothing_runs()
    {
        var carrier = await CarrierAsync("SF");
        await OperatorAsync("waybill", "add", "--delivery-id", "SF", "--waybill-id", SeedWaybill, "--token", "TOKEN");
        var (id, _) = await EnvAsync("signed", carrier, "logistics.updatePath");

        var result = await CloudFunctions.RunAsync("updatePath", Gateway, "signed", id, "not-the-secret-key");

        Assert.Equal(-501006, result.GetProperty("errCode").GetInt32());
        Assert.Contains("signature does not match", result.GetProperty("errMsg").GetString());
        await using var stored = await store.OpenAsync();
        Assert.True(Apps.DeliveryId.TryParse("SF", out var sf));
        Assert.True(Apps.WaybillId.TryParse(SeedWaybill, out var waybill));
        Assert.Empty(await stored.ReadPathAsync(new Apps.WaybillKey(sf, waybill)));
    }

    [Fact]
    public async Task A_signature_made_an_hour_ago_is_refused_as_stale()
    {
        var carrier = await CarrierAsync("SF");
        var (id, key) = await EnvAsync("skewed", carrier, "logistics.updatePath");

        var result = await CloudFunctions.RunAsync("updatePath", Gateway, "skewed", id, key, clockSkewSeconds: -3600);

        Assert.Equal(-501006, result.GetProperty("errCode").GetInt32());
        Assert.Contains("away from the server's clock", result.GetProperty("errMsg").GetString());
    }

    [Fact]
    public async Task An_unknown_env_is_refused_with_the_code_the_sdk_maps_to_501005()
    {
        var carrier = await CarrierAsync("SF");
        var (id, key) = await EnvAsync("real", carrier, "logistics.updatePath");

        var result = await CloudFunctions.RunAsync("updatePath", Gateway, "imaginary", id, key);

        Assert.Equal(-501005, result.GetProperty("errCode").GetInt32());
        Assert.Contains("env 'imaginary' does not exist", result.GetProperty("errMsg").GetString());
    }

    [Fact]
    public async Task An_unsigned_request_is_refused_before_anything_runs()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        using var form = new MultipartFormDataContent
        {
            { new StringContent("wx.openApi"), "action" },
            { new StringContent("logistics.updatePath"), "apiName" },
            { new ByteArrayContent([8, 0]) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } }, "requestData" },
        };
        var carrier = await CarrierAsync("SF");
        await EnvAsync("default-env", carrier, "logistics.updatePath", isDefault: true);

        using var response = await client.PostAsync("/tcb/admin", form);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal("INVALID_COMMON_PARAM", body.GetProperty("code").GetString());
        Assert.Contains("not signed", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_timestamp_that_is_not_a_time_is_refused_as_a_bad_signature_never_a_system_error()
    {
        var carrier = await CarrierAsync("SF");
        var (id, _) = await EnvAsync("prod", carrier, "logistics.updatePath");
        using var client = new HttpClient { BaseAddress = server.BaseAddress };

        // now - timestamp is 2^63 for one of these (whichever second the server reads), which no long holds.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var timestamps = Enumerable.Range(-2, 5).Select(d => (now + d + long.MinValue).ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Append("+" + now).Append("abc").Append("1.7e9");
        foreach (var timestamp in timestamps)
        {
            using var form = new MultipartFormDataContent
            {
                { new StringContent("wx.openApi"), "action" },
                { new StringContent("prod"), "envName" },
                { new StringContent("logistics.updatePath"), "apiName" },
            };
            using var request = new HttpRequestMessage(HttpMethod.Post, "/tcb/admin") { Content = form };
            request.Headers.TryAddWithoutValidation("Authorization", $"TC3-HMAC-SHA256 Credential={id}/2026-12-08/tcb/tc3_request, SignedHeaders=content-type;host, Signature=00");
            request.Headers.TryAddWithoutValidation("X-Timestamp", timestamp);

            using var response = await client.SendAsync(request);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

            Assert.Equal("INVALID_COMMON_PARAM", body.GetProperty("code").GetString());
            Assert.Contains("X-Timestamp must be the signature's time in whole seconds", body.GetProperty("message").GetString());
        }

        Assert.DoesNotContain("OverflowException", server.Output);
    }

    [Fact]
    public async Task A_form_field_sent_twice_is_refused_rather_than_one_of_them_taken()
    {
        var carrier = await CarrierAsync("SF");
        await EnvAsync("prod", carrier, "logistics.updatePath", isDefault: true);
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        using var form = new MultipartFormDataContent
        {
            { new StringContent("wx.openApi"), "action" },
            { new StringContent("logistics.getPath"), "apiName" },
            { new StringContent("logistics.updatePath"), "apiName" },
        };

        using var response = await client.PostAsync("/tcb/admin", form);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal("INVALID_PARAM", body.GetProperty("code").GetString());
        Assert.StartsWith("the form field apiName is sent twice", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_body_that_is_not_multipart_is_refused_plainly()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };

        using var response = await client.PostAsync("/tcb/admin", new StringContent("{}", Encoding.UTF8, "application/json"));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal("INVALID_PARAM", body.GetProperty("code").GetString());
    }
}

public sealed class CloudCallTestsOnSqlite() : CloudCallTests(StoreKind.Sqlite);

public sealed class CloudCallTestsOnPostgres() : CloudCallTests(StoreKind.Postgres);
