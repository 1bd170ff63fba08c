using Npgsql;
using WxLogistics.Storage;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Reliability;

/// <summary>
/// How PostgreSQL appends fail and recover. PostgreSQL reports an append's inserted rows before it commits: the store
/// must still wait for the commit's outcome before it reports any event stored (a deferred constraint trigger makes
/// PostgreSQL refuse the commit itself). And the connection the store keeps for its appends may be ended under it.
/// </summary>
public sealed class FailedCommitTests
{
    [Fact]
    public async Task A_batch_whose_commit_PostgreSQL_refuses_is_not_acknowledged_and_leaves_nothing()
    {
        var test = TestStore.Create(StoreKind.Postgres);
        await using var store = await test.OpenAsync();
        var key = Keys.Sf("COMMIT-1");
        Assert.True(await store.AddWaybillAsync(new WaybillRecord(key, [1], null, null, null, 0, 0)));
        await using (var connection = new NpgsqlConnection(test.Connection))
        {
            await connection.OpenAsync();
            await using var install = new NpgsqlCommand(
                """
                CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.action_msg = 'refused at commit' THEN RAISE EXCEPTION 'refused at commit'; END IF;
                    RETURN NULL;
                END $$;
                CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON path_events
                    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();
                """,
                connection);
            await install.ExecuteNonQueryAsync();
        }

        var pickedUp = new PathEvent(1_700_000_000, 100001, "picked up");
        var refused = await Assert.ThrowsAsync<PostgresException>(() => store.AppendEventsAsync(
            [(key, pickedUp), (key, new PathEvent(1_700_000_100, 100002, "refused at commit"))], receivedAtMs: 0));

        Assert.Equal("refused at commit", refused.MessageText);
        Assert.Empty(await store.ReadPathAsync(key));
        Assert.Equal(0, (await store.FindWaybillAsync(key))!.PathVersion);
        Assert.Equal([AppendOutcome.Stored], await store.AppendEventsAsync([(key, pickedUp)], receivedAtMs: 0));
        Assert.Equal([pickedUp], await store.ReadPathAsync(key));
        Assert.Equal(1, (await store.FindWaybillAsync(key))!.PathVersion);
    }

    [Fact]
    public async Task An_append_goes_through_after_PostgreSQL_ends_the_store_s_connections()
    {
        var test = TestStore.Create(StoreKind.Postgres);
        await using var store = await test.OpenAsync();
        var key = Keys.Sf("LOST-1");
        Assert.True(await store.AddWaybillAsync(new WaybillRecord(key, [1], null, null, null, 0, 0)));
        var pickedUp = new PathEvent(1_700_000_000, 100001, "picked up");
        Assert.Equal([AppendOutcome.Stored], await store.AppendEventsAsync([(key, pickedUp)], receivedAtMs: 0));

        // What a restart of PostgreSQL or an operator's pg_terminate_backend does to the connections the store keeps.
        await using (var admin = new NpgsqlConnection(test.Connection))
        {
            await admin.OpenAsync();
            await using var terminate = new NpgsqlCommand(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                admin);
            Assert.True((long)(await terminate.ExecuteScalarAsync())! >= 1);
        }

        var inTransit = new PathEvent(1_700_000_100, 200001, "in transit");
        Assert.Equal([AppendOutcome.Stored], await store.AppendEventsAsync([(key, inTransit)], receivedAtMs: 0));

        await using var reopened = await test.OpenAsync();
        Assert.Equal([pickedUp, inTransit], await reopened.ReadPathAsync(key));
        Assert.Equal(2, (await reopened.FindWaybillAsync(key))!.PathVersion);
    }
}
