using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Scaling;

/// <summary>WxLogistics:MaxEventsPerWaybill holds for a waybill that two server processes on one PostgreSQL update at once.</summary>
public sealed class MultiNodeLimitTests : IAsyncLifetime
{
    const int Limit = 5;

    readonly TestStore store = TestStore.Create(StoreKind.Postgres);
    ServerProcess nodeA = null!;
    ServerProcess nodeB = null!;

    public async Task InitializeAsync()
    {
        string[] settings = ["--WxLogistics:ServerKey", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), "--WxLogistics:MaxEventsPerWaybill", $"{Limit}"];
        var nodes = await Task.WhenAll(
            ServerProcess.StartAsync(store with { DataDirectory = TempDirectory.Create() }, settings),
            ServerProcess.StartAsync(store with { DataDirectory = TempDirectory.Create() }, settings));
        (nodeA, nodeB) = (nodes[0], nodes[1]);
    }

    public async Task DisposeAsync()
    {
        await nodeA.DisposeAsync();
        await nodeB.DisposeAsync();
    }

    [Fact]
    public async Task Two_nodes_updating_one_waybill_at_once_store_exactly_the_limit_between_them()
    {
        var carrier = await TestRun.OperatorAsync(store, "app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运");
        await TestRun.OperatorAsync(store, "waybill", "add", "--delivery-id", "SF", "--waybill-id", "W1", "--token", "TOKEN");
        using var a = new HttpClient { BaseAddress = nodeA.BaseAddress };
        using var b = new HttpClient { BaseAddress = nodeB.BaseAddress };
        var token = await a.GetFromJsonAsync<JsonElement>(
            $"/cgi-bin/token?grant_type=client_credential&appid={carrier.GetProperty("appid").GetString()}&secret={carrier.GetProperty("secret").GetString()}");
        TestRun.RecordSecrets(token);
        var accessToken = token.GetProperty("access_token").GetString()!;

        async Task<int> UpdateAsync(HttpClient node, int n)
        {
            using var response = await node.PostAsJsonAsync(
                $"/cgi-bin/express/delivery/path/update?access_token={accessToken}",
                new { token = "TOKEN", waybill_id = "W1", action_time = 1_700_000_000 + n, action_type = 200001, action_msg = $"第{n}站" });
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errcode").GetInt32();
        }

        // Node A then knows the waybill's token, node B does not: its updates have the append check the token.
        Assert.Equal(0, await UpdateAsync(a, 0));
        var replies = await Task.WhenAll(Enumerable.Range(1, 40).Select(n => UpdateAsync(n % 2 == 0 ? a : b, n)));

        Assert.Equal(Limit - 1, replies.Count(errcode => errcode == 0));
        Assert.Equal(40 - (Limit - 1), replies.Count(errcode => errcode == 9300526));
        await using var stored = await store.OpenAsync();
        Assert.Equal(Limit, (await stored.ReadPathAsync(Keys.Sf("W1"))).Count);
    }
}
