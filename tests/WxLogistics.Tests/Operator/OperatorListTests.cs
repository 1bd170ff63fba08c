using WxLogistics.Cli;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Operator;

/// <summary>The listing verbs: a readable table by default, one JSON object with --json, never a secret; --help everywhere.</summary>
public abstract class OperatorListTests(StoreKind storeKind) : IAsyncLifetime
{
    readonly WxServer server = new(storeKind);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await server.DisposeAsync();

    async Task<string> TableAsync(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var exitCode = await OperatorCli.RunAsync([.. args, .. server.Store.Args], output, error);
        Assert.True(exitCode == 0, $"`{string.Join(' ', args)}` failed ({exitCode}): {error}");
        return output.ToString();
    }

    [Fact]
    public async Task An_operator_lists_apps_as_a_table_or_as_json_without_their_secrets()
    {
        var carrier = await server.AddCarrierAsync("SF", "顺丰速运");
        var merchant = await server.AddMerchantAsync("Demo shop");
        await server.OperatorAsync("app", "set", "--appid", merchant.AppId, "--push-url", "https://shop.example.com/wx", "--push-token", "PushToken1", "--format", "json");

        var table = await TableAsync("app", "list");
        var json = (await server.OperatorAsync("app", "list", "--json")).GetProperty("apps");

        Assert.Matches($@"{carrier.AppId}\s+carrier\s+顺丰速运\s+SF", table);
        Assert.Matches($@"{merchant.AppId}\s+merchant\s+Demo shop\s+-\s+https://shop\.example\.com/wx \(json\)", table);
        var listed = json.EnumerateArray().Single(a => a.GetProperty("appid").GetString() == merchant.AppId);
        Assert.Equal("https://shop.example.com/wx", listed.GetProperty("push_url").GetString());
        Assert.Equal("json", listed.GetProperty("push_format").GetString());
        foreach (var text in new[] { table, json.ToString() })
        {
            Assert.DoesNotContain(carrier.Secret, text);
            Assert.DoesNotContain(merchant.Secret, text);
            Assert.DoesNotContain("PushToken1", text);
        }
    }

    [Fact]
    public async Task An_operator_pages_through_a_carrier_s_waybills_and_shows_one_with_its_path()
    {
        var carrier = await server.AddCarrierAsync("SF");
        await server.AddCarrierAsync("YTO", "圆通");
        var merchant = await server.AddMerchantAsync();
        var first = await server.AddWaybillAsync("SF", waybillId: "SF0001", merchant: merchant, orderId: "order-7");
        await server.AddWaybillAsync("SF", waybillId: "SF0002");
        await server.AddWaybillAsync("YTO", waybillId: "YT0001");
        WxAssert.Ok(await server.UpdatePathAsync(await server.AccessTokenAsync(carrier), new
        {
            token = first.Token,
            waybill_id = "SF0001",
            action_time = 1_764_000_000,
            action_type = 100001,
            action_msg = "揽件成功",
        }));

        var page1 = (await server.OperatorAsync("waybill", "list", "--delivery-id", "SF", "--limit", "1", "--json")).GetProperty("waybills");
        var page2 = (await server.OperatorAsync("waybill", "list", "--delivery-id", "SF", "--after", "SF0001", "--json")).GetProperty("waybills");
        var table = await TableAsync("waybill", "list");
        var shown = await TableAsync("waybill", "show", "--delivery-id", "SF", "--waybill-id", "SF0001");
        var shownJson = await server.OperatorAsync("waybill", "show", "--delivery-id", "SF", "--waybill-id", "SF0001", "--json");

        Assert.Equal(["SF0001"], page1.EnumerateArray().Select(w => w.GetProperty("waybill_id").GetString()));
        Assert.Equal(["SF0002"], page2.EnumerateArray().Select(w => w.GetProperty("waybill_id").GetString()));
        Assert.Equal("order-7", page1[0].GetProperty("order_id").GetString());
        Assert.Matches($@"SF\s+SF0001\s+{merchant.AppId}\s+order-7\s+1", table);
        Assert.Matches(@"YTO\s+YT0001", table);
        Assert.Matches(@"2025-11-25 00:00:00\s+100001\s+揽件成功", shown);
        Assert.Equal("揽件成功", shownJson.GetProperty("path")[0].GetProperty("action_msg").GetString());
        Assert.DoesNotContain(first.Token, table + shown + shownJson);
    }

    [Fact]
    public async Task An_operator_lists_cloud_envs_without_their_secret_keys()
    {
        var carrier = await server.AddCarrierAsync("SF");
        var added = await server.OperatorAsync("cloudenv", "add", "--env", "prod-1", "--appid", carrier.AppId, "--permissions", "logistics.updatePath", "--default");

        var table = await TableAsync("cloudenv", "list");
        var json = (await server.OperatorAsync("cloudenv", "list", "--json")).GetProperty("envs");

        Assert.Matches($@"prod-1\s+{carrier.AppId}\s+{added.GetProperty("secretId").GetString()}\s+logistics\.updatePath\s+yes", table);
        Assert.True(json[0].GetProperty("is_default").GetBoolean());
        Assert.DoesNotContain(added.GetProperty("secretKey").GetString()!, table + json);
    }

    [Theory]
    [InlineData("waybill", "list")]
    [InlineData("path", "export")]
    public async Task A_mistyped_delivery_id_is_refused_rather_than_answered_with_nothing(string noun, string verb)
    {
        var carrier = await server.AddCarrierAsync("SF");
        var waybill = await server.AddWaybillAsync("SF", waybillId: "SF1");
        WxAssert.Ok(await server.UpdatePathAsync(
            await server.AccessTokenAsync(carrier),
            new { token = waybill.Token, waybill_id = "SF1", action_time = 1_764_000_000, action_type = 100001, action_msg = "揽件成功" }));

        var (output, error) = (new StringWriter(), new StringWriter());
        var exitCode = await OperatorCli.RunAsync([noun, verb, "--delivery-id", "FS", .. server.Store.Args], output, error);

        Assert.Equal(1, exitCode);
        Assert.Empty(output.ToString());
        Assert.Equal("error: no carrier app has delivery_id FS (app list shows the carriers)", error.ToString().Trim());
        Assert.Contains("SF1", await TableAsync(noun, verb, "--delivery-id", "SF"));
    }

    [Fact]
    public async Task An_empty_list_says_none()
    {
        Assert.Contains("(none)", await TableAsync("cloudenv", "list"));
    }

    [Fact]
    public async Task Every_verb_answers_help()
    {
        foreach (var path in new[]
        {
            "app add", "app set", "app services", "app list", "waybill add", "waybill link", "waybill list", "waybill show",
            "path import", "path export", "cloudenv add", "cloudenv list", "push list", "push replay", "calls list", "migrate",
        })
        {
            var (output, error) = (new StringWriter(), new StringWriter());
            Assert.Equal(0, await OperatorCli.RunAsync([.. path.Split(' '), "--help"], output, error));
            Assert.Contains("Usage:", output.ToString());
            Assert.Contains("--data", output.ToString());
            if (path.EndsWith("list", StringComparison.Ordinal) || path == "waybill show")
            {
                Assert.Contains("--json", output.ToString());
            }
        }
    }
}

public sealed class OperatorListTestsOnSqlite() : OperatorListTests(StoreKind.Sqlite);

public sealed class OperatorListTestsOnPostgres() : OperatorListTests(StoreKind.Postgres);
