using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using WxLogistics.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WxLogistics.Tests.Reliability;

/// <summary>
/// Under sustained updatePath load the server is killed with SIGKILL at random moments and started again on the same
/// store: every update acknowledged with errcode 0 must be there exactly once, and the store must open each time.
/// WXLOGISTICS_CRASH_ROUNDS sets the rounds (bench/crash.sh runs 20 per store). Stopped the orderly way (SIGTERM)
/// under the same load, it must end within seconds, with the same guarantee.
/// </summary>
public abstract class CrashSafetyTests(StoreKind storeKind, ITestOutputHelper output) : IAsyncLifetime
{
    const int Waybills = 20;
    const int Senders = 16;

    readonly TestStore store = TestStore.Create(storeKind);
    (string AppId, string Secret) carrier;
    readonly List<string> tokens = [];

    static int Rounds => int.TryParse(Environment.GetEnvironmentVariable("WXLOGISTICS_CRASH_ROUNDS"), out var rounds) ? rounds : 3;

    public async Task InitializeAsync()
    {
        var app = await OperatorAsync("app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运");
        carrier = (app.GetProperty("appid").GetString()!, app.GetProperty("secret").GetString()!);
        for (var i = 0; i < Waybills; i++)
        {
            tokens.Add((await OperatorAsync("waybill", "add", "--delivery-id", "SF", "--waybill-id", $"CRASH{i:D3}")).GetProperty("token").GetString()!);
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    Task<JsonElement> OperatorAsync(params string[] args) => TestRun.OperatorAsync(store, args);

    [Fact]
    public async Task Every_acknowledged_update_survives_SIGKILL_exactly_once()
    {
        var acknowledged = new ConcurrentBag<(int Waybill, long Time, string Msg)>();
        var random = new Random();
        long sent = 0;
        for (var round = 0; round < Rounds; round++)
        {
            await using var server = await ServerProcess.StartAsync(store);
            using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
            using var stop = new CancellationTokenSource();
            var senders = await StartSendersAsync(client, round, acknowledged, () => Interlocked.Increment(ref sent), stop.Token);
            await Task.Delay(random.Next(300, 1500));
            await server.KillAsync();
            stop.Cancel();
            await Task.WhenAll(senders);
        }

        // The store opens cleanly after the last kill, and holds every acknowledged event once.
        await using (var last = await ServerProcess.StartAsync(store))
        {
            using var client = new HttpClient { BaseAddress = last.BaseAddress };
            Assert.Contains("errcode", await client.GetStringAsync("/cgi-bin/token"));
        }

        var (total, missing) = await StoredAsync(acknowledged);
        output.WriteLine($"{storeKind}: {Rounds} SIGKILL rounds; {sent} updates sent, {acknowledged.Count} acknowledged, {total} stored, {missing} acknowledged but missing");
        Assert.True(acknowledged.Count > 0, "no update was acknowledged: the load did not run");
        Assert.Equal(0, missing);
        Assert.True(total >= acknowledged.Count);
    }

    [Fact]
    public async Task Stopping_the_server_under_load_with_SIGTERM_ends_it_within_seconds_and_loses_no_acknowledged_update()
    {
        var acknowledged = new ConcurrentBag<(int Waybill, long Time, string Msg)>();
        long sent = 0;
        await using var server = await ServerProcess.StartAsync(store);
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        using var stop = new CancellationTokenSource();
        var senders = await StartSendersAsync(client, 0, acknowledged, () => Interlocked.Increment(ref sent), stop.Token);
        await Task.Delay(1000);
        var (exitCode, took) = await server.StopAsync();
        stop.Cancel();
        await Task.WhenAll(senders);

        var (total, missing) = await StoredAsync(acknowledged);
        output.WriteLine($"{storeKind}: SIGTERM after 1 s of load, ended in {took.TotalMilliseconds:F0} ms with {exitCode}; {sent} updates sent, {acknowledged.Count} acknowledged, {total} stored");
        Assert.Equal(0, exitCode);
        Assert.True(took < TimeSpan.FromSeconds(10), $"the server took {took} to stop");
        Assert.Contains("Application is shutting down", server.Output);
        Assert.True(acknowledged.Count > 0, "no update was acknowledged: the load did not run");
        Assert.Equal(0, missing);
        Assert.True(total >= acknowledged.Count);
    }

    /// <summary>
    /// Senders that keep updating the waybills until <paramref name="stop"/> or until the server is gone, each event new,
    /// keeping those acknowledged with errcode 0.
    /// </summary>
    async Task<List<Task>> StartSendersAsync(
        HttpClient client, int round, ConcurrentBag<(int Waybill, long Time, string Msg)> acknowledged, Action sending, CancellationToken stop)
    {
        var issued = await client.GetFromJsonAsync<JsonElement>($"/cgi-bin/token?grant_type=client_credential&appid={carrier.AppId}&secret={carrier.Secret}");
        TestRun.RecordSecrets(issued);
        var token = issued.GetProperty("access_token").GetString();
        return Enumerable.Range(0, Senders).Select(sender => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var waybill = (sender + n) % Waybills;
                var time = 1533052800L + (round * 1_000_000) + (sender * 10_000) + n;
                var msg = $"第{round}轮 发送者{sender} 第{n}条";
                sending();
                try
                {
                    using var response = await client.PostAsJsonAsync(
                        $"/cgi-bin/express/delivery/path/update?access_token={token}",
                        new { token = tokens[waybill], waybill_id = $"CRASH{waybill:D3}", action_time = time, action_type = 200001, action_msg = msg });
                    if ((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errcode").GetInt32() == 0)
                    {
                        acknowledged.Add((waybill, time, msg));
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
                {
                    return; // the server is gone
                }
            }
        })).ToList();
    }

    /// <summary>The events stored on the test's waybills, each checked to be there once, and the acknowledged ones missing.</summary>
    async Task<(int Total, int Missing)> StoredAsync(ConcurrentBag<(int Waybill, long Time, string Msg)> acknowledged)
    {
        await using var stored = await store.OpenAsync();
        var missing = 0;
        var total = 0;
        for (var i = 0; i < Waybills; i++)
        {
            var path = await stored.ReadPathAsync(Keys.Sf($"CRASH{i:D3}"));
            total += path.Count;
            Assert.Equal(path.Count, path.Distinct().Count());
            var present = path.Select(e => (e.ActionTime, e.ActionMsg)).ToHashSet();
            missing += acknowledged.Count(a => a.Waybill == i && !present.Contains((a.Time, a.Msg)));
        }

        return (total, missing);
    }
}

public sealed class CrashSafetyTestsOnSqlite(ITestOutputHelper output) : CrashSafetyTests(StoreKind.Sqlite, output);

public sealed class CrashSafetyTestsOnPostgres(ITestOutputHelper output) : CrashSafetyTests(StoreKind.Postgres, output);
