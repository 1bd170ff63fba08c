using Microsoft.Data.Sqlite;

namespace WxLogistics.Storage.Sqlite;

/// <summary>
/// Copies of a SQLite store. A backup is taken while the server runs: <c>VACUUM INTO</c> reads the store in one read
/// transaction, so the copy is the store as of one commit, and the writer never waits for it (in WAL mode a reader
/// does not hold up commits). The copy is checked before it gets its name. A restore puts a checked copy in place of
/// a data directory's store while no server runs on it, keeping the store it replaces.
/// </summary>
public static class SqliteBackup
{
    /// <summary>What a checked copy holds: its schema version, its waybills and events, and its size in bytes.</summary>
    public sealed record Contents(long Schema, long Waybills, long Events, long Bytes);

    /// <summary>
    /// Copies the store of <paramref name="dataDirectory"/> into the new file <paramref name="destination"/>, reporting the
    /// bytes written against an estimate of the total, then checks the copy. Nothing is left under that name unless the
    /// whole copy was written, flushed and found sound.
    /// </summary>
    public static async Task<Contents> BackupAsync(
        string dataDirectory, string destination, IProgress<(long Done, long Total)> progress, CancellationToken cancellationToken)
    {
        var source = Path.Combine(dataDirectory, SqliteStore.FileName);
        if (!File.Exists(source))
        {
            throw new BackupException($"there is no SQLite store in {Path.GetFullPath(dataDirectory)}");
        }

        if (File.Exists(destination) || Directory.Exists(destination))
        {
            throw new BackupException($"{destination} exists; name a new file (a backup never overwrites one)");
        }

        if (Path.GetDirectoryName(Path.GetFullPath(destination)) is { } directory && !Directory.Exists(directory))
        {
            throw new BackupException($"cannot write the backup {destination}: there is no directory {directory}");
        }

        var partial = destination + ".partial";
        try
        {
            // Made empty beforehand (VACUUM INTO takes an empty file), readable by its owner only: it holds what the
            // store holds, phone numbers in the events and the orders' addresses among it.
            File.Delete(partial);
            var empty = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                empty.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (new FileStream(partial, empty))
            {
            }

            await using (var connection = await OpenAsync(source, SqliteOpenMode.ReadWrite, cancellationToken))
            {
                // The pages in use: the copy leaves out the free ones.
                var total = await ScalarAsync(connection, "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()", cancellationToken);
                using var polling = new Timer(_ => progress.Report((Math.Min(SizeOf(partial), total), total)), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(250));
                await using var command = new SqliteCommand("VACUUM INTO $file", connection) { CommandTimeout = 0 };
                command.Parameters.AddWithValue("$file", partial);
                await using (InterruptOnCancel(connection, cancellationToken))
                {
                    try
                    {
                        await command.ExecuteNonQueryAsync(cancellationToken);
                    }
                    catch (SqliteException e) when (e.SqliteErrorCode == SQLitePCL.raw.SQLITE_INTERRUPT)
                    {
                        throw new OperationCanceledException("the backup was interrupted", e, cancellationToken);
                    }
                    catch (SqliteException e) when (e.SqliteErrorCode is 10 or 13)
                    {
                        // SQLITE_IOERR, SQLITE_FULL: the copy's writes, which the store's reads are not, unless it is damaged.
                        throw new BackupException(
                            $"cannot write the backup {destination}: {e.Message} It needs about {total / 1_048_576.0:N0} MB there; nothing was kept.");
                    }
                }

                await polling.DisposeAsync();
                progress.Report((total, total));
            }

            // VACUUM INTO writes without syncing the copy: flush it before it is called a backup.
            using (var written = new FileStream(partial, FileMode.Open, FileAccess.ReadWrite))
            {
                written.Flush(flushToDisk: true);
            }

            var contents = await CheckAsync(partial, cancellationToken);
            File.Move(partial, destination, overwrite: false);
            return contents;
        }
        catch
        {
            File.Delete(partial);
            File.Delete(partial + "-journal");
            throw;
        }
    }

    /// <summary>
    /// Puts the copy <paramref name="backup"/> in place of the store of <paramref name="dataDirectory"/>, on which no
    /// server may run. The store it replaces, if any, keeps its files under a new name beside it, which is returned.
    /// The server lock of the directory is taken before anything is moved, so that no server starts meanwhile, and
    /// returned held: the caller releases it once it has opened the restored store (which upgrades a copy made by an
    /// earlier version).
    /// </summary>
    public static async Task<(Contents Contents, string? Replaced, ServerLock Held)> RestoreAsync(
        string backup, string dataDirectory, IProgress<(long Done, long Total)> progress, CancellationToken cancellationToken)
    {
        if (!File.Exists(backup))
        {
            throw new BackupException(Directory.Exists(backup) ? $"{backup} is a directory, not a backup file" : $"there is no file {backup}");
        }

        if (File.Exists(backup + "-wal"))
        {
            // Its latest commits may be in that WAL, which a copy of the file alone would leave out.
            throw new BackupException($"{backup} is a store in use (its WAL is beside it), not a backup: make one of it with `backup` and restore that");
        }

        if (File.Exists(dataDirectory))
        {
            throw new BackupException($"the data directory {dataDirectory} is a file, not a directory");
        }

        Contents contents;
        var length = new FileInfo(backup).Length;
        if (length == 0)
        {
            // SQLite opens an empty file as an empty database; no backup is empty.
            throw new BackupException($"{backup} is empty, not a backup");
        }

        // A check that takes a while shows that it is under way; one refused at once shows only why.
        await using (new Timer(_ => progress.Report((0, length)), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan))
        {
            contents = await CheckAsync(backup, cancellationToken);
        }

        ServerLock held;
        try
        {
            held = ServerLock.Acquire(StoreFactory.Sqlite, dataDirectory);
        }
        catch (IOException) when (File.Exists(Path.Combine(dataDirectory, ServerLock.FileName)))
        {
            throw new BackupException($"a server is running on the SQLite store in {Path.GetFullPath(dataDirectory)}: stop it, then restore");
        }

        try
        {
            return (contents, await ReplaceAsync(backup, dataDirectory, progress, cancellationToken), held);
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <summary>The backup's copy in the data directory until it is moved into place (see <see cref="SqliteStore.MigrateAsync"/>).</summary>
    public const string RestoringSuffix = ".restoring";

    static async Task<string?> ReplaceAsync(
        string backup, string dataDirectory, IProgress<(long Done, long Total)> progress, CancellationToken cancellationToken)
    {
        var target = Path.Combine(dataDirectory, SqliteStore.FileName);
        var restoring = target + RestoringSuffix;
        // Left by a restore cut off between its moves, it keeps a server from starting on a directory whose store was
        // moved aside (see SqliteStore.MigrateAsync), until a restore runs to its end.
        var guarding = File.Exists(restoring) && !File.Exists(target);
        try
        {
            await CopyAsync(backup, restoring, progress, cancellationToken);
        }
        catch when (!guarding)
        {
            // Stopped or failed before anything was moved: the store is as it was.
            File.Delete(restoring);
            throw;
        }

        string? replaced = null;
        if (File.Exists(target))
        {
            // With its WAL and shared-memory files under the same new name, the replaced store still opens, its last
            // commits included.
            replaced = $"{SqliteStore.FileName}.replaced-{DateTimeOffset.UtcNow:yyyyMMdd'T'HHmmss'Z'}";
            foreach (var suffix in new[] { "-wal", "-shm", "" })
            {
                if (File.Exists(target + suffix))
                {
                    File.Move(target + suffix, Path.Combine(dataDirectory, replaced + suffix));
                }
            }
        }

        File.Move(restoring, target);
        return replaced;
    }

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/>, owner-only, and flushes it; Ctrl-C stops it between blocks.</summary>
    static async Task CopyAsync(string from, string to, IProgress<(long Done, long Total)> progress, CancellationToken cancellationToken)
    {
        var create = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using var source = new FileStream(from, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        await using var copy = new FileStream(to, create);
        var buffer = new byte[1 << 20];
        long done = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await copy.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            done += read;
            progress.Report((done, source.Length));
        }

        await copy.FlushAsync(cancellationToken);
        copy.Flush(flushToDisk: true);
    }

    /// <summary>
    /// Checks that <paramref name="file"/> is a sound WxLogistics store (SQLite's quick_check, and our schema at a
    /// version this build knows) and counts what it holds.
    /// </summary>
    public static async Task<Contents> CheckAsync(string file, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(file, SqliteOpenMode.ReadOnly, cancellationToken);
            await using var interrupt = InterruptOnCancel(connection, cancellationToken);
            await using (var check = new SqliteCommand("PRAGMA quick_check(4)", connection) { CommandTimeout = 0 })
            await using (var verdict = await check.ExecuteReaderAsync(cancellationToken))
            {
                // "ok", or up to four problems, each a row (after a heading row such as "*** in database main ***").
                var problems = new List<string>();
                while (await verdict.ReadAsync(cancellationToken))
                {
                    problems.AddRange(verdict.GetString(0).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(p => !p.StartsWith("***", StringComparison.Ordinal)));
                }

                if (problems is not ["ok"])
                {
                    throw new BackupException($"{file} is damaged (SQLite's quick_check: {string.Join("; ", problems)})");
                }
            }

            if (await ScalarAsync(connection, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'", cancellationToken) == 0)
            {
                throw new BackupException($"{file} is a SQLite database but not a WxLogistics store");
            }

            var schema = await ScalarAsync(connection, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", cancellationToken);
            var latest = SqlScripts.LatestVersion("Sqlite");
            if (schema > latest)
            {
                throw new BackupException($"{file} was made by a later WxLogistics (schema {schema}; this one knows up to {latest}); restore it with that version");
            }

            return new Contents(
                schema,
                await ScalarAsync(connection, "SELECT COUNT(*) FROM waybills", cancellationToken),
                await ScalarAsync(connection, "SELECT COUNT(*) FROM path_events", cancellationToken),
                new FileInfo(file).Length);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SQLitePCL.raw.SQLITE_INTERRUPT)
        {
            throw new OperationCanceledException("the check was interrupted", e, cancellationToken);
        }
        catch (SqliteException e)
        {
            throw new BackupException($"{file} is not a sound WxLogistics store: {e.Message}");
        }
    }

    /// <summary>
    /// Microsoft.Data.Sqlite does not stop a statement under way when its token is cancelled; SQLite's interrupt does,
    /// so that Ctrl-C ends a long copy or check at once. Dispose it before the connection.
    /// </summary>
    static CancellationTokenRegistration InterruptOnCancel(SqliteConnection connection, CancellationToken cancellationToken) =>
        cancellationToken.Register(() => SQLitePCL.raw.sqlite3_interrupt(connection.Handle));

    static long SizeOf(string file)
    {
        try
        {
            return new FileInfo(file).Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    static async Task<SqliteConnection> OpenAsync(string file, SqliteOpenMode mode, CancellationToken cancellationToken)
    {
        // Not pooled: the files are let go as soon as the copy or the check is done.
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = mode, Pooling = false, DefaultTimeout = 30 }.ToString());
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    static async Task<long> ScalarAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new SqliteCommand(sql, connection) { CommandTimeout = 0 };
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>A backup or restore that cannot be made, in words an operator can act on.</summary>
public sealed class BackupException(string message) : Exception(message);
