using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Reliability;

/// <summary>
/// The database goes away under a running server and comes back: PostgreSQL stops taking connections to it and ends
/// the ones open (what a restart or a failover does to the server, without stopping the test run's shared PostgreSQL).
/// </summary>
public sealed class PostgresOutageTests
{
    const string Waybill = "OUTAGE1";

    [Fact]
    public async Task While_PostgreSQL_is_away_updates_get_system_error_the_log_says_so_once_and_ingest_resumes_when_it_is_back()
    {
        var store = TestStore.Create(StoreKind.Postgres);
        var carrier = await TestRun.OperatorAsync(store, "app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运");
        var merchant = await TestRun.OperatorAsync(store, "app", "add", "--role", "merchant", "--name", "小店");
        var token = (await TestRun.OperatorAsync(store, "waybill", "add", "--delivery-id", "SF", "--waybill-id", Waybill,
            "--merchant-appid", merchant.GetProperty("appid").GetString()!, "--order-id", "order-1", "--openid", "openid-1")).GetProperty("token").GetString()!;
        var page = (await TestRun.OperatorAsync(store, "waybill", "link", "--delivery-id", "SF", "--waybill-id", Waybill)).GetProperty("path").GetString()!;

        CarrierUpdates updates;
        var reads = 0;
        string output;
        await using (var server = await ServerProcess.StartAsync(store))
        {
            using var client = new HttpClient { BaseAddress = server.BaseAddress };
            updates = await CarrierUpdates.StartAsync(client, carrier, token, Waybill, time => $"快件已到达转运中心 {time}");
            var getPath = $"/cgi-bin/express/business/path/get?access_token={await CarrierUpdates.AccessTokenAsync(client, merchant)}";
            var getPathBody = new { order_id = "order-1", openid = "openid-1", delivery_id = "SF", waybill_id = Waybill };
            var time = 1533052800L;
            Task<int> UpdateAsync() => updates.SendAsync(++time);

            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(0, await UpdateAsync());
            }

            await SetConnectionsAsync(store, allowed: false);
            var away = System.Diagnostics.Stopwatch.StartNew();
            while (away.Elapsed < TimeSpan.FromSeconds(2))
            {
                Assert.Equal(-1, await UpdateAsync());

                // Merchants read WeChat's system error; people reading the page, a page saying to try later.
                var read = await (await client.PostAsJsonAsync(getPath, getPathBody)).Content.ReadFromJsonAsync<JsonElement>();
                Assert.Equal(-1, read.GetProperty("errcode").GetInt32());
                using var shown = await client.GetAsync(page);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, shown.StatusCode);
                Assert.Equal("text/html; charset=utf-8", shown.Content.Headers.ContentType?.ToString());
                Assert.Contains("请稍后再试", await shown.Content.ReadAsStringAsync());
                Assert.NotNull(shown.Headers.RetryAfter);
                reads++;
                await Task.Delay(20);
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/readyz")).StatusCode);

            await SetConnectionsAsync(store, allowed: true);
            var resumed = false;
            for (var attempt = 0; attempt < 50 && !resumed; attempt++)
            {
                resumed = await UpdateAsync() == 0;
                await Task.Delay(resumed ? 0 : 100);
            }

            Assert.True(resumed, "ingest did not resume once PostgreSQL took connections again");
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(0, await UpdateAsync());
            }

            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(page)).StatusCode);
            var path = await (await client.PostAsJsonAsync(getPath, getPathBody)).Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(updates.Acknowledged.Count, path.GetProperty("path_item_num").GetInt32());
            // A poll of the push deliverer that succeeds again (one every 200 ms; longer on a busy machine).
            for (var waited = 0; waited < 100 && !server.Output.Contains("Claiming merchant pushes succeeds again", StringComparison.Ordinal); waited++)
            {
                await Task.Delay(100);
            }

            output = server.Output;
        }

        // The appends and the push deliverer's polls (5 a second) failed all along: each logged once, then its recovery.
        var failed = updates.Failed;
        Assert.True(failed >= 20, $"only {failed} updates failed while PostgreSQL was away");
        Assert.Equal(1, output.Occurrences("Committing path events failed"));
        Assert.Contains($"Committing path events succeeds again, after {failed} failures (path events: {failed})", output);
        Assert.Equal(1, output.Occurrences("Claiming merchant pushes failed"));
        Assert.Equal(1, output.Occurrences("Claiming merchant pushes succeeds again"));
        // The failed reads too: the same error is logged with its trace at most once per 10 s, not once per request.
        Assert.True(reads >= 10, $"only {reads} reads were made while PostgreSQL was away");
        Assert.InRange(output.Occurrences("Unhandled error on /cgi-bin/express/business/path/get"), 1, 3);
        Assert.InRange(output.Occurrences("Unhandled error on /t/…"), 1, 3);
        Assert.DoesNotContain(page, output);

        await using var opened = await store.OpenAsync();
        Assert.Equal(updates.Acknowledged, (await opened.ReadPathAsync(Keys.Sf(Waybill))).Select(e => e.ActionTime).ToList());
    }

    [Fact]
    public async Task A_path_import_cut_off_by_the_database_going_away_says_where_it_stopped_and_resumes_there_when_it_is_back()
    {
        const int Rows = 200_000;
        var store = TestStore.Create(StoreKind.Postgres);
        await TestRun.OperatorAsync(store, "app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运");
        for (var w = 0; w < 5; w++)
        {
            await TestRun.OperatorAsync(store, "waybill", "add", "--delivery-id", "SF", "--waybill-id", $"IMPORT{w}");
        }

        var file = Path.Combine(TempDirectory.Create(), "events.jsonl");
        await File.WriteAllLinesAsync(file, Enumerable.Range(0, Rows).Select(i =>
            $$"""{"delivery_id":"SF","waybill_id":"IMPORT{{i % 5}}","action_time":{{1600000000 + i}},"action_type":200001,"action_msg":"第{{i}}站"}"""));

        var (output, error) = (new StringWriter(), new StringWriter());
        var import = Cli.OperatorCli.RunAsync(["path", "import", file, .. store.Args], output, error);
        var checkpoint = file + ".checkpoint.json";
        while (!File.Exists(checkpoint) && !import.IsCompleted)
        {
            await Task.Delay(5);
        }

        await SetConnectionsAsync(store, allowed: false);
        var exitCode = await import;

        Assert.Equal(1, exitCode);
        var said = error.ToString();
        Assert.Matches(@"error: the store failed: .*not currently accepting connections.*Lines up to \d+ are stored; run the same command again once the store is back, and it resumes at line \d+\.", said);
        Assert.DoesNotContain("   at ", said);

        await SetConnectionsAsync(store, allowed: true);
        var (resumedOutput, resumedError) = (new StringWriter(), new StringWriter());
        Assert.Equal(0, await Cli.OperatorCli.RunAsync(["path", "import", file, "--json", .. store.Args], resumedOutput, resumedError));
        Assert.Contains("resuming at line ", resumedError.ToString());
        var summary = JsonDocument.Parse(resumedOutput.ToString()).RootElement;
        Assert.Equal(Rows, summary.GetProperty("accepted").GetInt32() + summary.GetProperty("duplicate").GetInt32());
        Assert.Equal<long>(Rows, await store.CountAsync("SELECT COUNT(*) FROM path_events"));
    }

    [Fact]
    public async Task A_cloud_function_calling_while_PostgreSQL_is_away_gets_the_sdk_s_system_error_and_succeeds_once_it_is_back()
    {
        var store = TestStore.Create(StoreKind.Postgres);
        var carrier = (await TestRun.OperatorAsync(store, "app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运")).GetProperty("appid").GetString()!;
        await TestRun.OperatorAsync(store, "waybill", "add", "--delivery-id", "SF", "--waybill-id", "12345678901234567890", "--token", "TOKEN");
        var env = await TestRun.OperatorAsync(store, "cloudenv", "add", "--env", "carrier-prod", "--appid", carrier, "--permissions", "logistics.updatePath", "--default");
        var (id, key) = (env.GetProperty("secretId").GetString()!, env.GetProperty("secretKey").GetString()!);

        await using var server = await ServerProcess.StartAsync(store);
        var gateway = new Uri(server.BaseAddress, "/tcb/admin");
        await SetConnectionsAsync(store, allowed: false);
        var away = await CloudFunctions.RunAsync("updatePath", gateway, env: null, id, key);
        await SetConnectionsAsync(store, allowed: true);
        var back = await CloudFunctions.RunAsync("updatePath", gateway, env: null, id, key);

        Assert.Equal(-501001, away.GetProperty("errCode").GetInt32());
        Assert.Contains("the server could not handle the call now; try again", away.GetProperty("errMsg").GetString());
        Assert.Equal("""{"errMsg":"openapi.logistics.updatePath:ok","errCode":0}""", back.GetRawText());
        Assert.Equal(1, server.Output.Occurrences("Unhandled error on the cloud gateway"));
    }

    /// <summary>Stops (and ends every open connection) or restarts PostgreSQL's taking connections to the test's database.</summary>
    static async Task SetConnectionsAsync(TestStore store, bool allowed)
    {
        var database = new NpgsqlConnectionStringBuilder(store.Connection).Database!;
        await using var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(store.Connection) { Database = "postgres", Pooling = false }.ConnectionString);
        await admin.OpenAsync();
        await using (var alter = new NpgsqlCommand($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS {(allowed ? "true" : "false")}", admin))
        {
            await alter.ExecuteNonQueryAsync();
        }

        if (!allowed)
        {
            await using var terminate = new NpgsqlCommand("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1", admin);
            terminate.Parameters.Add(new NpgsqlParameter { Value = database });
            await terminate.ExecuteScalarAsync();
        }
    }
}
