using System.Text;
using System.Text.Json;
using WxLogistics.Cli;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Operator;

/// <summary>`path import` and `path export`: bulk track events through updatePath's checks and durable append.</summary>
public abstract class BulkPathTests(StoreKind storeKind) : IAsyncLifetime
{
    const long Start = 1_764_000_000;

    readonly WxServer server = new(storeKind);
    readonly string directory = TempDirectory.Create();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await server.DisposeAsync();

    async Task<(int ExitCode, string Output, string Error)> RunAsync(string[] args, CancellationToken cancellationToken = default)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var exitCode = await OperatorCli.RunAsync([.. args, .. server.Store.Args], output, error, cancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }

    async Task<JsonElement> ImportAsync(string file, params string[] more)
    {
        var (exitCode, output, error) = await RunAsync(["path", "import", file, "--json", .. more]);
        Assert.True(exitCode == 0, $"import failed ({exitCode}): {error}");
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    async Task AddWaybillsAsync(int count)
    {
        await server.AddCarrierAsync("SF");
        for (var i = 0; i < count; i++)
        {
            await server.AddWaybillAsync("SF", waybillId: $"SF{i:D6}");
        }
    }

    /// <summary>
    /// 100,000 lines over 50 waybills; every 997th line is broken in one of several ways, and the lines whose
    /// outcome is a rejection are returned with the start of their expected reason.
    /// </summary>
    (string Path, Dictionary<long, string> Bad) WriteLargeFile(int lines)
    {
        var bad = new Dictionary<long, string>();
        var path = Path.Combine(directory, "events.jsonl");
        using var file = new StreamWriter(path, false, new UTF8Encoding(false));
        for (var i = 0; i < lines; i++)
        {
            var line = i + 1L;
            var waybill = $"SF{i % 50:D6}";
            var time = Start + i;
            if (i % 997 == 3)
            {
                var (text, reason) = (i / 997 % 6) switch
                {
                    0 => ($$"""{"delivery_id":"SF","waybill_id":"NOPE{{i}}","action_time":{{time}},"action_type":200001,"action_msg":"x"}""", "40199 "),
                    1 => ($$"""{"delivery_id":"SF","waybill_id":"{{waybill}}","action_time":{{time}},"action_type":123,"action_msg":"x"}""", "40097 invalid args: action_type 123"),
                    2 => ($$"""{"delivery_id":"SF","waybill_id":"{{waybill}}","action_time":{{time * 1000}},"action_type":200001,"action_msg":"x"}""", "40097 invalid args: action_time"),
                    3 => ($$"""{"delivery_id":"SF","waybill_id":"{{waybill}}","action_time":{{time}},"action_type":200001,"action_msg":""}""", "40097 invalid args: action_msg must not be empty"),
                    4 => ("{\"delivery_id\":\"SF\",\"waybill_id\":", "the line is not valid JSON"),
                    _ => ($$"""{"waybill_id":"{{waybill}}","action_time":{{time}},"action_type":200001,"action_msg":"x"}""", "delivery_id is required"),
                };
                file.WriteLine(text);
                bad[line] = reason;
                continue;
            }

            file.WriteLine($$"""{"delivery_id":"SF","waybill_id":"{{waybill}}","action_time":{{time}},"action_type":200001,"action_msg":"快件到达第{{i}}站"}""");
        }

        return (path, bad);
    }

    static Dictionary<long, string> Rejections(JsonElement summary) =>
        summary.GetProperty("rejections").EnumerateArray().ToDictionary(r => r.GetProperty("line").GetInt64(), r => r.GetProperty("reason").GetString()!);

    async Task<long> StoredEventsAsync()
    {
        await using var store = await server.Store.OpenAsync();
        var waybills = await store.ListWaybillsAsync(null, null, 10_000);
        return waybills.Count == 0 ? 0 : (await store.ReadPathsAsync(waybills[0].Key, waybills[^1].Key)).Count;
    }

    [Fact]
    public async Task Importing_100000_lines_with_some_bad_ones_reports_exactly_the_bad_lines_and_stores_the_rest()
    {
        await AddWaybillsAsync(50);
        var (file, bad) = WriteLargeFile(100_000);

        var summary = await ImportAsync(file);

        var rejections = Rejections(summary);
        Assert.Equal(bad.Keys.Order(), rejections.Keys.Order());
        foreach (var (line, reason) in bad)
        {
            Assert.StartsWith(reason, rejections[line]);
        }

        Assert.True(summary.GetProperty("complete").GetBoolean());
        Assert.Equal(100_000 - bad.Count, summary.GetProperty("accepted").GetInt64());
        Assert.Equal(0, summary.GetProperty("duplicate").GetInt64());
        Assert.Equal(100_000 - bad.Count, await StoredEventsAsync());
        Assert.False(File.Exists(file + ".checkpoint.json"));

        var again = await ImportAsync(file);
        Assert.Equal(0, again.GetProperty("accepted").GetInt64());
        Assert.Equal(100_000 - bad.Count, again.GetProperty("duplicate").GetInt64());
        Assert.Equal(100_000 - bad.Count, await StoredEventsAsync());
    }

    [Fact]
    public async Task Imported_events_reach_the_merchant_s_getPath_in_time_order()
    {
        await server.AddCarrierAsync("SF");
        var merchant = await server.AddMerchantAsync();
        await server.AddWaybillAsync("SF", waybillId: "SF1", merchant: merchant, orderId: "o-1", openId: "buyer");
        var file = Path.Combine(directory, "late.jsonl");
        await File.WriteAllLinesAsync(file, [
            $$"""{"delivery_id":"SF","waybill_id":"SF1","action_time":{{Start + 60}},"action_type":200001,"action_msg":"到达广州"}""",
            $$"""{"delivery_id":"SF","waybill_id":"SF1","action_time":{{Start}},"action_type":100001,"action_msg":"揽件成功"}""",
        ]);

        await ImportAsync(file);

        var path = await server.GetPathAsync(await server.AccessTokenAsync(merchant), new { delivery_id = "SF", waybill_id = "SF1", openid = "buyer" });
        Assert.True(path.TryGetProperty("path_item_list", out _), path.ToString());
        Assert.Equal(["揽件成功", "到达广州"], path.GetProperty("path_item_list").EnumerateArray().Select(i => i.GetProperty("action_msg").GetString()));
    }

    [Fact]
    public async Task A_jsonl_row_that_gives_a_field_twice_is_rejected_rather_than_stored_with_one_of_its_values()
    {
        await AddWaybillsAsync(1);
        await server.AddCarrierAsync("ZTO", "中通快递");
        var file = Path.Combine(directory, "twice.jsonl");
        await File.WriteAllLinesAsync(file, [
            $$"""{"delivery_id":"ZTO","delivery_id":"SF","waybill_id":"SF000000","action_time":{{Start}},"action_type":100001,"action_msg":"揽件"}""",
            $$"""{"delivery_id":"SF","waybill_id":"SF000000","action_time":{{Start + 1}},"action_type":100001,"action_msg":"揽件","action_msg":"签收"}""",
            $$"""{"delivery_id":"SF","waybill_id":"SF000000","action_time":{{Start + 2}},"action_type":200001,"action_msg":"到达广州"}""",
        ]);

        var summary = await ImportAsync(file);

        Assert.Equal(1, summary.GetProperty("accepted").GetInt64());
        var rejections = Rejections(summary);
        Assert.Equal("delivery_id is sent twice", rejections[1]);
        Assert.Equal("47001 data format error: action_msg is sent twice", rejections[2]);
    }

    [Fact]
    public async Task A_jsonl_row_escaping_half_a_character_is_rejected_and_the_import_goes_on()
    {
        await AddWaybillsAsync(1);
        var file = Path.Combine(directory, "half.jsonl");
        await File.WriteAllLinesAsync(file, [
            $$"""{"delivery_id":"S\ud800","waybill_id":"SF000000","action_time":{{Start}},"action_type":100001,"action_msg":"揽件"}""",
            $$"""{"delivery_id":"SF","waybill_id":"SF000000","action_time":{{Start + 1}},"action_type":100001,"action_msg":"揽\udc00件"}""",
            $$"""{"delivery_id":"SF","waybill_id":"SF000000","action_time":{{Start + 2}},"action_type":200001,"action_msg":"到达广州"}""",
        ]);

        var summary = await ImportAsync(file);

        Assert.Equal(1, summary.GetProperty("accepted").GetInt64());
        var rejections = Rejections(summary);
        Assert.Equal(@"delivery_id holds a \u escape of half a character (a surrogate without its pair); text must be whole Unicode characters", rejections[1]);
        Assert.StartsWith(@"40097 invalid args: action_msg holds a \u escape of half a character", rejections[2]);
    }

    [Fact]
    public async Task A_csv_file_with_a_header_in_any_order_and_quoted_commas_imports_and_exports_unchanged()
    {
        await AddWaybillsAsync(2);
        var file = Path.Combine(directory, "events.csv");
        await File.WriteAllTextAsync(file, string.Join("\n", [
            "action_type,action_msg,waybill_id,delivery_id,action_time",
            $"100001,\"揽件成功, 快递员 \"\"小王\"\"\",SF000000,SF,{Start}",
            $"200001,到达广州,SF000001,SF,{Start + 5}",
            $"abc,坏的,SF000001,SF,{Start + 6}",
            $"200001,\"未闭合,SF000001,SF,{Start + 7}",
        ]));

        var summary = await ImportAsync(file);

        Assert.Equal(2, summary.GetProperty("accepted").GetInt64());
        var rejections = Rejections(summary);
        Assert.Equal([4L, 5L], rejections.Keys.Order());
        Assert.StartsWith("47001 data format error: action_type", rejections[4]);
        Assert.Equal("a quoted field is not closed (one may run over several lines, up to 65536 bytes in all)", rejections[5]);

        var (exitCode, output, error) = await RunAsync(["path", "export"]);
        Assert.Equal(0, exitCode);
        Assert.Contains("exported 2 events of 2 waybills", error);
        Assert.Matches(@"export: 100 ?%, 2 of 2 waybills, 2 events, [0-9,]+ events/s, 00:00:00 left", error);
        var exported = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("揽件成功, 快递员 \"小王\"", exported[0].GetProperty("action_msg").GetString());
        Assert.Equal(Start + 5, exported[1].GetProperty("action_time").GetInt64());

        var csvOut = Path.Combine(directory, "out.csv");
        Assert.Equal(0, (await RunAsync(["path", "export", "--format", "csv", "--output", csvOut])).ExitCode);
        var reimport = await ImportAsync(csvOut);
        Assert.Equal(2, reimport.GetProperty("duplicate").GetInt64());
        Assert.Equal(0, reimport.GetProperty("rejected").GetInt32());
    }

    [Fact]
    public async Task Messages_with_line_breaks_go_out_in_a_csv_export_and_come_back_in_unchanged_and_a_quote_never_closed_costs_only_its_own_row()
    {
        await AddWaybillsAsync(2);
        const string twoLines = "快件已到达【广州转运中心】\n派件员：小王，电话 18666666666, \"请留意\"";
        var file = Path.Combine(directory, "events.csv");
        await File.WriteAllTextAsync(file, string.Join("\r\n", [
            "delivery_id,waybill_id,action_time,action_type,action_msg",
            $"SF,SF000000,{Start},100001,\"{twoLines.Replace("\"", "\"\"", StringComparison.Ordinal)}\"",
            $"SF,SF000000,{Start + 1},200001,到达广州",
            $"SF,SF000001,{Start + 2},200001,\"未闭合的引号",
            $"SF,SF000001,{Start + 3},200001,到达深圳",
            $"SF,SF000001,{Start + 4},派件,派件中",
        ]));

        var summary = await ImportAsync(file);

        // Line 2 and 3 are one row; the quote opened on line 5 never closes, so that line alone is rejected and the
        // lines after it are rows of their own, each told by its own number.
        Assert.Equal(3, summary.GetProperty("accepted").GetInt64());
        Assert.Equal(7, summary.GetProperty("lines").GetInt64());
        var rejections = Rejections(summary);
        Assert.Equal([5L, 7L], rejections.Keys.Order());
        Assert.StartsWith("a quoted field is not closed", rejections[5]);
        Assert.StartsWith("47001 data format error: action_type", rejections[7]);

        // The rows end in CRLF, as Excel writes them; the line break inside the quotes is the message's own.
        var (exitCode, output, _) = await RunAsync(["path", "export", "--delivery-id", "SF"]);
        Assert.Equal(0, exitCode);
        var messages = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("action_msg").GetString()).ToList();
        Assert.Equal([twoLines, "到达广州", "到达深圳"], messages);

        var csvOut = Path.Combine(directory, "out.csv");
        Assert.Equal(0, (await RunAsync(["path", "export", "--format", "csv", "--output", csvOut])).ExitCode);
        Assert.Contains("】\n派件员", await File.ReadAllTextAsync(csvOut));
        var reimport = await ImportAsync(csvOut);
        Assert.Equal(3, reimport.GetProperty("duplicate").GetInt64());
        Assert.Equal(0, reimport.GetProperty("rejected").GetInt32());
    }

    [Fact]
    public async Task An_import_stopped_by_ctrl_c_resumes_where_it_stopped_and_counts_every_row_once()
    {
        await AddWaybillsAsync(50);
        var (file, bad) = WriteLargeFile(100_000);
        var checkpoint = file + ".checkpoint.json";

        using var stop = new CancellationTokenSource();
        var importing = RunAsync(["path", "import", file, "--json"], stop.Token);
        // On a thread of its own: on a busy machine a pool thread could come too late, after the import had ended and
        // taken its checkpoint away. An import that ends without a checkpoint seen (done, or failed) ends the watch
        // too, and fails below.
        var watcher = Task.Factory.StartNew(
            () =>
            {
                while (!File.Exists(checkpoint) && !importing.IsCompleted)
                {
                    Thread.Sleep(1);
                }

                stop.Cancel();
            },
            TaskCreationOptions.LongRunning);
        var first = await importing;
        await watcher;

        Assert.True(first.ExitCode == PathCommands.Interrupted, $"the first import was not interrupted ({first.ExitCode}): {first.Error}");
        Assert.Contains("run the same command again to resume", first.Error);
        var partial = JsonDocument.Parse(first.Output).RootElement;
        Assert.False(partial.GetProperty("complete").GetBoolean());
        Assert.True(partial.GetProperty("lines").GetInt64() < 100_000, partial.ToString());
        Assert.True(File.Exists(checkpoint));

        var (exitCode, output, error) = await RunAsync(["path", "import", file, "--json"]);

        Assert.Equal(0, exitCode);
        Assert.Contains($"resuming at line {partial.GetProperty("lines").GetInt64() + 1}", error);
        var summary = JsonDocument.Parse(output).RootElement;
        Assert.Equal(100_000 - bad.Count, summary.GetProperty("accepted").GetInt64());
        Assert.Equal(0, summary.GetProperty("duplicate").GetInt64());
        Assert.Equal(bad.Keys.Order(), Rejections(summary).Keys.Order());
        Assert.Equal(100_000 - bad.Count, await StoredEventsAsync());
        Assert.False(File.Exists(checkpoint));
    }

    [Fact]
    public async Task Ctrl_c_on_the_real_executable_stops_the_import_with_exit_code_130_and_the_next_run_finishes_it()
    {
        await AddWaybillsAsync(50);
        var (file, bad) = WriteLargeFile(100_000);
        var checkpoint = file + ".checkpoint.json";

        var (exitCode, output, error) = await ServerProcess.RunAndInterruptAsync(() => File.Exists(checkpoint), ["path", "import", file, "--json", .. server.Store.Args]);

        Assert.True(exitCode == PathCommands.Interrupted && error.Contains("resume"), $"exit code {exitCode}: {error} / {output}");
        Assert.Contains("run the same command again to resume", error);
        Assert.False(JsonDocument.Parse(output).RootElement.GetProperty("complete").GetBoolean());

        var summary = await ImportAsync(file);
        Assert.Equal(100_000 - bad.Count, summary.GetProperty("accepted").GetInt64());
        Assert.Equal(0, summary.GetProperty("duplicate").GetInt64());
        Assert.Equal(100_000 - bad.Count, await StoredEventsAsync());
    }

    [Fact]
    public async Task A_file_changed_after_an_interrupted_import_is_not_resumed_without_restart()
    {
        await AddWaybillsAsync(1);
        var file = Path.Combine(directory, "small.jsonl");
        await File.WriteAllTextAsync(file, $$"""{"delivery_id":"SF","waybill_id":"SF000000","action_time":{{Start}},"action_type":100001,"action_msg":"揽件"}""" + "\n");
        await File.WriteAllTextAsync(file + ".checkpoint.json", """{"file_length":1,"file_head":"00","offset":1,"line":1,"accepted":0,"duplicate":0,"rejected":[]}""");

        var refused = await RunAsync(["path", "import", file]);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("changed since the interrupted import", refused.Error);
        Assert.Contains("--restart", refused.Error);

        var summary = await ImportAsync(file, "--restart");
        Assert.Equal(1, summary.GetProperty("accepted").GetInt64());
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"file_length\":1,")]
    [InlineData("null")]
    public async Task A_checkpoint_file_that_is_no_checkpoint_is_named_with_what_to_do_not_a_stack_trace(string content)
    {
        await AddWaybillsAsync(1);
        var file = Path.Combine(directory, "small.jsonl");
        await File.WriteAllTextAsync(file, $$"""{"delivery_id":"SF","waybill_id":"SF000000","action_time":{{Start}},"action_type":100001,"action_msg":"揽件"}""" + "\n");
        await File.WriteAllTextAsync(file + ".checkpoint.json", content);

        var refused = await RunAsync(["path", "import", file]);

        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith($"error: {file}.checkpoint.json is not a checkpoint of path import", refused.Error);
        Assert.Contains("run again with --restart to import small.jsonl from the start, which replaces it", refused.Error);
        Assert.DoesNotContain("   at ", refused.Error);
        var summary = await ImportAsync(file, "--restart");
        Assert.Equal(1, summary.GetProperty("accepted").GetInt64());
        Assert.False(File.Exists(file + ".checkpoint.json"));
    }

    [Fact]
    public async Task Importing_shows_progress_with_rate_and_time_left_and_a_readable_summary()
    {
        await AddWaybillsAsync(2);
        var file = Path.Combine(directory, "two.jsonl");
        await File.WriteAllLinesAsync(file, [
            $$"""{"delivery_id":"SF","waybill_id":"SF000000","action_time":{{Start}},"action_type":100001,"action_msg":"揽件"}""",
            $$"""{"delivery_id":"SF","waybill_id":"SF000009","action_time":{{Start}},"action_type":100001,"action_msg":"揽件"}""",
        ]);

        var (exitCode, output, error) = await RunAsync(["path", "import", file]);

        Assert.Equal(0, exitCode);
        Assert.Matches(@"two\.jsonl: 100 ?%, 2 rows, [0-9,]+ rows/s, 00:00:00 left", error);
        Assert.Matches(@"accepted\s+1", output);
        Assert.Matches(@"rejected\s+1", output);
        Assert.Matches(@"2\s+40199 waybill_id not found: SF has no waybill SF000009", output);
    }

    [Theory]
    [InlineData("events.csv", "delivery_id,waybill_id,action_time,action_type,action_msg\r\nSF,SF000000,{0},100001,揽件成功\r\n")]
    [InlineData("events.jsonl", "{{\"delivery_id\":\"SF\",\"waybill_id\":\"SF000000\",\"action_time\":{0},\"action_type\":100001,\"action_msg\":\"揽件成功\"}}\n")]
    public async Task A_file_saved_with_a_byte_order_mark_as_Excel_saves_CSV_UTF_8_imports_from_its_first_line(string name, string content)
    {
        await AddWaybillsAsync(1);
        var file = Path.Combine(directory, name);
        await File.WriteAllTextAsync(file, string.Format(System.Globalization.CultureInfo.InvariantCulture, content, Start), new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        Assert.Equal(0xEF, (await File.ReadAllBytesAsync(file))[0]);

        var summary = await ImportAsync(file);

        Assert.Equal(0, summary.GetProperty("rejected").GetInt32());
        Assert.Equal(1, summary.GetProperty("accepted").GetInt64());
    }

    [Fact]
    public async Task Exporting_one_event_says_one_event_of_one_waybill()
    {
        await AddWaybillsAsync(1);
        var file = Path.Combine(directory, "one.jsonl");
        await File.WriteAllTextAsync(file, $$"""{"delivery_id":"SF","waybill_id":"SF000000","action_time":{{Start}},"action_type":100001,"action_msg":"揽件成功"}""" + "\n");
        await ImportAsync(file);

        var (exitCode, _, error) = await RunAsync(["path", "export"]);

        Assert.Equal(0, exitCode);
        Assert.Contains("exported 1 event of 1 waybill", error);

        // The progress counts that carrier's waybills only.
        Assert.Matches(@"export: 100 ?%, 1 of 1 waybills, 1 events, ", error);
    }

    [Fact]
    public async Task Exporting_one_carrier_writes_its_events_only_not_those_of_a_carrier_sorted_before_or_after_it()
    {
        foreach (var carrier in new[] { "EMS", "SF", "ZTO" })
        {
            await server.AddCarrierAsync(carrier, carrier);
            await server.AddWaybillAsync(carrier, waybillId: "W1");
        }

        var file = Path.Combine(directory, "carriers.jsonl");
        await File.WriteAllLinesAsync(file, new[] { "EMS", "SF", "ZTO" }.Select(carrier =>
            $$"""{"delivery_id":"{{carrier}}","waybill_id":"W1","action_time":{{Start}},"action_type":100001,"action_msg":"{{carrier}} 揽件 18666666666"}"""));
        await ImportAsync(file);

        var (exitCode, output, error) = await RunAsync(["path", "export", "--delivery-id", "SF"]);

        Assert.Equal(0, exitCode);
        Assert.Equal(["SF 揽件 18666666666"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("action_msg").GetString()));
        Assert.Contains("exported 1 event of 1 waybill", error);

        // The progress counts that carrier's waybills only.
        Assert.Matches(@"export: 100 ?%, 1 of 1 waybills, 1 events, ", error);
    }

    [Fact]
    public async Task Importing_a_directory_says_it_is_not_a_file()
    {
        var (exitCode, _, error) = await RunAsync(["path", "import", directory]);

        Assert.Equal(1, exitCode);
        Assert.Contains("is a directory, not a file", error);
    }

    [Fact]
    public async Task Importing_a_missing_file_says_so()
    {
        var (exitCode, _, error) = await RunAsync(["path", "import", Path.Combine(directory, "nothing.jsonl")]);

        Assert.Equal(1, exitCode);
        Assert.Contains("there is no file", error);
    }
}

public sealed class BulkPathTestsOnSqlite() : BulkPathTests(StoreKind.Sqlite);

public sealed class BulkPathTestsOnPostgres() : BulkPathTests(StoreKind.Postgres);
