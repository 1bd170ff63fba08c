using WxLogistics.Storage;
using WxLogistics.Storage.Sqlite;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Reliability;

/// <summary>
/// The SQLite writer's WAL writes are gathered in memory until the commit's sync and written in a few system calls
/// (WalWriteGathering). Whatever the size of a commit, what was acknowledged must be what is stored. Run alone, since
/// it counts the writes of every store in the process.
/// </summary>
[Collection(nameof(WalWriteGatheringTests))]
public sealed class WalWriteGatheringTests
{
    const long Start = 1_764_000_000;

    [Fact]
    public async Task A_commit_of_hundreds_of_waybills_at_once_is_stored_whole_and_survives_a_restart()
    {
        Assert.True(WalWriteGathering.IsRegistered, "the gathering VFS was not registered");
        var data = TempDirectory.Create();
        var keys = Enumerable.Range(0, 600).Select(i => Keys.Sf($"GATHER{i:D4}")).ToList();
        var before = WalWriteGathering.Counts;

        await using (var store = new SqliteStore(data))
        {
            await store.MigrateAsync();
            foreach (var key in keys)
            {
                Assert.True(await store.AddWaybillAsync(new WaybillRecord(key, [1], null, null, null, 0, Start)));
            }

            // One transaction of 1,200 events of 1 kB on 600 waybills: more than a megabyte of WAL frames, far more than one
            // write of the file holds.
            var events = keys.SelectMany(key => new[]
            {
                (key, new PathEvent(Start, 100001, $"{key.WaybillId.Value} 揽件 {new string('x', 1000)}")),
                (key, new PathEvent(Start + 60, 200001, $"{key.WaybillId.Value} 到达 {new string('y', 1000)}")),
            }).ToList();
            var outcomes = await store.AppendEventsAsync(events, 0);
            Assert.All(outcomes, outcome => Assert.Equal(AppendOutcome.Stored, outcome));
        }

        var after = WalWriteGathering.Counts;
        var gathered = after.Gathered - before.Gathered;
        var written = after.Written - before.Written;
        Assert.True(gathered >= 600, $"only {gathered} WAL writes went through the gathering VFS");
        Assert.True(written * 10 < gathered, $"{gathered} WAL writes became {written} writes of the file");

        await using var reopened = new SqliteStore(data);
        foreach (var key in keys)
        {
            var path = await reopened.ReadPathAsync(key);
            Assert.Equal([$"{key.WaybillId.Value} 揽件 {new string('x', 1000)}", $"{key.WaybillId.Value} 到达 {new string('y', 1000)}"], path.Select(e => e.ActionMsg));
        }
    }
}

[CollectionDefinition(nameof(WalWriteGatheringTests), DisableParallelization = true)]
public sealed class WalWriteGatheringCollection;
