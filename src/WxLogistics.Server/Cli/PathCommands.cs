using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using WxLogistics.Apps;
using WxLogistics.DeliveryPath;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.Cli;

/// <summary>`path import` and `path export`: track events in bulk, from and to JSONL or CSV files.</summary>
static class PathCommands
{
    /// <summary>How many rejected rows the table summary lists (--json lists them all).</summary>
    const int RejectionsShown = 50;

    /// <summary>The exit code of an import stopped by Ctrl-C (128 + SIGINT), as shells report it.</summary>
    public const int Interrupted = 130;

    public static Command Create(StoreArguments storeArguments, TextWriter output) =>
        new("path", "Track events in bulk: import from and export to JSONL or CSV.") { Import(storeArguments, output), Export(storeArguments, output) };

    static Command Import(StoreArguments storeArguments, TextWriter output)
    {
        var file = new Argument<FileInfo>("FILE") { Description = "JSONL or CSV of delivery_id, waybill_id, action_time, action_type, action_msg." };
        var format = new Option<string?>("--format") { Description = "jsonl or csv; by default from the file's extension (.csv is CSV, anything else JSONL)." };
        format.AcceptOnlyFromAmong("jsonl", "csv");
        var restart = new Option<bool>("--restart") { Description = "Start from the first line even when an interrupted import of this file left a checkpoint." };
        var json = OperatorTable.JsonOption("{file, complete, lines, accepted, duplicate, rejected, rejections:[{line, reason}]}");
        var import = new Command(
            "import",
            "Store the file's events with updatePath's checks (the waybill must exist; the token is not needed) and its durable append. " +
            "Shows progress on stderr and prints accepted, duplicate and rejected rows with line numbers and reasons. " +
            "After Ctrl-C, running the same command again resumes where it stopped (FILE.checkpoint.json keeps the place).")
        {
            file, format, restart, json,
        };
        import.SetAction(async (parsed, cancellationToken) =>
        {
            // Let System.CommandLine install its Ctrl-C handler (it does once the action first yields).
            await Task.Yield();
            try
            {
                return await RunImportAsync(storeArguments, parsed, parsed.GetValue(file)!, parsed.GetValue(format), parsed.GetValue(restart), parsed.GetValue(json), output, cancellationToken);
            }
            catch (Exception e) when (e is OperatorException or ImportException or IOException or UnauthorizedAccessException)
            {
                await parsed.InvocationConfiguration.Error.WriteLineAsync($"error: {e.Message}");
                return 1;
            }
        });
        return import;
    }

    static async Task<int> RunImportAsync(
        StoreArguments storeArguments, ParseResult parsed, FileInfo file, string? formatName, bool restart, bool json, TextWriter output, CancellationToken cancellationToken)
    {
        var error = parsed.InvocationConfiguration.Error;
        if (!file.Exists)
        {
            throw new OperatorException(Directory.Exists(file.FullName) ? $"{file} is a directory, not a file" : $"there is no file {file}");
        }

        var format = (formatName ?? (file.Extension.Equals(".csv", StringComparison.OrdinalIgnoreCase) ? "csv" : "jsonl")) == "csv" ? ImportFormat.Csv : ImportFormat.Jsonl;
        var checkpointPath = file.FullName + ".checkpoint.json";
        var (length, head) = PathImport.Identify(file.FullName);
        ImportState? state;
        try
        {
            state = restart ? null : PathImport.LoadCheckpoint(checkpointPath);
        }
        catch (InvalidDataException e)
        {
            throw new OperatorException($"{e.Message}; run again with --restart to import {file.Name} from the start, which replaces it");
        }

        if (state is not null && (state.FileLength != length || state.FileHead != head))
        {
            throw new OperatorException($"{file} changed since the interrupted import that left {Path.GetFileName(checkpointPath)}; run again with --restart to import it from the start");
        }

        if (state is not null)
        {
            await error.WriteLineAsync($"resuming at line {state.Line + 1} ({state.Accepted} accepted, {state.Duplicate} duplicate, {state.Rejected.Count} rejected so far)");
        }

        state ??= new ImportState { FileLength = length, FileHead = head, StartedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds() };
        await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
        var import = new PathImport(store, TimeProvider.System);

        bool complete;
        try
        {
            complete = await WithProgressAsync(error, file.Name, progress => import.RunAsync(file.FullName, format, state, checkpointPath, progress, cancellationToken));
        }
        catch (System.Data.Common.DbException e)
        {
            // The batch in hand is not stored; the checkpoint still marks the end of the last one that was.
            var kept = PathImport.LoadCheckpoint(checkpointPath);
            throw new OperatorException(
                $"the store failed: {Storage.Sqlite.SqliteStore.Describe(e).TrimEnd('.')}. " +
                (kept is null
                    ? "Nothing of this run is stored; run the same command again once the store is back."
                    : $"Lines up to {kept.Line} are stored; run the same command again once the store is back, and it resumes at line {kept.Line + 1}."));
        }

        if (complete)
        {
            File.Delete(checkpointPath);
        }
        else
        {
            await error.WriteLineAsync($"interrupted after line {state.Line}; run the same command again to resume (the place is kept in {Path.GetFileName(checkpointPath)})");
        }

        await output.WriteAsync(json ? SummaryJson(file.Name, complete, state) : SummaryTable(complete, state));
        return complete ? 0 : Interrupted;
    }

    /// <summary>The import's progress on stderr (<see cref="ProgressDisplay"/>): bytes of the file read, rows, rows per second.</summary>
    static Task<bool> WithProgressAsync(TextWriter error, string name, Func<IProgress<ImportProgress>, Task<bool>> run)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        long? firstRows = null;
        return ProgressDisplay.RunAsync(error, name, display => run(new Progress(report =>
        {
            // Rows per second of this run, not counting the rows of a run it resumes.
            firstRows ??= report.Rows;
            var rate = (report.Rows - firstRows.Value) / Math.Max(started.Elapsed.TotalSeconds, 0.001);
            display.Report(new ProgressDisplay.Report(report.Bytes, report.TotalBytes, string.Create(CultureInfo.InvariantCulture, $"{report.Rows:N0} rows, {rate:N0} rows/s")));
        })));
    }

    static string SummaryTable(bool complete, ImportState state)
    {
        var text = new StringBuilder();
        text.Append(OperatorTable.Render(
            ["outcome", "rows"],
            [
                ["accepted", state.Accepted.ToString(CultureInfo.InvariantCulture)],
                ["duplicate", state.Duplicate.ToString(CultureInfo.InvariantCulture)],
                ["rejected", state.Rejected.Count.ToString(CultureInfo.InvariantCulture)],
            ]));
        text.AppendLine(CultureInfo.InvariantCulture, $"{(complete ? "complete" : "interrupted")}: {state.Line} lines read");
        if (state.Rejected.Count > 0)
        {
            text.Append(OperatorTable.Render(
                ["line", "reason"],
                state.Rejected.Take(RejectionsShown).Select(r => new[] { r.Line.ToString(CultureInfo.InvariantCulture), r.Reason })));
            if (state.Rejected.Count > RejectionsShown)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"… and {state.Rejected.Count - RejectionsShown} more rejected rows (--json lists them all)");
            }
        }

        return text.ToString();
    }

    static string SummaryJson(string file, bool complete, ImportState state) =>
        JsonSerializer.Serialize(
            new ImportSummary(file, complete, state.Line, state.Accepted, state.Duplicate, state.Rejected.Count, state.Rejected), WireJson.Options) + Environment.NewLine;

    sealed record ImportSummary(string File, bool Complete, long Lines, long Accepted, long Duplicate, int Rejected, IReadOnlyList<ImportRejection> Rejections);

    sealed class Progress(Action<ImportProgress> report) : IProgress<ImportProgress>
    {
        public void Report(ImportProgress value) => report(value);
    }

    static Command Export(StoreArguments storeArguments, TextWriter output)
    {
        var deliveryId = new Option<string?>("--delivery-id") { Description = "Only this carrier's waybills." };
        var format = new Option<string>("--format") { Description = "jsonl (the default) or csv (with a header line).", DefaultValueFactory = _ => "jsonl" };
        format.AcceptOnlyFromAmong("jsonl", "csv");
        var to = new Option<FileInfo?>("--output", "-o") { Description = "The file to write; stdout when left out." };
        var export = new Command(
            "export",
            "Write every stored event, waybill by waybill in time order, as `path import` reads them; prints a count on stderr.")
        {
            deliveryId, format, to,
        };
        export.SetAction(OperatorCli.Interruptible(
            parsed => parsed.GetValue(to) is { } file ? $"interrupted: {file} was not written" : "interrupted: the events above are a part of the export",
            async (parsed, cancellationToken) =>
        {
            var carrier = OperatorCli.DeliveryIdFilter(parsed.GetValue(deliveryId));
            var csv = parsed.GetValue(format) == "csv";
            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            await OperatorCli.RequireCarrierAsync(store, carrier, cancellationToken);
            var path = parsed.GetValue(to);
            var temporary = path is null ? null : path.FullName + ".tmp";
            try
            {
                await using (var file = temporary is null ? null : new StreamWriter(temporary, false, new UTF8Encoding(false)))
                {
                    var writer = file ?? output;
                    var (events, waybills) = ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected
                        // The events go to the terminal: they show how far it is.
                        ? await ExportAsync(store, carrier, csv, writer, null, cancellationToken)
                        : await ProgressDisplay.RunAsync(parsed.InvocationConfiguration.Error, "export", async progress =>
                            await ExportAsync(store, carrier, csv, writer, progress, cancellationToken));
                    await parsed.InvocationConfiguration.Error.WriteLineAsync(
                        string.Create(CultureInfo.InvariantCulture, $"exported {events:N0} event{(events == 1 ? "" : "s")} of {waybills:N0} waybill{(waybills == 1 ? "" : "s")}"));
                }

                if (temporary is not null)
                {
                    File.Move(temporary, path!.FullName, overwrite: true);
                }
            }
            catch when (temporary is not null)
            {
                // An export cut short leaves neither a part of itself nor a changed FILE.
                File.Delete(temporary);
                throw;
            }
        }));
        return export;
    }

    static async Task<(long Events, long Waybills)> ExportAsync(
        Store store, DeliveryId? carrier, bool csv, TextWriter writer, IProgress<ProgressDisplay.Report>? progress, CancellationToken cancellationToken)
    {
        const int Page = 500;
        var started = System.Diagnostics.Stopwatch.StartNew();
        var total = progress is null ? 0 : await store.CountWaybillsAsync(carrier, cancellationToken);
        void Report(long waybills, long events) =>
            progress?.Report(new ProgressDisplay.Report(waybills, total, string.Create(
                CultureInfo.InvariantCulture,
                $"{waybills:N0} of {total:N0} waybills, {events:N0} events, {events / Math.Max(started.Elapsed.TotalSeconds, 0.001):N0} events/s")));

        if (csv)
        {
            await writer.WriteLineAsync("delivery_id,waybill_id,action_time,action_type,action_msg");
        }

        var buffer = new MemoryStream();
        var (events, waybills) = (0L, 0L);
        WaybillKey? after = null;
        while (true)
        {
            var page = await store.ListWaybillsAsync(carrier, after, Page, cancellationToken);
            if (page.Count == 0)
            {
                // Waybills added meanwhile are exported too; the count taken first does not hold them.
                total = Math.Max(total, waybills);
                Report(waybills, events);
                return (events, waybills);
            }

            waybills += page.Count;
            foreach (var (key, e) in await store.ReadPathsAsync(page[0].Key, page[^1].Key, cancellationToken))
            {
                events++;
                if (csv)
                {
                    await writer.WriteLineAsync(string.Join(
                        ',',
                        Csv.Quote(key.DeliveryId.Value),
                        Csv.Quote(key.WaybillId.Value),
                        e.ActionTime.ToString(CultureInfo.InvariantCulture),
                        e.ActionType.ToString(CultureInfo.InvariantCulture),
                        Csv.Quote(e.ActionMsg)));
                    continue;
                }

                buffer.SetLength(0);
                using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                {
                    json.WriteStartObject();
                    json.WriteString("delivery_id", key.DeliveryId.Value);
                    json.WriteString("waybill_id", key.WaybillId.Value);
                    json.WriteNumber("action_time", e.ActionTime);
                    json.WriteNumber("action_type", e.ActionType);
                    json.WriteString("action_msg", e.ActionMsg);
                    json.WriteEndObject();
                }

                await writer.WriteLineAsync(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
            }

            after = page[^1].Key;
            Report(waybills, events);

            // The store's reads do not stop for Ctrl-C by themselves.
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
