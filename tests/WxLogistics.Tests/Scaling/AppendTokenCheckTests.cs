using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Scaling;

/// <summary>
/// On PostgreSQL, updatePath does not read a waybill it does not have in memory: the append checks the waybill's
/// token as it locks the waybill, and stores only the events whose token is right (docs/scaling.md).
/// </summary>
public sealed class AppendTokenCheckTests
{
    [Fact]
    public async Task An_append_that_checks_tokens_stores_only_the_events_of_existing_waybills_with_the_right_token()
    {
        await using var store = await TestStore.Create(StoreKind.Postgres).OpenAsync();
        Assert.True(store.ChecksTokensInAppend);
        var key = Keys.Sf("CHECKED-1");
        Assert.True(await store.AddWaybillAsync(new WaybillRecord(key, Secrets.Hash("TOKEN"), null, null, null, 0, 0)));
        var pickedUp = new PathEvent(1_700_000_000, 100001, "picked up");
        Assert.Equal([AppendOutcome.Stored], await store.AppendEventsAsync([(key, pickedUp)], receivedAtMs: 0));

        var inTransit = new PathEvent(1_700_000_100, 200001, "in transit");
        var outcomes = await store.AppendEventsAsync(
            [
                (key, inTransit),
                (key, new PathEvent(1_700_000_200, 200001, "with another waybill's token")),
                (Keys.Sf("NO-SUCH-WAYBILL"), new PathEvent(1_700_000_300, 200001, "on no waybill")),
                (key, pickedUp),
                (key, new PathEvent(1_700_000_400, 200001, "already checked in memory")),
            ],
            receivedAtMs: 0,
            tokenHashes: [Secrets.Hash("TOKEN"), Secrets.Hash("OTHER"), Secrets.Hash("TOKEN"), Secrets.Hash("TOKEN"), null]);

        Assert.Equal(
            [AppendOutcome.Stored, AppendOutcome.TokenIncorrect, AppendOutcome.WaybillNotFound, AppendOutcome.Duplicate, AppendOutcome.Stored],
            outcomes);
        Assert.Equal(
            ["picked up", "in transit", "already checked in memory"],
            (await store.ReadPathAsync(key)).Select(e => e.ActionMsg));
        Assert.Empty(await store.ReadPathAsync(Keys.Sf("NO-SUCH-WAYBILL")));
        Assert.Equal(3, (await store.FindWaybillAsync(key))!.PathVersion);
    }

    [Fact]
    public async Task The_SQLite_store_refuses_token_checks_rather_than_store_unchecked_events()
    {
        await using var store = await TestStore.Create(StoreKind.Sqlite).OpenAsync();
        var key = Keys.Sf("UNCHECKED-1");
        Assert.True(await store.AddWaybillAsync(new WaybillRecord(key, Secrets.Hash("TOKEN"), null, null, null, 0, 0)));

        Assert.False(store.ChecksTokensInAppend);
        await Assert.ThrowsAsync<NotSupportedException>(() => store.AppendEventsAsync(
            [(key, new PathEvent(1_700_000_000, 100001, "picked up"))], receivedAtMs: 0, tokenHashes: [Secrets.Hash("OTHER")]));
        Assert.Empty(await store.ReadPathAsync(key));
    }
}
