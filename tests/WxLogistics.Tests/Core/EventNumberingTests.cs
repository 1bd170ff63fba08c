using Microsoft.Data.Sqlite;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Storage.Sqlite;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Core;

/// <summary>
/// The SQLite store numbers each waybill's events 1, 2, 3 ... (the path version is the largest number). Its writer
/// remembers the latest number of the waybills it appended to, instead of reading the path each time; what another
/// connection or process wrote, or an append that failed, must never leave it numbering from a stale count.
/// </summary>
public sealed class EventNumberingTests
{
    static readonly WaybillKey Key = Keys.Sf("NUMBERED-1");

    static PathEvent Event(int n, string message) => new(1_700_000_000 + n, 200001, message);

    [Fact]
    public async Task Events_appended_by_another_process_between_two_appends_are_numbered_after_them()
    {
        var test = TestStore.Create(StoreKind.Sqlite);
        await using var server = await test.OpenAsync();
        Assert.True(await server.AddWaybillAsync(new WaybillRecord(Key, [1], null, null, null, 0, 0)));
        await server.AppendEventsAsync([(Key, Event(1, "picked up")), (Key, Event(2, "at the hub"))], receivedAtMs: 0);

        // An operator's import in another process appends through a connection of its own.
        await using (var import = await test.OpenAsync())
        {
            Assert.Equal([AppendOutcome.Stored], await import.AppendEventsAsync([(Key, Event(3, "imported"))], receivedAtMs: 0));
        }

        Assert.Equal([AppendOutcome.Stored], await server.AppendEventsAsync([(Key, Event(4, "out for delivery"))], receivedAtMs: 0));
        Assert.Equal([AppendOutcome.Duplicate], await server.AppendEventsAsync([(Key, Event(3, "imported"))], receivedAtMs: 0));

        Assert.Equal(4, (await server.FindWaybillAsync(Key))!.PathVersion);
        Assert.Equal([1L, 2, 3, 4], await NumbersAsync(test));
    }

    [Fact]
    public async Task After_an_append_that_failed_the_next_event_takes_the_number_the_failed_one_did_not_keep()
    {
        var test = TestStore.Create(StoreKind.Sqlite);
        await using var store = await test.OpenAsync();
        Assert.True(await store.AddWaybillAsync(new WaybillRecord(Key, [1], null, null, null, 0, 0)));
        await using (var connection = Open(test))
        {
            await using var refuse = new SqliteCommand(
                "CREATE TRIGGER refuse BEFORE INSERT ON path_events WHEN NEW.action_msg = 'refused' BEGIN SELECT RAISE(ABORT, 'refused'); END",
                connection);
            await refuse.ExecuteNonQueryAsync();
        }

        await store.AppendEventsAsync([(Key, Event(1, "picked up"))], receivedAtMs: 0);
        await Assert.ThrowsAsync<SqliteException>(() => store.AppendEventsAsync(
            [(Key, Event(2, "at the hub")), (Key, Event(3, "refused"))], receivedAtMs: 0));

        Assert.Equal([AppendOutcome.Stored], await store.AppendEventsAsync([(Key, Event(4, "out for delivery"))], receivedAtMs: 0));
        Assert.Equal(["picked up", "out for delivery"], (await store.ReadPathAsync(Key)).Select(e => e.ActionMsg));
        Assert.Equal(2, (await store.FindWaybillAsync(Key))!.PathVersion);
        Assert.Equal([1L, 2], await NumbersAsync(test));
    }

    [Fact]
    public async Task A_waybill_appended_to_many_times_in_one_batch_and_across_batches_is_numbered_without_gaps()
    {
        var test = TestStore.Create(StoreKind.Sqlite);
        await using var store = await test.OpenAsync();
        var other = Keys.Sf("NUMBERED-2");
        Assert.True(await store.AddWaybillAsync(new WaybillRecord(Key, [1], null, null, null, 0, 0)));
        Assert.True(await store.AddWaybillAsync(new WaybillRecord(other, [1], null, null, null, 0, 0)));

        Assert.Equal(
            [AppendOutcome.Stored, AppendOutcome.Stored, AppendOutcome.Duplicate, AppendOutcome.Stored],
            await store.AppendEventsAsync(
                [(Key, Event(1, "a")), (other, Event(1, "a")), (Key, Event(1, "a")), (Key, Event(2, "b"))], receivedAtMs: 0));
        Assert.Equal(
            [AppendOutcome.Duplicate, AppendOutcome.Stored, AppendOutcome.Stored],
            await store.AppendEventsAsync([(Key, Event(2, "b")), (Key, Event(0, "earlier")), (other, Event(2, "b"))], receivedAtMs: 0));

        Assert.Equal(3, (await store.FindWaybillAsync(Key))!.PathVersion);
        Assert.Equal(2, (await store.FindWaybillAsync(other))!.PathVersion);
        Assert.Equal([1L, 2, 3], await NumbersAsync(test));
    }

    [Fact]
    public async Task The_waybill_reads_for_token_checks_leave_out_the_path_version_that_would_read_the_whole_path()
    {
        var test = TestStore.Create(StoreKind.Sqlite);
        await using var store = await test.OpenAsync();
        var waybill = new WaybillRecord(Key, [1, 2, 3], null, "ORDER-1", "OPENID-1", 0, 1_700_000_000);
        Assert.True(await store.AddWaybillAsync(waybill));
        await store.AppendEventsAsync([(Key, Event(1, "picked up")), (Key, Event(2, "at the hub"))], receivedAtMs: 0);

        var found = await store.FindWaybillsAsync([Key, Keys.Sf("NO-SUCH-WAYBILL")]);

        Assert.Equal([Key], found.Keys);
        Assert.Equal(waybill.TokenHash, found[Key].TokenHash);
        Assert.Equal(waybill with { TokenHash = found[Key].TokenHash }, found[Key]);
        Assert.Equal(2, (await store.FindWaybillAsync(Key))!.PathVersion);
    }

    static SqliteConnection Open(TestStore test)
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(test.DataDirectory, SqliteStore.FileName)};Pooling=False");
        connection.Open();
        return connection;
    }

    /// <summary>The numbers of <see cref="Key"/>'s events as stored, in order.</summary>
    static async Task<List<long>> NumbersAsync(TestStore test)
    {
        await using var connection = Open(test);
        await using var command = new SqliteCommand("SELECT seq FROM path_events WHERE waybill_id = $waybill ORDER BY seq", connection);
        command.Parameters.AddWithValue("$waybill", Key.WaybillId.Value);
        var numbers = new List<long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            numbers.Add(reader.GetInt64(0));
        }

        return numbers;
    }
}
