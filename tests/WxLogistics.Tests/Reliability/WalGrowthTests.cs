using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Reliability;

/// <summary>
/// SQLite appends every commit to its write-ahead log and only starts the log again from its beginning once all of it
/// has been copied into the database. Under steady ingest that copy must still catch up, or the log grows without end:
/// disk fills and a restart after a crash has the whole log to read.
/// </summary>
public sealed class WalGrowthTests : IAsyncLifetime
{
    const int Waybills = 20;
    const int Senders = 16;
    const int EventsPerSender = 600;

    readonly WxServer server = new(StoreKind.Sqlite);
    readonly List<Waybill> waybills = [];
    string carrierToken = "";

    public async Task InitializeAsync()
    {
        var carrier = await server.AddCarrierAsync("SF");
        for (var i = 0; i < Waybills; i++)
        {
            waybills.Add(await server.AddWaybillAsync("SF", waybillId: $"WAL{i:D3}"));
        }

        carrierToken = await server.AccessTokenAsync(carrier);
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task Under_steady_ingest_the_write_ahead_log_stays_small()
    {
        long largest = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                largest = Math.Max(largest, WalBytes);
                await Task.Delay(20);
            }
        });

        await LoadAsync(EventsPerSender);
        await sampling.CancelAsync();
        await sampler;

        // 9,600 events, each rewriting a page of 4 kB: a log that never starts again passes 40 MB.
        Assert.InRange(largest, 1, 12 * 1024 * 1024);
    }

    [Fact]
    public async Task After_a_long_read_such_as_a_backup_the_write_ahead_log_shrinks_back()
    {
        // A reader that keeps its snapshot, as `backup` does while it copies: the log cannot start again meanwhile.
        var reader = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "wxlogistics.db")};Pooling=False");
        await reader.OpenAsync();
        var snapshot = reader.BeginTransaction(deferred: true);
        await using (var look = reader.CreateCommand())
        {
            look.Transaction = snapshot;
            look.CommandText = "SELECT COUNT(*) FROM path_events";
            await look.ExecuteScalarAsync();
        }

        await LoadAsync(1_000);
        var grown = WalBytes;
        Assert.True(grown > Storage.Sqlite.SqliteStore.WalSizeLimit, $"the log grew to {grown} bytes only, with the snapshot held");

        snapshot.Dispose();
        await reader.DisposeAsync();
        await LoadAsync(300, firstTime: 1_533_100_000);
        var after = WalBytes;
        Assert.True(after <= Storage.Sqlite.SqliteStore.WalSizeLimit, $"the log stayed at {after} bytes after the read ({grown} at its largest)");
    }

    long WalBytes => new FileInfo(Path.Combine(server.DataDirectory, "wxlogistics.db-wal")) is { Exists: true } wal ? wal.Length : 0;

    /// <summary>Each sender updates the waybills in turn, <paramref name="eventsPerSender"/> new events each.</summary>
    Task LoadAsync(int eventsPerSender, long firstTime = 1_533_052_800) =>
        Task.WhenAll(Enumerable.Range(0, Senders).Select(sender => Task.Run(async () =>
        {
            for (var i = 0; i < eventsPerSender; i++)
            {
                var waybill = waybills[(sender + i) % Waybills];
                WxAssert.Ok(await server.UpdatePathAsync(carrierToken, new
                {
                    token = waybill.Token,
                    waybill_id = waybill.WaybillId,
                    action_time = firstTime + i,
                    action_type = 200001,
                    action_msg = $"sender {sender} stop {i}",
                }));
            }
        })));
}
