using System.Text.Json;
using WxLogistics.Apps;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Operator;

/// <summary>
/// `backup` and `restore` of a SQLite store, through the real executable beside a real server; and Ctrl-C on the long
/// verbs that copy a store out (backup, export).
/// </summary>
public sealed class BackupTests : IAsyncLifetime
{
    const long Start = 1_533_052_800;

    readonly TestStore store = TestStore.Create(StoreKind.Sqlite);
    readonly string elsewhere = TempDirectory.Create();
    JsonElement carrier;
    string waybillToken = "";

    public async Task InitializeAsync()
    {
        carrier = await TestRun.OperatorAsync(store, "app", "add", "--role", "carrier", "--delivery-id", "SF", "--name", "顺丰速运");
        waybillToken = (await TestRun.OperatorAsync(store, "waybill", "add", "--delivery-id", "SF", "--waybill-id", "BACKUP1")).GetProperty("token").GetString()!;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    static string Message(long actionTime) => $"快件已到达第{actionTime - Start}站，联系电话18666666666";

    static async Task<IReadOnlyList<Storage.PathEvent>> PathInAsync(string dataDirectory)
    {
        await using var opened = await new TestStore(StoreKind.Sqlite, dataDirectory, null).OpenAsync();
        return await opened.ReadPathAsync(Keys.Sf("BACKUP1"));
    }

    /// <summary>Takes a backup of the test's store into a new file; returns the file and what `backup` printed.</summary>
    async Task<(string File, JsonElement Made, string Error)> BackupAsync()
    {
        var file = Path.Combine(elsewhere, $"wxlogistics-{Guid.NewGuid():N}.backup");
        var (exitCode, output, error) = await ServerProcess.RunToEndAsync(["backup", "-o", file, .. store.Args]);
        Assert.True(exitCode == 0, $"backup failed ({exitCode}): {error}");
        return (file, JsonDocument.Parse(output).RootElement.Clone(), error);
    }

    [Fact]
    public async Task An_operator_backs_up_the_store_while_carriers_keep_updating_and_the_restored_copy_holds_every_event_acknowledged_before_it()
    {
        CarrierUpdates updates;
        string file;
        JsonElement made;
        await using (var server = await ServerProcess.StartAsync(store))
        {
            using var client = new HttpClient { BaseAddress = server.BaseAddress };
            updates = await CarrierUpdates.StartAsync(client, carrier, waybillToken, "BACKUP1", Message);
            for (var t = Start + 1; t <= Start + 300; t++)
            {
                Assert.Equal(0, await updates.SendAsync(t));
            }

            // The carrier keeps sending while the backup is taken.
            using var stop = new CancellationTokenSource();
            var during = Task.Run(async () =>
            {
                for (var t = Start + 301; !stop.IsCancellationRequested; t++)
                {
                    await updates.SendAsync(t);
                }
            });
            (file, made, var error) = await BackupAsync();
            await Task.Delay(200);
            stop.Cancel();
            await during;

            Assert.Equal(file, made.GetProperty("file").GetString());
            Assert.Contains("100 %", error);
            Assert.Contains("the keys are not in the backup: keep server.key", error);
            Assert.Equal(new FileInfo(file).Length, made.GetProperty("bytes").GetInt64());
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }

            Assert.Equal([file], Directory.GetFiles(elsewhere));
            Assert.True(updates.Acknowledged.Count > 300, "no update was acknowledged while the backup was taken");
        }

        // Restored into a new directory: the copy of one moment, each event once, every one acknowledged before the
        // backup began among them, and nothing that was never acknowledged.
        var restoredDirectory = TempDirectory.Create();
        var (exitCode, output, restoreError) = await ServerProcess.RunToEndAsync(["restore", file, "--data", restoredDirectory]);
        Assert.True(exitCode == 0, $"restore failed ({exitCode}): {restoreError}");
        var restored = JsonDocument.Parse(output).RootElement;
        Assert.Equal(JsonValueKind.Null, restored.GetProperty("replaced").ValueKind);
        Assert.Equal(made.GetProperty("events").GetInt64(), restored.GetProperty("events").GetInt64());
        Assert.Contains($"there is no server.key in {restoredDirectory}", restoreError);

        var path = await PathInAsync(restoredDirectory);
        Assert.Equal(made.GetProperty("events").GetInt64(), path.Count);
        Assert.Equal(path.Count, path.Select(e => e.ActionTime).Distinct().Count());
        Assert.Subset(updates.Acknowledged.ToHashSet(), path.Select(e => e.ActionTime).ToHashSet());
        Assert.Superset(Enumerable.Range(1, 300).Select(n => Start + n).ToHashSet(), path.Select(e => e.ActionTime).ToHashSet());
        Assert.All(path, e => Assert.Equal(Message(e.ActionTime), e.ActionMsg));

        // With the server key kept beside the backup, a server on the restored store takes the carrier's updates.
        File.Copy(Path.Combine(store.DataDirectory, ServerKey.FileName), Path.Combine(restoredDirectory, ServerKey.FileName));
        await using (var server = await ServerProcess.StartAsync(restoredDirectory))
        {
            using var client = new HttpClient { BaseAddress = server.BaseAddress };
            var after = await CarrierUpdates.StartAsync(client, carrier, waybillToken, "BACKUP1", Message);
            Assert.Equal(0, await after.SendAsync(Start + 1_000_000));
        }

        Assert.Equal(path.Count + 1, (await PathInAsync(restoredDirectory)).Count);
    }

    [Fact]
    public async Task Restoring_over_a_store_waits_for_its_server_to_stop_and_keeps_the_replaced_store_whole_beside_it()
    {
        string file;
        await using (var server = await ServerProcess.StartAsync(store))
        {
            using var client = new HttpClient { BaseAddress = server.BaseAddress };
            var updates = await CarrierUpdates.StartAsync(client, carrier, waybillToken, "BACKUP1", Message);
            for (var t = Start + 1; t <= Start + 20; t++)
            {
                Assert.Equal(0, await updates.SendAsync(t));
            }

            (file, _, _) = await BackupAsync();
            for (var t = Start + 21; t <= Start + 30; t++)
            {
                Assert.Equal(0, await updates.SendAsync(t));
            }

            var (refused, _, why) = await ServerProcess.RunToEndAsync(["restore", file, .. store.Args]);
            Assert.Equal(1, refused);
            Assert.Equal($"error: a server is running on the SQLite store in {store.DataDirectory}: stop it, then restore", why.Trim());
            Assert.Equal(30, (await PathInAsync(store.DataDirectory)).Count);
        }

        var (exitCode, output, error) = await ServerProcess.RunToEndAsync(["restore", file, .. store.Args]);
        Assert.True(exitCode == 0, $"restore failed ({exitCode}): {error}");
        Assert.DoesNotContain("there is no server.key", error);
        var replaced = JsonDocument.Parse(output).RootElement.GetProperty("replaced").GetString()!;
        Assert.StartsWith(Path.Combine(store.DataDirectory, "wxlogistics.db.replaced-"), replaced);
        Assert.Equal(20, (await PathInAsync(store.DataDirectory)).Count);

        // The replaced store, its last commits included, opens from its files under their new name.
        var kept = TempDirectory.Create();
        foreach (var part in Directory.GetFiles(store.DataDirectory, Path.GetFileName(replaced) + "*"))
        {
            File.Copy(part, Path.Combine(kept, "wxlogistics.db" + Path.GetFileName(part)[Path.GetFileName(replaced).Length..]));
        }

        Assert.Equal(30, (await PathInAsync(kept)).Count);
    }

    [Fact]
    public async Task A_backup_or_restore_that_cannot_be_made_is_refused_with_the_reason_and_the_store_is_left_as_it_was()
    {
        var (file, _, _) = await BackupAsync();
        var before = Directory.GetFiles(store.DataDirectory).Order().ToList();

        async Task RefusedAsync(string expected, params string[] args)
        {
            var (exitCode, output, error) = await ServerProcess.RunToEndAsync(args);
            Assert.Equal(1, exitCode);
            Assert.Empty(output);
            Assert.Equal($"error: {expected}", error.Trim());
            Assert.Equal(before, Directory.GetFiles(store.DataDirectory).Order().ToList());
        }

        // A backup never overwrites a file, nor makes a directory for itself; a restore needs a directory.
        await RefusedAsync($"{file} exists; name a new file (a backup never overwrites one)", ["backup", "-o", file, .. store.Args]);
        var nowhere = Path.Combine(elsewhere, "missing", "store.backup");
        await RefusedAsync($"cannot write the backup {nowhere}: there is no directory {Path.GetDirectoryName(nowhere)}", ["backup", "-o", nowhere, .. store.Args]);
        await RefusedAsync($"the data directory {file} is a file, not a directory", ["restore", file, "--data", file]);

        // A file that is no store, and a backup damaged after it was made.
        var text = Path.Combine(elsewhere, "notes.txt");
        await File.WriteAllTextAsync(text, new string('x', 10_000));
        await RefusedAsync($"{text} is not a sound WxLogistics store: SQLite Error 26: 'file is not a database'.", ["restore", text, .. store.Args]);
        var empty = Path.Combine(elsewhere, "empty.backup");
        await File.WriteAllBytesAsync(empty, []);
        await RefusedAsync($"{empty} is empty, not a backup", ["restore", empty, .. store.Args]);

        var damaged = Path.Combine(elsewhere, "damaged.backup");
        var bytes = await File.ReadAllBytesAsync(file);
        Array.Fill(bytes, (byte)0xA5, bytes.Length / 2, bytes.Length / 4);
        await File.WriteAllBytesAsync(damaged, bytes);
        var (exitCode, _, error) = await ServerProcess.RunToEndAsync(["restore", damaged, .. store.Args]);
        Assert.Equal(1, exitCode);
        Assert.Matches($"^error: {System.Text.RegularExpressions.Regex.Escape(damaged)} (is damaged \\(SQLite's quick_check: [^\\n]+\\)|is not a sound WxLogistics store: [^\\n]+)$", error.Trim());
        Assert.Equal(before, Directory.GetFiles(store.DataDirectory).Order().ToList());

        // Where there is no room for it, nothing is left of it.
        var noRoom = Path.Combine(elsewhere, "no-room.backup");
        var (full, _, fullError) = await ServerProcess.RunToEndWithFileSizeLimitAsync(64 * 1024, ["backup", "-o", noRoom, .. store.Args]);
        Assert.Equal(1, full);
        Assert.Matches($"^error: cannot write the backup {System.Text.RegularExpressions.Regex.Escape(noRoom)}: SQLite Error (10|13): .+ It needs about \\d+ MB there; nothing was kept\\.$", fullError.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.DoesNotContain(Directory.GetFiles(elsewhere), f => f.StartsWith(noRoom, StringComparison.Ordinal));
        Assert.Equal(before, Directory.GetFiles(store.DataDirectory).Order().ToList());

        // A store in use is not a backup: its WAL would be left behind.
        await using (var server = await ServerProcess.StartAsync(store))
        {
            var live = Path.Combine(store.DataDirectory, "wxlogistics.db");
            var (inUse, _, why) = await ServerProcess.RunToEndAsync(["restore", live, "--data", TempDirectory.Create()]);
            Assert.Equal(1, inUse);
            Assert.Contains("is a store in use (its WAL is beside it), not a backup", why);
        }

        // PostgreSQL has its own tools.
        var (postgres, _, pgError) = await ServerProcess.RunToEndAsync(["backup", "-o", Path.Combine(elsewhere, "pg.backup"), "--store", "postgres", "--connection", "Host=127.0.0.1;Username=x;Database=y"]);
        Assert.Equal(1, postgres);
        Assert.Contains("back up a PostgreSQL store with PostgreSQL's own tools (pg_dump", pgError);
    }

    [Fact]
    public async Task An_operator_whose_store_file_is_damaged_is_told_so_and_pointed_to_restore_which_brings_the_last_backup_back()
    {
        // Events on 40 waybills, so that their pages come after the schema's and the waybills' in the file.
        var lines = new List<string>();
        for (var w = 0; w < 40; w++)
        {
            await TestRun.OperatorAsync(store, "waybill", "add", "--delivery-id", "SF", "--waybill-id", $"DAMAGE{w:D2}");
            lines.AddRange(Enumerable.Range(1, 100).Select(n =>
                JsonSerializer.Serialize(new { delivery_id = "SF", waybill_id = $"DAMAGE{w:D2}", action_time = Start + n, action_type = 200001, action_msg = Message(Start + n) })));
        }

        var events = Path.Combine(elsewhere, "events.jsonl");
        await File.WriteAllLinesAsync(events, lines);
        await TestRun.OperatorAsync(store, "path", "import", events, "--json");
        var (file, made, _) = await BackupAsync();
        Assert.Equal(4_000, made.GetProperty("events").GetInt64());

        // The last quarter of the file's pages overwritten, as a failing disk or a stray write might leave them.
        var database = Path.Combine(store.DataDirectory, "wxlogistics.db");
        Assert.False(File.Exists(database + "-wal"), "the verbs' last connection leaves no WAL behind");
        await using (var damage = new FileStream(database, FileMode.Open, FileAccess.Write))
        {
            damage.Position = damage.Length / 4 * 3 / 4096 * 4096;
            await damage.WriteAsync(Enumerable.Repeat((byte)0xA5, (int)(damage.Length - damage.Position)).ToArray());
        }

        var (exitCode, _, error) = await ServerProcess.RunToEndAsync(["path", "export", "-o", Path.Combine(elsewhere, "export.jsonl"), .. store.Args]);
        Assert.Equal(1, exitCode);
        Assert.DoesNotContain(Directory.GetFiles(elsewhere), f => Path.GetFileName(f).StartsWith("export.jsonl", StringComparison.Ordinal));
        Assert.Equal(
            "error: the store failed: SQLite Error 11: 'database disk image is malformed'. " +
            "The store's file is damaged: restore the last backup into its data directory (`restore FILE`).",
            error.Trim());

        var (restored, _, restoreError) = await ServerProcess.RunToEndAsync(["restore", file, .. store.Args]);
        Assert.True(restored == 0, $"restore failed ({restored}): {restoreError}");
        var exportedFile = Path.Combine(elsewhere, "export.jsonl");
        var (exported, _, exportError) = await ServerProcess.RunToEndAsync(["path", "export", "-o", exportedFile, .. store.Args]);
        Assert.True(exported == 0, $"export failed ({exported}): {exportError}");
        static string Event(string line)
        {
            var e = JsonDocument.Parse(line).RootElement;
            return $"{e.GetProperty("waybill_id")} {e.GetProperty("action_time")} {e.GetProperty("action_msg")}";
        }

        Assert.Equal(lines.Select(Event).Order(), (await File.ReadAllLinesAsync(exportedFile)).Select(Event).Order());
    }

    [Fact]
    public async Task A_backup_made_by_an_earlier_version_is_upgraded_as_it_is_restored()
    {
        // A store file at schema 5 with its five events, as `backup` of an earlier version made it.
        var file = Path.Combine(elsewhere, "earlier.backup");
        await using (var old = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False"))
        {
            await old.OpenAsync();
            await EarlierStore.CreateAsync(old, "Sqlite", throughVersion: 5);
        }

        var restoredDirectory = TempDirectory.Create();
        var (exitCode, output, error) = await ServerProcess.RunToEndAsync(["restore", file, "--data", restoredDirectory]);

        Assert.True(exitCode == 0, $"restore failed ({exitCode}): {error}");
        Assert.Contains("upgrading the store: applying 0006_", error);
        var restored = JsonDocument.Parse(output).RootElement;
        Assert.Equal(Storage.SqlScripts.LatestVersion("Sqlite"), restored.GetProperty("schema").GetInt64());
        Assert.Equal(3, restored.GetProperty("waybills").GetInt64());
        Assert.Equal(5, restored.GetProperty("events").GetInt64());
        await using var opened = await new TestStore(StoreKind.Sqlite, restoredDirectory, null).OpenAsync();
        Assert.True(await opened.IsReadyAsync());
        Assert.Equal(
            ["first by time", "same time, arrived first", "same time, arrived second", "third by time"],
            (await opened.ReadPathAsync(Keys.Sf("SF-1"))).Select(e => e.ActionMsg));
    }

    [Fact]
    public async Task A_restore_cut_off_between_its_two_moves_keeps_the_server_and_the_verbs_from_making_an_empty_store_until_it_is_run_again()
    {
        var (file, _, _) = await BackupAsync();

        // What a restore killed between moving the replaced store aside and moving the backup in leaves.
        var directory = TempDirectory.Create();
        File.Copy(file, Path.Combine(directory, "wxlogistics.db.restoring"));
        File.Copy(file, Path.Combine(directory, "wxlogistics.db.replaced-20261207T120000Z"));
        var interrupted = $"a restore into {directory} was interrupted before it finished: run it again " +
            "(the store it was replacing is beside it as wxlogistics.db.replaced-TIME)";

        var (serverExit, _, serverError) = await ServerProcess.RunToEndAsync("--urls", "http://127.0.0.1:0", "--data", directory);
        Assert.Equal(1, serverExit);
        Assert.Contains($"wxlogistics: cannot start: {interrupted}", serverError);
        var (verbExit, _, verbError) = await ServerProcess.RunToEndAsync("app", "list", "--data", directory);
        Assert.Equal(1, verbExit);
        Assert.Equal($"error: {interrupted}", verbError.Trim());
        Assert.False(File.Exists(Path.Combine(directory, "wxlogistics.db")));

        var (restored, _, restoreError) = await ServerProcess.RunToEndAsync("restore", file, "--data", directory);
        Assert.True(restored == 0, $"restore failed ({restored}): {restoreError}");
        Assert.Equal(0, (await ServerProcess.RunToEndAsync("app", "list", "--data", directory)).ExitCode);
    }

    [Theory]
    [InlineData("backup", ".partial", "interrupted: nothing of the backup was kept")]
    [InlineData("path export", ".tmp", "interrupted: {0} was not written")]
    public async Task Ctrl_C_stops_a_long_backup_or_export_at_once_and_leaves_nothing_of_it(string verb, string partialSuffix, string saying)
    {
        await FillAsync();
        var file = Path.Combine(elsewhere, "copy.out");
        var partial = file + partialSuffix;

        var (exitCode, output, error) = await ServerProcess.InterruptUntilCutShortAsync(
            _ => File.Exists(partial) && new FileInfo(partial).Length > 4 * 1024 * 1024,
            () =>
            {
                File.Delete(file);
                return Task.CompletedTask;
            },
            [.. verb.Split(' '), "-o", file, .. store.Args]);

        Assert.Equal(130, exitCode);
        Assert.Empty(output);
        Assert.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, saying, file), error);
        Assert.Empty(Directory.GetFiles(elsewhere));
    }

    [Theory]
    [InlineData("check")]
    [InlineData("copy")]
    public async Task Ctrl_C_stops_a_long_restore_while_it_checks_or_copies_the_backup_and_the_store_it_would_replace_is_left_as_it_was(string phase)
    {
        await FillAsync();
        var (file, _, _) = await BackupAsync();
        var target = TempDirectory.Create();
        async Task MakeTargetAsync()
        {
            foreach (var left in Directory.GetFiles(target))
            {
                File.Delete(left);
            }

            await TestRun.OperatorAsync(new TestStore(StoreKind.Sqlite, target, null), "app", "add", "--role", "merchant", "--name", "留下的商家");
        }

        await MakeTargetAsync();
        // Its files, but for the server lock, which the restore takes once the backup is checked.
        List<string?> Files() => [.. Directory.GetFiles(target).Select(Path.GetFileName).Where(name => name != "wxlogistics.db-server").Order()];
        var before = Files();

        // Pressed once the restore has the backup open (the check comes first and takes seconds), or once its copy in
        // the data directory has begun.
        var copy = Path.Combine(target, "wxlogistics.db.restoring");
        Func<int, bool> when = phase == "check" ? pid => HasOpen(pid, file) : _ => File.Exists(copy) && new FileInfo(copy).Length > 4 * 1024 * 1024;
        var (exitCode, output, error) = await ServerProcess.InterruptUntilCutShortAsync(when, MakeTargetAsync, "restore", file, "--data", target);

        Assert.Equal(130, exitCode);
        Assert.Empty(output);
        Assert.Contains("interrupted: nothing was restored", error);
        Assert.Equal(before, Files());
        var apps = await TestRun.OperatorAsync(new TestStore(StoreKind.Sqlite, target, null), "app", "list", "--json");
        Assert.Contains("留下的商家", apps.GetProperty("apps").EnumerateArray().Select(app => app.GetProperty("name").GetString()));

        // Nothing was left held: the restore runs to its end when asked again.
        var (again, _, againError) = await ServerProcess.RunToEndAsync("restore", file, "--data", target);
        Assert.True(again == 0, $"restore failed ({again}): {againError}");
        Assert.Matches(@"restore from \S+: 100 %, [\d.,]+ MB of [\d.,]+ MB", againError);
        Assert.Equal(100_000, (await PathInAsync(target)).Count);
    }

    [Fact]
    public async Task The_time_left_that_a_long_restore_shows_is_never_longer_than_the_whole_restore_takes()
    {
        await FillAsync();
        var (file, _, _) = await BackupAsync();
        var target = TempDirectory.Create();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (exitCode, _, error) = await ServerProcess.RunToEndAsync("restore", file, "--data", target);
        var took = clock.Elapsed;

        Assert.True(exitCode == 0, $"restore failed ({exitCode}): {error}");
        // The check comes first and shows no progress; the time left is the copy's, at the rate it copies.
        var promised = System.Text.RegularExpressions.Regex.Matches(error, @"(\d\d):(\d\d):(\d\d) left")
            .Select(m => new TimeSpan(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value)))
            .ToList();
        Assert.NotEmpty(promised);
        Assert.True(promised.Max() <= took + TimeSpan.FromSeconds(1), $"the restore took {took} and showed:\n{error}");
    }

    static bool HasOpen(int pid, string file)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Any(fd => new FileInfo(fd).LinkTarget == file);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// 100,000 events on the test's waybill, written straight into the store: each message is too long to stay in its
    /// b-tree page, so each event takes a page of its own (about 440 MB), and a copy, check or export takes long enough to
    /// be interrupted.
    /// </summary>
    async Task FillAsync()
    {
        await using var big = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(store.DataDirectory, "wxlogistics.db")};Pooling=False");
        await big.OpenAsync();
        await EarlierStore.ExecuteAsync(
            big,
            """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
            INSERT INTO path_events (delivery_id, waybill_id, action_time, action_type, action_msg, seq, received_at)
            SELECT 'SF', 'BACKUP1', 1600000000 + i, 200001, hex(randomblob(500)), i, 0 FROM n
            """);
    }
}
