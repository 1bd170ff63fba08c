using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Storage.Sqlite;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Core;

/// <summary>
/// The SQLite store keeps recently read paths in memory. Whoever wrote last, this server or an operator verb in
/// another process, a read never shows a path older than its last commit.
/// </summary>
public sealed class PathCacheTests : IAsyncLifetime
{
    const long Start = 1_764_000_000;

    readonly WxServer server = new(StoreKind.Sqlite);
    readonly string directory = TempDirectory.Create();
    Waybill waybill = new("", "", "");
    string carrierToken = "";
    string merchantToken = "";

    public async Task InitializeAsync() => (_, waybill, carrierToken, merchantToken) = await server.AddShipmentAsync();

    public async Task DisposeAsync() => await server.DisposeAsync();

    async Task<List<string>> PathAsync()
    {
        var reply = await server.GetPathAsync(merchantToken, new { delivery_id = "SF", waybill_id = waybill.WaybillId });
        return reply.GetProperty("path_item_list").EnumerateArray().Select(i => i.GetProperty("action_msg").GetString()!).ToList();
    }

    async Task ImportInAnotherProcessAsync(params string[] messages)
    {
        var file = Path.Combine(directory, $"import-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllLinesAsync(file, messages.Select((m, i) =>
            $$"""{"delivery_id":"SF","waybill_id":"{{waybill.WaybillId}}","action_time":{{Start + i}},"action_type":200001,"action_msg":"{{m}}"}"""));
        var (exitCode, output, error) = await ServerProcess.RunToEndAsync(["path", "import", file, "--json", .. server.Store.Args]);
        Assert.True(exitCode == 0, $"import failed ({exitCode}): {error} {output}");
    }

    [Fact]
    public async Task A_path_imported_by_the_operator_from_another_process_shows_in_getPath_at_once()
    {
        Assert.Empty(await PathAsync());
        Assert.Empty(await PathAsync());

        await ImportInAnotherProcessAsync("到达广州", "到达深圳");
        Assert.Equal(["到达广州", "到达深圳"], await PathAsync());

        await ImportInAnotherProcessAsync("到达广州", "到达深圳", "派件中");
        Assert.Equal(["到达广州", "到达深圳", "派件中"], await PathAsync());

        WxAssert.Ok(await server.UpdatePathAsync(
            carrierToken,
            new { token = waybill.Token, waybill_id = waybill.WaybillId, action_time = Start + 10, action_type = 300003, action_msg = "已签收" }));
        Assert.Equal(["到达广州", "到达深圳", "派件中", "已签收"], await PathAsync());
    }

    [Fact]
    public async Task A_path_that_getPath_serves_often_from_memory_shows_each_change_at_once()
    {
        async Task UpdateAsync(int second, string message) => WxAssert.Ok(await server.UpdatePathAsync(
            carrierToken,
            new { token = waybill.Token, waybill_id = waybill.WaybillId, action_time = Start + second, action_type = 200001, action_msg = message }));

        // Each path is read three times: from the store, then from memory, where its JSON is kept from the second read.
        async Task ReadOftenAsync(params string[] expected)
        {
            for (var read = 0; read < 3; read++)
            {
                Assert.Equal(expected, await PathAsync());
            }
        }

        await UpdateAsync(0, "揽件成功");
        await ReadOftenAsync("揽件成功");

        await UpdateAsync(1, "到达广州");
        await ReadOftenAsync("揽件成功", "到达广州");

        await ImportInAnotherProcessAsync("揽件成功", "到达广州", "派件中");
        await ReadOftenAsync("揽件成功", "到达广州", "派件中");

        await UpdateAsync(3, "已签收");
        await ReadOftenAsync("揽件成功", "到达广州", "派件中", "已签收");
    }

    [Fact]
    public async Task Two_stores_on_one_data_directory_each_see_what_the_other_appended()
    {
        var data = TempDirectory.Create();
        await using var first = new SqliteStore(data);
        await first.MigrateAsync();
        await using var second = new SqliteStore(data);
        var key = await AddWaybillAsync(first, "SF-1");

        Assert.Empty(await first.ReadPathAsync(key));
        Assert.Empty(await second.ReadPathAsync(key));

        await second.AppendEventsAsync([(key, new PathEvent(Start, 100001, "from the second"))], 0);
        Assert.Equal(["from the second"], (await first.ReadPathAsync(key)).Select(e => e.ActionMsg));

        await first.AppendEventsAsync([(key, new PathEvent(Start + 1, 200001, "from the first"))], 0);
        Assert.Equal(["from the second", "from the first"], (await second.ReadPathAsync(key)).Select(e => e.ActionMsg));
        Assert.Equal(["from the second", "from the first"], (await first.ReadPathAsync(key)).Select(e => e.ActionMsg));
    }

    [Fact]
    public async Task A_path_read_while_events_are_appended_always_holds_every_append_already_answered()
    {
        await using var store = new SqliteStore(TempDirectory.Create());
        await store.MigrateAsync();
        var key = await AddWaybillAsync(store, "SF-2");

        // Readers keep filling the cache while each append is answered; the read after an answer must hold it.
        using var stop = new CancellationTokenSource();
        using var reading = new CountdownEvent(4);
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Factory.StartNew(
            () =>
            {
                var reads = 0;
                while (!stop.IsCancellationRequested)
                {
                    store.ReadPathAsync(key).GetAwaiter().GetResult();
                    if (++reads == 1)
                    {
                        reading.Signal();
                    }
                }

                return reads;
            },
            TaskCreationOptions.LongRunning)).ToArray();
        Assert.True(reading.Wait(TimeSpan.FromSeconds(30)), "the readers did not start");

        for (var i = 0; i < 500; i++)
        {
            await store.AppendEventsAsync([(key, new PathEvent(Start + i, 200001, $"event {i}"))], 0);
            var path = await store.ReadPathAsync(key);
            Assert.True(path.Count == i + 1, $"after append {i} the path held {path.Count} events");
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers);
    }

    [Fact]
    public void A_read_that_overlapped_an_append_is_not_kept()
    {
        var cache = PathCache.Open(TempDirectory.Create())!;
        var key = Keys.Sf("SF-3");
        IReadOnlyList<PathEvent> before = [new PathEvent(Start, 100001, "before the append")];

        // A read starts, an append of this process commits and is answered, then the read finishes.
        Assert.False(cache.TryGet(key, out _, out var ticket));
        cache.Changed([key]);
        cache.Keep(key, before, ticket);

        Assert.False(cache.TryGet(key, out _, out ticket));
        cache.Keep(key, before, ticket);
        Assert.True(cache.TryGet(key, out var kept, out _));
        Assert.Same(before, kept.Events);
    }

    [Fact]
    public void A_commit_of_another_process_makes_every_kept_path_read_again_even_one_read_meanwhile()
    {
        var data = TempDirectory.Create();
        var server = PathCache.Open(data)!;
        var operatorVerb = PathCache.Open(data)!;
        var (kept, overlapping) = (Keys.Sf("SF-4"), Keys.Sf("SF-5"));
        IReadOnlyList<PathEvent> old = [new PathEvent(Start, 100001, "old")];

        Assert.False(server.TryGet(kept, out _, out var ticket));
        server.Keep(kept, old, ticket);
        Assert.False(server.TryGet(overlapping, out _, out ticket));

        // The other process appends to some waybill; the server cannot know which.
        operatorVerb.Changed([Keys.Sf("SF-6")]);
        server.Keep(overlapping, old, ticket);

        Assert.False(server.TryGet(kept, out _, out _));
        Assert.False(server.TryGet(overlapping, out _, out _));

        // The server's own appends after that are told apart from the other process's again...
        Assert.False(server.TryGet(kept, out _, out ticket));
        server.Keep(kept, old, ticket);
        server.Changed([overlapping]);
        Assert.True(server.TryGet(kept, out _, out _));

        // ...but not when the other process committed just before the server did.
        operatorVerb.Changed([Keys.Sf("SF-6")]);
        server.Changed([overlapping]);
        Assert.False(server.TryGet(kept, out _, out _));
    }

    [Fact]
    public void However_many_waybills_are_read_the_cache_keeps_at_most_its_bound_and_still_the_latest()
    {
        var cache = PathCache.Open(TempDirectory.Create())!;
        IReadOnlyList<PathEvent> path = [new PathEvent(Start, 100001, "picked up")];
        var most = 0;
        for (var i = 0; i < 5 * PathCache.MaxEntries + PathCache.MaxEntries / 2; i++)
        {
            var key = Keys.Sf($"SF-{i}");
            Assert.False(cache.TryGet(key, out _, out var ticket));
            cache.Keep(key, path, ticket);
            Assert.True(cache.TryGet(key, out _, out _), $"the path just read ({i}) was not kept");
            most = Math.Max(most, cache.Count);
        }

        Assert.Equal(PathCache.MaxEntries, most);

        // When full it forgets the older half, not everything: the latest reads are still served from memory.
        Assert.True(cache.Count >= PathCache.MaxEntries / 2, $"only {cache.Count} paths kept");
    }

    [Fact]
    public void After_a_burst_of_reads_of_other_waybills_the_paths_read_since_are_still_kept()
    {
        var cache = PathCache.Open(TempDirectory.Create())!;
        IReadOnlyList<PathEvent> path = [new PathEvent(Start, 100001, "picked up")];
        void Read(WaybillKey key)
        {
            Assert.False(cache.TryGet(key, out _, out var ticket));
            cache.Keep(key, path, ticket);
        }

        for (var i = 0; i < PathCache.MaxEntries; i++)
        {
            Read(Keys.Sf($"BURST-{i}"));
        }

        // Then a stream of other waybills: however long, the latest half of the bound's worth of them stay kept.
        var latest = new Queue<WaybillKey>();
        for (var i = 0; i < 3 * PathCache.MaxEntries; i++)
        {
            var key = Keys.Sf($"SF-{i}");
            Read(key);
            latest.Enqueue(key);
            if (latest.Count > PathCache.MaxEntries / 2)
            {
                latest.Dequeue();
            }

            if (i % 97 == 0)
            {
                var forgotten = latest.Count(k => !cache.TryGet(k, out _, out _));
                Assert.True(forgotten == 0, $"after {i + 1} reads, {forgotten} of the latest {latest.Count} were forgotten");
            }
        }
    }

    [Fact]
    public void A_path_longer_than_the_limit_is_read_from_the_store_each_time()
    {
        var cache = PathCache.Open(TempDirectory.Create())!;
        var key = Keys.Sf("SF-9");
        var longPath = Enumerable.Range(0, PathCache.MaxEventsPerPath + 1).Select(i => new PathEvent(Start + i, 200001, $"event {i}")).ToList();

        Assert.False(cache.TryGet(key, out _, out var ticket));
        cache.Keep(key, longPath, ticket);
        Assert.False(cache.TryGet(key, out _, out ticket));

        cache.Keep(key, longPath[..PathCache.MaxEventsPerPath], ticket);
        Assert.True(cache.TryGet(key, out var kept, out _));
        Assert.Equal(PathCache.MaxEventsPerPath, kept.Events.Count);
    }

    static async Task<WaybillKey> AddWaybillAsync(Store store, string waybillId)
    {
        var key = Keys.Sf(waybillId);
        Assert.True(await store.AddWaybillAsync(new WaybillRecord(key, [1], null, null, null, 0, Start)));
        return key;
    }
}
