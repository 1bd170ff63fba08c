using Microsoft.Data.Sqlite;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Storage.Sqlite;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Core;

/// <summary>
/// A SQLite store written by an earlier version (events in one table in arrival order, the path version on the
/// waybill) keeps every path, its order and its version when the server upgrades it to events kept by waybill.
/// </summary>
public sealed class SqliteUpgradeTests
{
    [Fact]
    public async Task A_store_from_before_events_were_kept_by_waybill_keeps_its_paths_order_and_versions_after_the_upgrade()
    {
        var directory = TempDirectory.Create();
        var file = Path.Combine(directory, SqliteStore.FileName);
        await using (var old = new SqliteConnection($"Data Source={file};Pooling=False"))
        {
            await old.OpenAsync();
            await ExecuteAsync(old, "PRAGMA journal_mode=WAL; CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);");
            foreach (var (version, sql) in SqlScripts.Load("Sqlite").Where(s => s.Version <= 5))
            {
                await ExecuteAsync(old, sql);
                await ExecuteAsync(old, $"INSERT INTO schema_migrations (version, applied_at) VALUES ({version}, 0);");
            }

            // Two waybills; SF-1's events arrived out of time order, two of them with the same action_time.
            await ExecuteAsync(
                old,
                """
                INSERT INTO waybills (delivery_id, waybill_id, token_hash, path_version, created_at, updated_at) VALUES
                    ('SF', 'SF-1', x'00', 4, 1, 1), ('SF', 'SF-2', x'00', 1, 1, 1), ('SF', 'SF-3', x'00', 0, 1, 1);
                INSERT INTO path_events (seq, delivery_id, waybill_id, action_time, action_type, action_msg, received_at) VALUES
                    (1, 'SF', 'SF-1', 1700000300, 100003, 'third by time', 0),
                    (2, 'SF', 'SF-2', 1700000000, 100001, 'only one', 0),
                    (3, 'SF', 'SF-1', 1700000100, 100001, 'first by time', 0),
                    (4, 'SF', 'SF-1', 1700000200, 100002, 'same time, arrived first', 0),
                    (5, 'SF', 'SF-1', 1700000200, 100002, 'same time, arrived second', 0);
                """);
        }

        await using var store = new SqliteStore(directory);
        await store.MigrateAsync();
        Assert.True(await store.IsReadyAsync());

        var sf1 = Key("SF-1");
        Assert.Equal(
            ["first by time", "same time, arrived first", "same time, arrived second", "third by time"],
            (await store.ReadPathAsync(sf1)).Select(e => e.ActionMsg));
        Assert.Equal(["only one"], (await store.ReadPathAsync(Key("SF-2"))).Select(e => e.ActionMsg));
        Assert.Equal(4, (await store.FindWaybillAsync(sf1))!.PathVersion);
        Assert.Equal(1, (await store.FindWaybillAsync(Key("SF-2")))!.PathVersion);
        Assert.Equal(0, (await store.FindWaybillAsync(Key("SF-3")))!.PathVersion);

        // After the upgrade a repeat of an old event is still a duplicate, and a new one is the next version.
        var outcomes = await store.AppendEventsAsync(
            [
                (sf1, new PathEvent(1700000100, 100001, "first by time")),
                (sf1, new PathEvent(1700000200, 100002, "same time, arrived third")),
                (Key("SF-3"), new PathEvent(1700000000, 100001, "the first of SF-3")),
            ],
            receivedAtMs: 0);
        Assert.Equal([AppendOutcome.Duplicate, AppendOutcome.Stored, AppendOutcome.Stored], outcomes);
        Assert.Equal(5, (await store.FindWaybillAsync(sf1))!.PathVersion);
        Assert.Equal(1, (await store.FindWaybillAsync(Key("SF-3")))!.PathVersion);
        Assert.Equal("same time, arrived third", (await store.ReadPathAsync(sf1))[3].ActionMsg);
        Assert.Equal(["SF-1", "SF-2", "SF-3"], (await store.ListWaybillsAsync(null, null, 10)).Select(w => w.Key.WaybillId.Value));
    }

    static WaybillKey Key(string waybillId) =>
        DeliveryId.TryParse("SF", out var d) && WaybillId.TryParse(waybillId, out var w) ? new WaybillKey(d, w) : throw new ArgumentException(waybillId);

    static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = new SqliteCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
