using Npgsql;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Storage.Postgres;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Core;

/// <summary>
/// A PostgreSQL store written by an earlier version (events keyed by waybill and arrival number, with a separate
/// de-duplication constraint) keeps every path, its order and its versions when the server upgrades it to events
/// keyed by their content, and still refuses the duplicates it refused before.
/// </summary>
public sealed class PostgresUpgradeTests
{
    [Fact]
    public async Task A_store_from_before_events_were_keyed_by_content_keeps_its_paths_order_versions_and_duplicates_after_the_upgrade()
    {
        var test = TestStore.Create(StoreKind.Postgres);
        await using (var old = new NpgsqlConnection(test.Connection))
        {
            await old.OpenAsync();
            await ExecuteAsync(old, "CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)");
            foreach (var (version, sql) in SqlScripts.Load("Postgres").Where(s => s.Version <= 5))
            {
                await ExecuteAsync(old, sql);
                await ExecuteAsync(old, $"INSERT INTO schema_migrations (version, applied_at) VALUES ({version}, 0)");
            }

            // SF-1's events arrived out of time order, two of them with the same action_time.
            await ExecuteAsync(
                old,
                """
                INSERT INTO waybills (delivery_id, waybill_id, token_hash, path_version, created_at, updated_at) VALUES
                    ('SF', 'SF-1', '\x00', 4, 1, 1), ('SF', 'SF-2', '\x00', 1, 1, 1), ('SF', 'SF-3', '\x00', 0, 1, 1);
                INSERT INTO path_events (delivery_id, waybill_id, action_time, action_type, action_msg, received_at) VALUES
                    ('SF', 'SF-1', 1700000300, 100003, 'third by time', 0),
                    ('SF', 'SF-2', 1700000000, 100001, 'only one', 0),
                    ('SF', 'SF-1', 1700000100, 100001, 'first by time', 0),
                    ('SF', 'SF-1', 1700000200, 100002, 'same time, arrived first', 0),
                    ('SF', 'SF-1', 1700000200, 100002, 'same time, arrived second', 0);
                """);
        }

        await using var store = new PostgresStore(test.Connection!);
        await store.MigrateAsync();
        Assert.True(await store.IsReadyAsync());

        var sf1 = Key("SF-1");
        Assert.Equal(
            ["first by time", "same time, arrived first", "same time, arrived second", "third by time"],
            (await store.ReadPathAsync(sf1)).Select(e => e.ActionMsg));
        Assert.Equal(["only one"], (await store.ReadPathAsync(Key("SF-2"))).Select(e => e.ActionMsg));
        Assert.Equal(4, (await store.FindWaybillAsync(sf1))!.PathVersion);

        // After the upgrade a repeat of an old event is still a duplicate, and a new one is the next version.
        var outcomes = await store.AppendEventsAsync(
            [
                (sf1, new PathEvent(1700000100, 100001, "first by time")),
                (sf1, new PathEvent(1700000200, 100002, "same time, arrived third")),
                (Key("SF-3"), new PathEvent(1700000000, 100001, "the first of SF-3")),
                (Key("SF-3"), new PathEvent(1700000000, 100001, "the first of SF-3")),
            ],
            receivedAtMs: 0);
        Assert.Equal([AppendOutcome.Duplicate, AppendOutcome.Stored, AppendOutcome.Stored, AppendOutcome.Duplicate], outcomes);
        Assert.Equal(5, (await store.FindWaybillAsync(sf1))!.PathVersion);
        Assert.Equal(1, (await store.FindWaybillAsync(Key("SF-3")))!.PathVersion);
        Assert.Equal("same time, arrived third", (await store.ReadPathAsync(sf1))[3].ActionMsg);
        Assert.Equal(
            ["SF-1", "SF-1", "SF-1", "SF-1", "SF-1", "SF-2", "SF-3"],
            (await store.ReadPathsAsync(null, Key("SF-3"))).Select(e => e.Key.WaybillId.Value));
    }

    static WaybillKey Key(string waybillId) =>
        DeliveryId.TryParse("SF", out var d) && WaybillId.TryParse(waybillId, out var w) ? new WaybillKey(d, w) : throw new ArgumentException(waybillId);

    static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
