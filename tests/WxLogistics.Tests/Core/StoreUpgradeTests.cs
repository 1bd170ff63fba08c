using Microsoft.Data.Sqlite;
using Npgsql;
using WxLogistics.Cli;
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
    protected abstract Task<TestStore> CreateEarlierStoreAsync();

    async Task<Store> OpenEarlierStoreAsync()
    {
        var test = await CreateEarlierStoreAsync();
        return StoreFactory.Create(test.StoreName, test.DataDirectory, test.Connection);
    }

    [Fact]
    public async Task The_migrate_verb_upgrading_an_earlier_store_says_which_scripts_it_applies_and_a_new_store_stays_quiet()
    {
        var earlier = await CreateEarlierStoreAsync();

        var (exitCode, output, error) = await MigrateAsync(earlier);

        Assert.Equal(0, exitCode);
        Assert.Contains("\"ready\":true", output);
        var applied = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(applied);
        Assert.StartsWith("upgrading the store: applying 0006_", applied[0]);
        Assert.All(applied, line => Assert.Matches(@"^upgrading the store: applying 000[6-9]_\w+\.sql \(on a large store this can take minutes\)$", line));

        // Once upgraded, and for a store made new, there is nothing to say.
        var again = await MigrateAsync(earlier);
        Assert.Equal((0, ""), (again.ExitCode, again.Error));
        var fresh = await MigrateAsync(TestStore.Create(Kind));
        Assert.Equal((0, ""), (fresh.ExitCode, fresh.Error));
    }

    protected abstract StoreKind Kind { get; }

    static async Task<(int ExitCode, string Output, string Error)> MigrateAsync(TestStore store)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var exitCode = await OperatorCli.RunAsync(["migrate", .. store.Args], output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

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
            (await store.ReadPathsAsync(Keys.Sf("SF-1"), Keys.Sf("SF-3"))).Select(e => e.Key.WaybillId.Value));
    }
}

public sealed class StoreUpgradeTestsOnSqlite : StoreUpgradeTests
{
    protected override StoreKind Kind => StoreKind.Sqlite;

    protected override async Task<TestStore> CreateEarlierStoreAsync()
    {
        var test = TestStore.Create(StoreKind.Sqlite);
        await using (var old = new SqliteConnection($"Data Source={Path.Combine(test.DataDirectory, SqliteStore.FileName)};Pooling=False"))
        {
            await old.OpenAsync();
            await EarlierStore.ExecuteAsync(old, "PRAGMA journal_mode=WAL");
            await EarlierStore.CreateAsync(old, "Sqlite", throughVersion: 5);
        }

        return test;
    }
}

public sealed class StoreUpgradeTestsOnPostgres : StoreUpgradeTests
{
    protected override StoreKind Kind => StoreKind.Postgres;

    protected override async Task<TestStore> CreateEarlierStoreAsync()
    {
        var test = TestStore.Create(StoreKind.Postgres);
        await using (var old = new NpgsqlConnection(test.Connection))
        {
            await old.OpenAsync();
            await EarlierStore.CreateAsync(old, "Postgres", throughVersion: 5);
        }

        return test;
    }

    [Fact]
    public async Task A_migration_waits_for_another_node_s_migration_however_long_it_takes_beyond_the_command_timeout()
    {
        var test = await CreateEarlierStoreAsync();
        await using var otherNode = new NpgsqlConnection(test.Connection);
        await otherNode.OpenAsync();
        await using var migrating = await otherNode.BeginTransactionAsync();
        await EarlierStore.ExecuteAsync(otherNode, $"SELECT pg_advisory_xact_lock({PostgresStore.MigrationLockKey})");

        // A command timeout of 1 s stands in for the default 30 s, which rebuilding a large store's keys outlasts.
        var (output, error) = (new StringWriter(), new StringWriter());
        var upgrade = OperatorCli.RunAsync(
            ["migrate", "--data", test.DataDirectory, "--store", "postgres", "--connection", test.Connection + ";Command Timeout=1"], output, error);
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.False(upgrade.IsCompleted, $"the migration did not wait for the other node's: {error}");

        await migrating.CommitAsync();
        Assert.Equal(0, await upgrade);
        Assert.Contains("\"ready\":true", output.ToString());
    }
}
