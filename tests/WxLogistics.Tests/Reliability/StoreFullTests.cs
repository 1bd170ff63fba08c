using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Reliability;

/// <summary>
/// The disk under a SQLite store fills up while carriers keep sending. The server runs with its files unable to grow
/// past a size (a file-size limit: writes past it fail as they do on a full disk), then the limit is lifted, as when
/// an operator makes room.
/// </summary>
public sealed class StoreFullTests
{
    const string Waybill = "FULL001";
    const long Start = 1533052800;

    // About 600 bytes an event: a store limited to 1 MiB fills after some hundreds.
    static readonly string Filler = string.Concat(Enumerable.Repeat("快件已到达转运中心", 20));

    [Fact]
    public async Task A_full_disk_answers_system_error_never_ok_logs_it_once_and_ingest_resumes_by_itself_when_room_returns()
    {
        var store = TestStore.Create(StoreKind.Sqlite);
        var carrier = await TestRun.OperatorAsync(store, "app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运");
        var token = (await TestRun.OperatorAsync(store, "waybill", "add", "--delivery-id", "SF", "--waybill-id", Waybill))
            .GetProperty("token").GetString()!;

        var acknowledged = new List<long>();
        var failed = 0;
        string output;
        await using (var server = await ServerProcess.StartWithFileSizeLimitAsync(store, 1024 * 1024))
        {
            using var client = new HttpClient { BaseAddress = server.BaseAddress };
            var issued = await client.GetFromJsonAsync<JsonElement>(
                $"/cgi-bin/token?grant_type=client_credential&appid={carrier.GetProperty("appid")}&secret={carrier.GetProperty("secret")}");
            TestRun.RecordSecrets(issued);
            var url = $"/cgi-bin/express/delivery/path/update?access_token={issued.GetProperty("access_token")}";

            async Task<int> UpdateAsync(long time)
            {
                using var response = await client.PostAsJsonAsync(url, new
                {
                    token,
                    waybill_id = Waybill,
                    action_time = time,
                    action_type = 200001,
                    action_msg = $"{Filler} {time}",
                });
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
                var errcode = reply.GetProperty("errcode").GetInt32();
                if (errcode == 0)
                {
                    acknowledged.Add(time);
                }
                else
                {
                    failed++;
                    Assert.Equal(-1, errcode);
                    Assert.StartsWith("system error rid: ", reply.GetProperty("errmsg").GetString());
                }

                return errcode;
            }

            // Until the disk is full and has stayed full for 50 updates in a row.
            var time = Start;
            for (var inARow = 0; inARow < 50; time++)
            {
                Assert.True(time < Start + 5000, "the store never filled up");
                inARow = await UpdateAsync(time) == 0 ? 0 : inARow + 1;
            }

            Assert.True(acknowledged.Count > 100, $"only {acknowledged.Count} updates were acknowledged before the store filled");

            // Carriers retry: a disk that stays full is summed up every 10 s, not logged per request.
            var full = System.Diagnostics.Stopwatch.StartNew();
            while (full.Elapsed < TimeSpan.FromSeconds(11))
            {
                await UpdateAsync(time++);
                await Task.Delay(20);
            }

            Assert.Contains("Committing path events still fails: ", server.Output);

            // Room returns: the next updates are stored again, with no restart.
            server.LiftFileSizeLimit();
            var resumed = false;
            for (var attempt = 0; attempt < 10 && !resumed; attempt++, time++)
            {
                resumed = await UpdateAsync(time) == 0;
            }

            Assert.True(resumed, "ingest did not resume once the store could grow again");
            for (var i = 0; i < 20; i++, time++)
            {
                Assert.Equal(0, await UpdateAsync(time));
            }

            output = server.Output;
        }

        // Each run of failures is logged once with its cause and summed up when commits succeed again, not a stack trace
        // per request. (A full SQLite store may take a few more events when a checkpoint frees pages, and fail again.)
        var runs = Regex.Matches(output, @"Committing path events succeeds again, after (\d+) failures \((\d+) path events\)");
        Assert.InRange(runs.Count, 1, 5);
        Assert.Equal(runs.Count, Occurrences(output, "Committing path events failed"));
        Assert.Equal(failed, runs.Sum(run => int.Parse(run.Groups[1].Value)));
        Assert.Equal(failed, runs.Sum(run => int.Parse(run.Groups[2].Value)));
        Assert.InRange(Occurrences(output, "Writing to the call inspector failed"), 1, 5);
        Assert.Equal(0, Occurrences(output, "Unhandled error"));
        Assert.Equal(0, Occurrences(output, "An unhandled exception"));

        // Every acknowledged event is stored once, and nothing else.
        await using var opened = await store.OpenAsync();
        var path = await opened.ReadPathAsync(Keys.Sf(Waybill));
        Assert.Equal(acknowledged, path.Select(e => e.ActionTime).ToList());
    }

    static int Occurrences(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
