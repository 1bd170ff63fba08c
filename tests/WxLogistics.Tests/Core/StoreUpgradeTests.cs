using Microsoft.Data.Sqlite;
using Npgsql;
using WxLogistics.Storage;
using WxLogistics.Storage.Postgres;
using WxLogistics.Storage.Sqlite;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Core;

/// <summary>
/// A store written by an earlier version (schema 5: in SQLite, events in one table in arrival order and the path
/// version on the waybill; in PostgreSQL, events keyed by waybill and arrival number) keeps every path, its order and
/// its versions when the server upgrades it, and still refuses the duplicates it refused before.
/// </summary>
public abstract class StoreUpgradeTests
{
    /// <summary>A store left at schema 5 by <see cref="EarlierStore"/>, not migrated yet.</summary>
    protected abstract Task<Store> OpenEarlierStoreAsync();

    [Fact]
    public async Task A_store_of_an_earlier_schema_keeps_its_paths_order_versions_and_duplicates_after_the_upgrade()
    {
        await using var store = await OpenEarlierStoreAsync();
        Assert.False(await store.IsReadyAsync(), "a store of an earlier schema is not ready before the upgrade");
        await store.MigrateAsync();
        Assert.True(await store.IsReadyAsync());

        var sf1 = Keys.Sf("SF-1");
        Assert.Equal(
            ["first by time", "same time, arrived first", "same time, arrived second", "third by time"],
            (await store.ReadPathAsync(sf1)).Select(e => e.ActionMsg));
        Assert.Equal(["only one"], (await store.ReadPathAsync(Keys.Sf("SF-2"))).Select(e => e.ActionMsg));
        Assert.Equal(4, (await store.FindWaybillAsync(sf1))!.PathVersion);
        Assert.Equal(1, (await store.FindWaybillAsync(Keys.Sf("SF-2")))!.PathVersion);
        Assert.Equal(0, (await store.FindWaybillAsync(Keys.Sf("SF-3")))!.PathVersion);

        // After the upgrade a repeat of an old event is still a duplicate, and a new one is the next version.
        var outcomes = await store.AppendEventsAsync(
            [
                (sf1, new PathEvent(1700000100, 100001, "first by time")),
                (sf1, new PathEvent(1700000200, 100002, "same time, arrived third")),
                (Keys.Sf("SF-3"), new PathEvent(1700000000, 100001, "the first of SF-3")),
                (Keys.Sf("SF-3"), new PathEvent(1700000000, 100001, "the first of SF-3")),
            ],
            receivedAtMs: 0);
        Assert.Equal([AppendOutcome.Duplicate, AppendOutcome.Stored, AppendOutcome.Stored, AppendOutcome.Duplicate], outcomes);
        Assert.Equal(5, (await store.FindWaybillAsync(sf1))!.PathVersion);
        Assert.Equal(1, (await store.FindWaybillAsync(Keys.Sf("SF-3")))!.PathVersion);
        Assert.Equal("same time, arrived third", (await store.ReadPathAsync(sf1))[3].ActionMsg);
        Assert.Equal(["SF-1", "SF-2", "SF-3"], (await store.ListWaybillsAsync(null, null, 10)).Select(w => w.Key.WaybillId.Value));
        Assert.Equal(
            ["SF-1", "SF-1", "SF-1", "SF-1", "SF-1", "SF-2", "SF-3"],
            (await store.ReadPathsAsync(null, Keys.Sf("SF-3"))).Select(e => e.Key.WaybillId.Value));
    }
}

public sealed class StoreUpgradeTestsOnSqlite : StoreUpgradeTests
{
    protected override async Task<Store> OpenEarlierStoreAsync()
    {
        var directory = TempDirectory.Create();
        await using (var old = new SqliteConnection($"Data Source={Path.Combine(directory, SqliteStore.FileName)};Pooling=False"))
        {
            await old.OpenAsync();
            await EarlierStore.ExecuteAsync(old, "PRAGMA journal_mode=WAL");
            await EarlierStore.CreateAsync(old, "Sqlite", throughVersion: 5);
        }

        return new SqliteStore(directory);
    }
}

public sealed class StoreUpgradeTestsOnPostgres : StoreUpgradeTests
{
    protected override async Task<Store> OpenEarlierStoreAsync()
    {
        var test = TestStore.Create(StoreKind.Postgres);
        await using (var old = new NpgsqlConnection(test.Connection))
        {
            await old.OpenAsync();
            await EarlierStore.CreateAsync(old, "Postgres", throughVersion: 5);
        }

        return new PostgresStore(test.Connection!);
    }
}
