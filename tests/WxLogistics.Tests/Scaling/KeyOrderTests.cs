using WxLogistics.Storage;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Scaling;

/// <summary>
/// Waybill keys compare as bytes on both stores (PostgreSQL migration 0007), whatever collation the operator's
/// PostgreSQL database has: lists and exports come in the same order as on SQLite, and de-duplication is unchanged.
/// </summary>
public sealed class KeyOrderTests
{
    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.Postgres)]
    public async Task Waybills_are_listed_and_exported_in_byte_order_even_on_a_database_with_a_language_collation(StoreKind kind)
    {
        // en-US would put a-3 before b-1 before B-2; byte order puts the capital first.
        var test = kind == StoreKind.Postgres ? TestStore.CreatePostgresCollatedAs("en-US") : TestStore.Create(kind);
        await using var store = await test.OpenAsync();
        foreach (var id in new[] { "b-1", "B-2", "a-3" })
        {
            Assert.True(await store.AddWaybillAsync(new WaybillRecord(Keys.Sf(id), [1], null, null, null, 0, 0)));
            var first = new PathEvent(1_700_000_000, 100001, $"picked up {id}");
            Assert.Equal(
                [AppendOutcome.Stored, AppendOutcome.Duplicate, AppendOutcome.Stored],
                await store.AppendEventsAsync(
                    [(Keys.Sf(id), first), (Keys.Sf(id), first), (Keys.Sf(id), new PathEvent(1_700_000_000, 100001, $"Picked up {id}"))],
                    receivedAtMs: 0));
        }

        Assert.Equal(["B-2", "a-3", "b-1"], (await store.ListWaybillsAsync(null, null, 10)).Select(w => w.Key.WaybillId.Value));
        Assert.Equal(["b-1"], (await store.ListWaybillsAsync(null, Keys.Sf("a-3"), 10)).Select(w => w.Key.WaybillId.Value));
        Assert.Equal(
            ["picked up B-2", "Picked up B-2", "picked up a-3", "Picked up a-3"],
            (await store.ReadPathsAsync(Keys.Sf("B-2"), Keys.Sf("a-3"))).Select(e => e.Event.ActionMsg));
    }
}
