using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Scaling;

/// <summary>Two server processes on one PostgreSQL behave as one platform.</summary>
public sealed class MultiNodeTests : IAsyncLifetime
{
    const int OverlapSeconds = 3;

    readonly TestStore store = TestStore.Create(StoreKind.Postgres);
    readonly string serverKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    ServerProcess nodeA = null!;
    ServerProcess nodeB = null!;
    HttpClient a = null!;
    HttpClient b = null!;

    public async Task InitializeAsync()
    {
        // Each node has a data directory of its own: nothing but the database and the server key is shared.
        string[] settings = ["--WxLogistics:ServerKey", serverKey, "--WxLogistics:AccessTokenOverlapSeconds", $"{OverlapSeconds}"];
        var starting = new[]
        {
            ServerProcess.StartAsync(store with { DataDirectory = TempDirectory.Create() }, settings),
            ServerProcess.StartAsync(store with { DataDirectory = TempDirectory.Create() }, settings),
        };
        var nodes = await Task.WhenAll(starting);
        (nodeA, nodeB) = (nodes[0], nodes[1]);
        a = new HttpClient { BaseAddress = nodeA.BaseAddress };
        b = new HttpClient { BaseAddress = nodeB.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        a.Dispose();
        b.Dispose();
        await nodeA.DisposeAsync();
        await nodeB.DisposeAsync();
    }

    Task<JsonElement> OperatorAsync(params string[] args) => TestRun.OperatorAsync(store, args);

    async Task<(string AppId, string Secret)> CarrierAsync()
    {
        var json = await OperatorAsync("app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运");
        await OperatorAsync("waybill", "add", "--delivery-id", "SF", "--waybill-id", "W1", "--token", "TOKEN");
        return (json.GetProperty("appid").GetString()!, json.GetProperty("secret").GetString()!);
    }

    static async Task<string> TokenAsync(HttpClient node, (string AppId, string Secret) app)
    {
        var reply = await node.GetFromJsonAsync<JsonElement>($"/cgi-bin/token?grant_type=client_credential&appid={app.AppId}&secret={app.Secret}");
        TestRun.RecordSecrets(reply);
        return reply.GetProperty("access_token").GetString()!;
    }

    static async Task<int> UpdateAsync(HttpClient node, string accessToken, long actionTime, string message)
    {
        using var response = await node.PostAsJsonAsync(
            $"/cgi-bin/express/delivery/path/update?access_token={accessToken}",
            new { token = "TOKEN", waybill_id = "W1", action_time = actionTime, action_type = 200001, action_msg = message });
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errcode").GetInt32();
    }

    [Fact]
    public async Task A_token_issued_by_one_node_is_accepted_by_the_other()
    {
        var carrier = await CarrierAsync();

        var token = await TokenAsync(a, carrier);

        Assert.Equal(0, await UpdateAsync(b, token, 1533052800, "经 B 节点"));
    }

    [Fact]
    public async Task A_replaced_token_works_on_both_nodes_during_the_overlap_and_on_neither_after_it()
    {
        var carrier = await CarrierAsync();
        var old = await TokenAsync(a, carrier);
        Assert.Equal(0, await UpdateAsync(a, old, 1533052800, "A 缓存旧令牌"));
        Assert.Equal(0, await UpdateAsync(b, old, 1533052801, "B 缓存旧令牌"));

        var replacement = await TokenAsync(b, carrier);
        Assert.Equal(0, await UpdateAsync(a, old, 1533052802, "重叠期内 A"));
        Assert.Equal(0, await UpdateAsync(b, old, 1533052803, "重叠期内 B"));

        // The overlap, then one recheck interval (no longer than the overlap) for the other node's cache.
        await Task.Delay(TimeSpan.FromSeconds(OverlapSeconds * 2 + 1));

        Assert.Equal(40001, await UpdateAsync(a, old, 1533052804, "过期后 A"));
        Assert.Equal(40001, await UpdateAsync(b, old, 1533052805, "过期后 B"));
        Assert.Equal(0, await UpdateAsync(a, replacement, 1533052806, "新令牌 A"));
        Assert.Equal(0, await UpdateAsync(b, replacement, 1533052807, "新令牌 B"));
    }

    [Fact]
    public async Task Concurrent_updates_of_one_waybill_through_both_nodes_land_exactly_once_and_in_order()
    {
        var carrier = await CarrierAsync();
        // One token for both nodes: a second one would retire the first after the 3 s overlap.
        var token = await TokenAsync(a, carrier);

        // 150 distinct events, each sent to both nodes at once: a carrier retrying on another node.
        var sends = Enumerable.Range(0, 150).SelectMany(i => new[]
        {
            UpdateAsync(a, token, 1533052800 + (149 - i), $"第{i}站"),
            UpdateAsync(b, token, 1533052800 + (149 - i), $"第{i}站"),
        });
        var errcodes = await Task.WhenAll(sends);

        Assert.All(errcodes, code => Assert.Equal(0, code));
        await using var stored = await store.OpenAsync();
        Assert.True(Apps.DeliveryId.TryParse("SF", out var sf));
        Assert.True(Apps.WaybillId.TryParse("W1", out var w1));
        var path = await stored.ReadPathAsync(new Apps.WaybillKey(sf, w1));
        Assert.Equal(150, path.Count);
        Assert.Equal(Enumerable.Range(0, 150).Select(i => 1533052800L + i), path.Select(e => e.ActionTime));
        Assert.Equal(150, (await stored.FindWaybillAsync(new Apps.WaybillKey(sf, w1)))!.PathVersion);
    }

    [Fact]
    public async Task Each_merchant_push_version_is_delivered_once_not_once_per_node()
    {
        await using var receiver = new PushReceiver();
        await receiver.StartAsync();
        var merchant = await OperatorAsync("app", "add", "--role", "merchant", "--name", "shop", "--push-url", receiver.Url, "--push-token", "token42", "--format", "json");
        var carrier = await CarrierAsync();
        await OperatorAsync("waybill", "add", "--delivery-id", "SF", "--waybill-id", "W2", "--token", "TOKEN", "--merchant-appid", merchant.GetProperty("appid").GetString()!);
        // One token for both nodes: a second one would retire the first after the 3 s overlap.
        var token = await TokenAsync(a, carrier);

        // Updates through both nodes, a few at a time, so that both nodes' deliverers see work to claim.
        for (var i = 0; i < 40; i++)
        {
            var node = i % 2 == 0 ? a : b;
            using var response = await node.PostAsJsonAsync(
                $"/cgi-bin/express/delivery/path/update?access_token={token}",
                new { token = "TOKEN", waybill_id = "W2", action_time = 1533052800 + i, action_type = 200001, action_msg = $"第{i}站" });
            Assert.Equal(0, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errcode").GetInt32());
        }

        await Eventually.TrueAsync(
            () => receiver.Pushes.Any(p => JsonDocument.Parse(p.Body).RootElement.GetProperty("Version").GetInt64() == 40), "version 40 is pushed", 30);
        await Task.Delay(1000);

        var pushes = receiver.Pushes.Select(p => JsonDocument.Parse(p.Body).RootElement).ToList();
        var versions = pushes.Select(p => p.GetProperty("Version").GetInt64()).ToList();
        // The pushes in the order they arrived, as version/count, for whoever reads a failure.
        var arrived = string.Join(" ", pushes.Select(p => $"{p.GetProperty("Version").GetInt64()}/{p.GetProperty("Count").GetInt32()}"));
        Assert.True(versions.Count == versions.Distinct().Count(), $"a version was pushed twice: {arrived}");
        Assert.True(pushes[^1].GetProperty("Count").GetInt32() == 40, $"the last push does not hold the 40 events: {arrived}");
    }

    [Fact]
    public async Task The_same_stable_token_comes_from_both_nodes()
    {
        var carrier = await CarrierAsync();
        var request = new { grant_type = "client_credential", appid = carrier.AppId, secret = carrier.Secret };

        using var fromA = await a.PostAsJsonAsync("/cgi-bin/stable_token", request);
        using var fromB = await b.PostAsJsonAsync("/cgi-bin/stable_token", request);

        var replyA = await fromA.Content.ReadFromJsonAsync<JsonElement>();
        var replyB = await fromB.Content.ReadFromJsonAsync<JsonElement>();
        TestRun.RecordSecrets(replyA);
        var tokenA = replyA.GetProperty("access_token").GetString();
        var tokenB = replyB.GetProperty("access_token").GetString();
        Assert.Equal(tokenA, tokenB);
    }
}
