using System.CommandLine;
using System.Globalization;
using WxLogistics.Storage;
using WxLogistics.Storage.Sqlite;

namespace WxLogistics.Cli;

/// <summary>`backup` and `restore`: a SQLite store copied while the server runs, and put back while it does not.</summary>
static class BackupCommands
{
    const string PostgresElsewhere =
        "copies a SQLite store; back up a PostgreSQL store with PostgreSQL's own tools (pg_dump, or base backups with WAL archiving)";

    public static Command Backup(StoreArguments storeArguments, TextWriter output)
    {
        var to = new Option<FileInfo>("--output", "-o") { Description = "The backup file to make; it must not exist.", Required = true };
        var backup = new Command(
            "backup",
            "Copy the SQLite store of --data into a new file, also while the server runs and takes updates: the copy is the store " +
            "as of one commit. Shows progress on stderr, checks the copy, and prints {file, bytes, schema, waybills, events}. " +
            "The keys (server.key, admin.key) are not in it: keep them beside it, as secrets.")
        {
            to,
        };
        backup.SetAction(OperatorCli.Interruptible(_ => "interrupted: nothing of the backup was kept", async (parsed, cancellationToken) =>
        {
            if (parsed.GetValue(storeArguments.Store) != StoreFactory.Sqlite)
            {
                throw new OperatorException($"backup {PostgresElsewhere}");
            }

            var file = parsed.GetValue(to)!;
            var error = parsed.InvocationConfiguration.Error;
            var contents = await Explained(() => ProgressDisplay.RunAsync(error, $"backup to {file.Name}", display =>
                SqliteBackup.BackupAsync(storeArguments.DataDirectory(parsed), file.FullName, new Copied(display), cancellationToken)));
            await WriteAsync(output, contents, json => json.WriteString("file", file.FullName));
            await error.WriteLineAsync(
                $"the keys are not in the backup: keep {Apps.ServerKey.FileName} (cloud envs' secretKeys and tracking links depend on it) and " +
                $"{Admin.AdminKey.FileName} beside it, as secrets, unless they are set in the configuration");
        }));
        return backup;
    }

    public static Command Restore(StoreArguments storeArguments, TextWriter output)
    {
        var file = new Argument<FileInfo>("FILE") { Description = "A file made by `backup`." };
        var restore = new Command(
            "restore",
            "Put a backup in place of the SQLite store of --data, on which no server may run. The store it replaces is kept " +
            $"beside it as {SqliteStore.FileName}.replaced-TIME. Checks the backup first, upgrades one made by an earlier version, " +
            "and prints {restored, replaced, schema, waybills, events}. Shows progress on stderr; Ctrl-C before the backup is in place " +
            "leaves the store as it was.")
        {
            file,
        };
        restore.SetAction(OperatorCli.Interruptible(_ => "interrupted: nothing was restored", async (parsed, cancellationToken) =>
        {
            if (parsed.GetValue(storeArguments.Store) != StoreFactory.Sqlite)
            {
                throw new OperatorException($"restore {PostgresElsewhere}");
            }

            var directory = storeArguments.DataDirectory(parsed);
            var backup = parsed.GetValue(file)!;
            var (contents, replaced, held) = await Explained(() => ProgressDisplay.RunAsync(parsed.InvocationConfiguration.Error, $"restore from {backup.Name}", display =>
                SqliteBackup.RestoreAsync(backup.FullName, directory, new Copied(display, "checking the backup"), cancellationToken)));
            using (held)
            {
                // Opened once, which upgrades the schema of a backup made by an earlier version. The backup is in place
                // by now, so Ctrl-C no longer stops anything.
                await using (await storeArguments.OpenAsync(parsed, CancellationToken.None))
                {
                }

                // What the store holds now: the backup's waybills and events, at this version's schema.
                await WriteAsync(output, contents with { Schema = SqlScripts.LatestVersion("Sqlite") }, json =>
                {
                    json.WriteString("restored", backup.FullName);
                    json.WriteString("replaced", replaced is null ? null : Path.GetFullPath(Path.Combine(directory, replaced)));
                });
            }

            if (!File.Exists(Path.Combine(directory, Apps.ServerKey.FileName)) && Environment.GetEnvironmentVariable("WxLogistics__ServerKey") is not { Length: > 0 })
            {
                await parsed.InvocationConfiguration.Error.WriteLineAsync(
                    $"there is no {Apps.ServerKey.FileName} in {Path.GetFullPath(directory)}: put the one kept with the backup there before the server starts, " +
                    "or the cloud envs' secretKeys and the tracking links made before will not verify");
            }
        }));
        return restore;
    }

    static async Task<T> Explained<T>(Func<Task<T>> work)
    {
        try
        {
            return await work();
        }
        catch (BackupException e)
        {
            // Other file errors are one line too (OperatorCli.Guarded).
            throw new OperatorException(e.Message);
        }
    }

    static Task WriteAsync(TextWriter output, SqliteBackup.Contents contents, Action<System.Text.Json.Utf8JsonWriter> names) =>
        OperatorCli.WriteJsonAsync(output, json =>
        {
            names(json);
            json.WriteNumber("bytes", contents.Bytes);
            json.WriteNumber("schema", contents.Schema);
            json.WriteNumber("waybills", contents.Waybills);
            json.WriteNumber("events", contents.Events);
        });

    /// <summary>Bytes copied, shown in megabytes; before the first, what is done first (a restore checks the backup).</summary>
    sealed class Copied(IProgress<ProgressDisplay.Report> display, string? first = null) : IProgress<(long Done, long Total)>
    {
        public void Report((long Done, long Total) value) =>
            display.Report(new ProgressDisplay.Report(
                value.Done, value.Total, value.Done == 0 && first is not null ? $"{first} ({Megabytes(value.Total)})" : $"{Megabytes(value.Done)} of {Megabytes(value.Total)}"));

        static string Megabytes(long bytes) => (bytes / 1_048_576.0).ToString("N1", CultureInfo.InvariantCulture) + " MB";
    }
}
