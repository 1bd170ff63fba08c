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
        var wal = Path.Combine(server.DataDirectory, "wxlogistics.db-wal");
        long largest = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                if (File.Exists(wal))
                {
                    largest = Math.Max(largest, new FileInfo(wal).Length);
                }

                await Task.Delay(20);
            }
        });

        await Task.WhenAll(Enumerable.Range(0, Senders).Select(sender => Task.Run(async () =>
        {
            for (var i = 0; i < EventsPerSender; i++)
            {
                var waybill = waybills[(sender + i) % Waybills];
                WxAssert.Ok(await server.UpdatePathAsync(carrierToken, new
                {
                    token = waybill.Token,
                    waybill_id = waybill.WaybillId,
                    action_time = 1533052800 + i,
                    action_type = 200001,
                    action_msg = $"sender {sender} stop {i}",
                }));
            }
        })));
        await sampling.CancelAsync();
        await sampler;

        // 9,600 events, each rewriting a page of 4 kB: a log that never starts again passes 40 MB.
        Assert.InRange(largest, 1, 12 * 1024 * 1024);
    }
}
