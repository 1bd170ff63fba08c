using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Npgsql;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Operability;

/// <summary>The call inspector, metrics, health and the API reference.</summary>
public abstract class OperabilityTests(StoreKind storeKind) : IAsyncLifetime
{
    readonly WxServer server = new(storeKind);
    App carrier = new("", "");
    Waybill waybill = new("", "", "");
    string carrierToken = "";

    public async Task InitializeAsync()
    {
        carrier = await server.AddCarrierAsync("SF");
        waybill = await server.AddWaybillAsync("SF", "SF123456");
        carrierToken = await server.AccessTokenAsync(carrier);
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task A_rejected_call_appears_in_the_inspector_with_its_reason_and_the_rid_of_its_errmsg()
    {
        var reply = await server.UpdatePathAsync(carrierToken, new { token = waybill.Token, waybill_id = "SF123456", action_time = 1533052800, action_type = 300001, action_msg = "派件" });
        var errmsg = WxAssert.Error(40097, reply);
        var rid = errmsg[(errmsg.LastIndexOf(" rid: ", StringComparison.Ordinal) + 6)..];

        JsonElement calls = default;
        await Eventually.TrueAsync(
            async () =>
            {
                calls = (await server.OperatorAsync("calls", "list", "--appid", carrier.AppId, "--rid", rid, "--json")).GetProperty("calls");
                return calls.GetArrayLength() == 1;
            },
            "the call is in the inspector");

        var call = calls[0];
        Assert.Equal("logistics.updatePath", call.GetProperty("api").GetString());
        Assert.Equal("SF123456", call.GetProperty("waybill_id").GetString());
        Assert.Equal(40097, call.GetProperty("errcode").GetInt32());
        Assert.Contains("action_type 300001 is not one of", call.GetProperty("reason").GetString());
        Assert.DoesNotContain("派件", call.GetRawText());
    }

    [Fact]
    public async Task A_body_that_names_its_waybill_twice_is_refused_and_shown_under_no_waybill()
    {
        // Which of the two a JSON parser takes is not defined: the API refuses the body, and the inspector takes neither.
        var body = $$"""{"token":"{{waybill.Token}}","waybill_id":"OTHER","waybill_id":"SF123456","action_time":1533052800,"action_type":100001,"action_msg":"揽件"}""";
        var errmsg = WxAssert.Error(47001, await server.PostRawAsync(
            $"/cgi-bin/express/delivery/path/update?access_token={carrierToken}", System.Text.Encoding.UTF8.GetBytes(body)), "waybill_id is sent twice");

        var rid = errmsg[(errmsg.LastIndexOf(" rid: ", StringComparison.Ordinal) + 6)..];
        JsonElement calls = default;
        await Eventually.TrueAsync(
            async () => (calls = (await server.OperatorAsync("calls", "list", "--appid", carrier.AppId, "--json")).GetProperty("calls")).GetArrayLength() == 1,
            "the call is in the inspector");
        Assert.Equal(rid, calls[0].GetProperty("rid").GetString());
        Assert.True(!calls[0].TryGetProperty("waybill_id", out var shown) || shown.ValueKind == JsonValueKind.Null, calls[0].ToString());
    }

    [Fact]
    public async Task A_call_whose_body_holds_a_NUL_character_is_kept_by_the_inspector_with_the_calls_around_it()
    {
        // PostgreSQL's text holds no U+0000: written as it came, the call failed the inspector's whole batch.
        WxAssert.Error(40199, await server.UpdatePathAsync(carrierToken, new { token = waybill.Token, waybill_id = "SF\u0000", action_time = 1533052800, action_type = 100001, action_msg = "揽件" }));
        WxAssert.Error(40097, await server.PostRawAsync(
            $"/cgi-bin/express/delivery/path/update?access_token={carrierToken}",
            System.Text.Encoding.UTF8.GetBytes($$"""{"token":"{{waybill.Token}}","waybill_id":"SF123456","action_time":1533052800,"action_type":100001,"action_msg":"a\u0000b"}""")));
        WxAssert.Error(9300507, await server.UpdatePathAsync(carrierToken, new { token = "WRONG", waybill_id = "SF123456", action_time = 1533052800, action_type = 100001, action_msg = "揽件" }));

        await server.DisposeAsync();

        var calls = (await server.OperatorAsync("calls", "list", "--appid", carrier.AppId, "--json")).GetProperty("calls");
        Assert.Equal([9300507, 40097, 40199], calls.EnumerateArray().Select(call => call.GetProperty("errcode").GetInt32()));
    }

    [Fact]
    public async Task A_terminal_escape_sent_as_a_waybill_id_is_shown_as_text_in_the_calls_table_never_sent_to_the_terminal()
    {
        WxAssert.Error(40199, await server.UpdatePathAsync(carrierToken, new { token = waybill.Token, waybill_id = "SF\u001b]0;owned\u0007\u001b[2J", action_time = 1533052800, action_type = 100001, action_msg = "揽件" }));
        await server.DisposeAsync();

        var output = new StringWriter();
        Assert.Equal(0, await WxLogistics.Cli.OperatorCli.RunAsync(["calls", "list", "--appid", carrier.AppId, .. server.Store.Args], output, new StringWriter()));

        var table = output.ToString();
        Assert.DoesNotContain(table, c => char.IsControl(c) && c is not '\n' and not '\r');
        Assert.Contains(@"SF\u001B]0;owned\u0007\u001B[2J", table);
    }

    [Fact]
    public async Task A_call_made_just_before_the_server_stops_is_in_the_inspector_afterwards()
    {
        var errmsg = WxAssert.Error(9300507, await server.UpdatePathAsync(carrierToken, new { token = "WRONG", waybill_id = "SF123456", action_time = 1533052800, action_type = 100001, action_msg = "揽件" }));
        var rid = errmsg[(errmsg.LastIndexOf(" rid: ", StringComparison.Ordinal) + 6)..];

        // Sooner than the inspector's next write: stopping writes what it holds.
        await server.DisposeAsync();

        var calls = (await server.OperatorAsync("calls", "list", "--appid", carrier.AppId, "--rid", rid, "--json")).GetProperty("calls");
        Assert.Equal(1, calls.GetArrayLength());
        Assert.Equal(9300507, calls[0].GetProperty("errcode").GetInt32());
    }

    [Fact]
    public async Task The_inspector_filters_by_waybill_and_errcode_and_prints_a_table_for_people()
    {
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, new { token = waybill.Token, waybill_id = "SF123456", action_time = 1533052800, action_type = 100001, action_msg = "揽件" }));
        WxAssert.Error(9300507, await server.UpdatePathAsync(carrierToken, new { token = "WRONG", waybill_id = "SF123456", action_time = 1533052800, action_type = 100001, action_msg = "揽件" }));
        WxAssert.Error(40199, await server.UpdatePathAsync(carrierToken, new { token = "WRONG", waybill_id = "OTHER", action_time = 1533052800, action_type = 100001, action_msg = "揽件" }));

        await Eventually.TrueAsync(
            async () => (await server.OperatorAsync("calls", "list", "--appid", carrier.AppId, "--json")).GetProperty("calls").GetArrayLength() == 3,
            "the three calls are in the inspector");

        var wrongToken = (await server.OperatorAsync("calls", "list", "--appid", carrier.AppId, "--errcode", "9300507", "--json")).GetProperty("calls");
        var aboutOther = (await server.OperatorAsync("calls", "list", "--appid", carrier.AppId, "--waybill-id", "OTHER", "--json")).GetProperty("calls");
        Assert.Equal(1, wrongToken.GetArrayLength());
        Assert.Equal(1, aboutOther.GetArrayLength());
        Assert.Equal(40199, aboutOther[0].GetProperty("errcode").GetInt32());

        var (table, error) = (new StringWriter(), new StringWriter());
        Assert.Equal(0, await WxLogistics.Cli.OperatorCli.RunAsync(["calls", "list", "--appid", carrier.AppId, .. server.Store.Args], table, error));
        Assert.Contains("errcode", table.ToString());
        Assert.Contains("token is incorrect", table.ToString());
    }

    [Fact]
    public async Task After_a_burst_of_calls_the_inspector_holds_the_latest_thousand_newest_first()
    {
        const int Sent = 1100;
        for (var i = 0; i < Sent; i++)
        {
            WxAssert.Error(40199, await server.UpdatePathAsync(carrierToken, new { token = "T", waybill_id = $"W{i:D4}", action_time = 1533052800, action_type = 100001, action_msg = "揽件" }));
        }

        List<string> listed = [];
        await Eventually.TrueAsync(
            async () =>
            {
                var calls = (await server.OperatorAsync("calls", "list", "--appid", carrier.AppId, "--limit", "1000", "--json")).GetProperty("calls");
                listed = [.. calls.EnumerateArray().Select(c => c.GetProperty("waybill_id").GetString()!)];
                // The inspector writes in batches: wait for the one that holds the last call.
                return listed.Count == 1000 && listed[0] == $"W{Sent - 1:D4}";
            },
            "the inspector lists a thousand calls, the last one first");

        Assert.Equal(Enumerable.Range(Sent - 1000, 1000).Reverse().Select(i => $"W{i:D4}"), listed);
    }

    [Fact]
    public async Task Calls_beyond_the_latest_thousand_leave_the_store_as_new_ones_are_written()
    {
        // Two bursts, each written after the other: together more than the inspector keeps for the app.
        const int Burst = 700;
        for (var burst = 0; burst < 2; burst++)
        {
            for (var i = 0; i < Burst; i++)
            {
                WxAssert.Error(40199, await server.UpdatePathAsync(carrierToken, new { token = "T", waybill_id = $"B{burst}-{i:D4}", action_time = 1533052800, action_type = 100001, action_msg = "揽件" }));
            }

            var last = $"B{burst}-{Burst - 1:D4}";
            await Eventually.TrueAsync(
                async () => (await server.OperatorAsync("calls", "list", "--appid", carrier.AppId, "--limit", "1", "--json"))
                    .GetProperty("calls").EnumerateArray().Any(c => c.GetProperty("waybill_id").GetString() == last),
                $"the inspector has written burst {burst + 1}");
        }

        Assert.Equal(
            WxLogistics.Operability.CallInspector.KeepPerApp,
            await server.Store.CountAsync($"SELECT COUNT(*) FROM call_log WHERE appid = '{carrier.AppId}'"));
    }

    [Fact]
    public async Task The_admin_calls_endpoint_needs_the_admin_key()
    {
        var client = server.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync($"/admin/calls?appid={carrier.AppId}")).StatusCode);

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await File.ReadAllTextAsync(Path.Combine(server.DataDirectory, "admin.key")));
        var answer = JsonDocument.Parse(await client.GetStringAsync($"/admin/calls?appid={carrier.AppId}")).RootElement;

        Assert.True(answer.TryGetProperty("calls", out _));
    }

    [Theory]
    [InlineData("/admin/calls?appid={0}&limit=abc", "limit must be a whole number")]
    [InlineData("/admin/calls?appid={0}&errcode=ok", "errcode must be a whole number")]
    [InlineData("/admin/push?merchant_appid={0}&limit=1.5", "limit must be a whole number")]
    public async Task An_admin_query_with_a_number_that_is_not_one_gets_400_saying_which(string query, string message)
    {
        var client = server.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await File.ReadAllTextAsync(Path.Combine(server.DataDirectory, "admin.key")));

        using var response = await client.GetAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, query, carrier.AppId));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(message, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task The_admin_push_endpoints_refuse_an_appid_that_is_no_merchant_rather_than_answer_nothing()
    {
        var client = server.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await File.ReadAllTextAsync(Path.Combine(server.DataDirectory, "admin.key")));

        using var list = await client.GetAsync($"/admin/push?merchant_appid={carrier.AppId}");
        using var replay = await client.PostAsync("/admin/push/replay", new StringContent($$"""{"merchant_appid":"{{carrier.AppId}}"}"""));

        foreach (var response in new[] { list, replay })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal($"{carrier.AppId} is not a merchant app of this server", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task The_admin_call_inspector_refuses_an_appid_that_is_no_app_rather_than_answer_nothing()
    {
        var client = server.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await File.ReadAllTextAsync(Path.Combine(server.DataDirectory, "admin.key")));

        using var response = await client.GetAsync("/admin/calls?appid=wx0000000000000000");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("wx0000000000000000 is not an app of this server", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Metrics_show_calls_by_api_and_errcode_and_the_group_commit_after_traffic()
    {
        WxAssert.Ok(await server.UpdatePathAsync(carrierToken, new { token = waybill.Token, waybill_id = "SF123456", action_time = 1533052800, action_type = 100001, action_msg = "揽件" }));
        WxAssert.Error(9300507, await server.UpdatePathAsync(carrierToken, new { token = "WRONG", waybill_id = "SF123456", action_time = 1533052800, action_type = 100001, action_msg = "揽件" }));

        var metrics = "";
        await Eventually.TrueAsync(
            async () =>
            {
                metrics = await server.CreateClient().GetStringAsync("/metrics");
                return metrics.Contains("errcode=\"9300507\"", StringComparison.Ordinal);
            },
            "the counters are exported");

        Assert.Contains("wxlogistics_api_calls_total{", metrics);
        Assert.Contains("api=\"logistics.updatePath\"", metrics);
        Assert.Contains("errcode=\"0\"", metrics);
        Assert.Contains("wxlogistics_ingest_batch_size", metrics);
        Assert.Contains("wxlogistics_ingest_commit_duration", metrics);
        Assert.Contains("wxlogistics_push_queue_depth", metrics);
        Assert.Contains("wxlogistics_store_size", metrics);
    }

    [Fact]
    public async Task Health_and_readiness_answer_while_the_store_is_there()
    {
        var client = server.CreateClient();
        Assert.Equal("""{"status":"ok"}""", await client.GetStringAsync("/healthz"));
        Assert.Equal("""{"status":"ready"}""", await client.GetStringAsync("/readyz"));
    }

    [Fact]
    public async Task The_OpenAPI_document_lists_updatePath_with_WeChats_fields_and_codes()
    {
        var document = JsonDocument.Parse(await server.CreateClient().GetStringAsync("/openapi/v1.json")).RootElement;

        var update = document.GetProperty("paths").GetProperty("/cgi-bin/express/delivery/path/update").GetProperty("post");
        Assert.Contains("40199", update.GetProperty("description").GetString());
        Assert.Contains("9300507", update.GetProperty("description").GetString());
        var schemaRef = update.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString()!;
        var schema = document.GetProperty("components").GetProperty("schemas").GetProperty(schemaRef.Split('/')[^1]);
        Assert.Equal(["token", "waybill_id", "action_time", "action_type", "action_msg"], schema.GetProperty("properties").EnumerateObject().Select(p => p.Name));
        var adminCalls = document.GetProperty("paths").GetProperty("/admin/calls").GetProperty("get").GetProperty("parameters").EnumerateArray();
        Assert.Equal("integer", adminCalls.Single(p => p.GetProperty("name").GetString() == "limit").GetProperty("schema").GetProperty("type").GetString());
        var stableToken = document.GetProperty("paths").GetProperty("/cgi-bin/stable_token").GetProperty("post");
        Assert.True(stableToken.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").TryGetProperty("schema", out _));
        foreach (var path in new[] { "/cgi-bin/token", "/cgi-bin/stable_token", "/cgi-bin/express/business/path/get", "/tcb/admin" })
        {
            Assert.True(document.GetProperty("paths").TryGetProperty(path, out _), $"{path} is not in the document");
        }

        var reference = await server.CreateClient().GetStringAsync("/reference");
        Assert.Contains("/cgi-bin/express/delivery/path/update", reference);
        Assert.Contains("/openapi/v1.json", reference);
    }

    [Fact]
    public async Task Every_documented_WeChat_API_that_takes_a_body_reads_it_whatever_its_Content_Type()
    {
        // The document says the bodies are JSON; WeChat reads them as JSON whatever the client labels them with, so a
        // body sent as curl -d sends it, or as text/plain, must reach the API (here: its first check) and not be
        // turned away as an unknown URL.
        var document = JsonDocument.Parse(await server.CreateClient().GetStringAsync("/openapi/v1.json")).RootElement;
        var apis = document.GetProperty("paths").EnumerateObject()
            .Where(p => p.Name.StartsWith("/cgi-bin/", StringComparison.Ordinal) && p.Value.TryGetProperty("post", out var post) && post.TryGetProperty("requestBody", out _))
            .Select(p => p.Name)
            .ToList();
        Assert.Contains("/cgi-bin/express/delivery/path/update", apis);
        Assert.Contains("/cgi-bin/stable_token", apis);
        foreach (var api in apis)
        {
            foreach (var contentType in new[] { "application/x-www-form-urlencoded", "text/plain", null })
            {
                var reply = await server.PostRawAsync(api, "{}"u8.ToArray(), contentType);
                var errcode = reply.GetProperty("errcode").GetInt32();
                Assert.True(errcode is not (0 or 40066), $"{api} labelled {contentType ?? "nothing"}: {reply}");
            }
        }
    }
}

public sealed class OperabilityTestsOnSqlite() : OperabilityTests(StoreKind.Sqlite);

public sealed class OperabilityTestsOnPostgres() : OperabilityTests(StoreKind.Postgres);

/// <summary>Readiness fails when the store goes away (its database dropped under the server).</summary>
public sealed class ReadinessTests : IAsyncLifetime
{
    readonly WxServer server = new(StoreKind.Postgres);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task Readiness_fails_when_the_store_is_unreachable_and_health_still_answers()
    {
        var client = server.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);

        var database = new NpgsqlConnectionStringBuilder(server.Store.Connection).Database;
        NpgsqlConnection.ClearAllPools();
        await using (var admin = new NpgsqlConnection(Environment.GetEnvironmentVariable(TestStore.PostgresVariable)))
        {
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE {database} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }

        using var response = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("not ready", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
    }
}
