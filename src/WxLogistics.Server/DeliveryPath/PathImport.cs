using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Wire;

namespace WxLogistics.DeliveryPath;

/// <summary>The two file forms `path import` reads and `path export` writes.</summary>
public enum ImportFormat
{
    /// <summary>One JSON object per line: {delivery_id, waybill_id, action_time, action_type, action_msg}.</summary>
    Jsonl,

    /// <summary>RFC 4180 CSV with those five columns, in that order or named by a header line.</summary>
    Csv,
}

/// <summary>A row that was not stored, and why.</summary>
public sealed record ImportRejection(long Line, string Reason);

/// <summary>How far an import got, kept in a checkpoint file after every committed batch so that it can resume.</summary>
public sealed class ImportState
{
    public long FileLength { get; set; }

    /// <summary>SHA-256 of the file's first mebibyte: a resumed import must read the same file.</summary>
    public string FileHead { get; set; } = "";

    /// <summary>The byte offset after the last line whose outcome is counted.</summary>
    public long Offset { get; set; }

    /// <summary>The number of the last line read.</summary>
    public long Line { get; set; }

    /// <summary>The CSV header's column order (field names by position), once read.</summary>
    public List<string>? Columns { get; set; }

    public long Accepted { get; set; }

    public long Duplicate { get; set; }

    public List<ImportRejection> Rejected { get; set; } = [];

    /// <summary>The time the import started (Unix seconds); a resumed import keeps it.</summary>
    public long StartedAt { get; set; }
}

/// <summary>Progress for the bar: bytes of the file done, and rows so far.</summary>
public readonly record struct ImportProgress(long Bytes, long TotalBytes, long Rows);

/// <summary>
/// `path import`: reads track events from a JSONL or CSV file and stores them through the same checks as updatePath
/// (except the waybill token: the operator is trusted) and the same durable append, in batches. After every batch
/// the checkpoint file records the offset and the counts, so an interrupted import resumes where it stopped.
/// </summary>
public sealed class PathImport(Store store, TimeProvider time)
{
    public const int BatchSize = 1000;

    /// <summary>Longer lines are rejected without being parsed.</summary>
    public const int MaxLineBytes = 64 * 1024;

    static readonly string[] StandardColumns = ["delivery_id", "waybill_id", "action_time", "action_type", "action_msg"];

    readonly Dictionary<WaybillKey, bool> knownWaybills = [];

    /// <summary>
    /// Reads the checkpoint of an earlier, interrupted import of this file; null when there is none. A file of that name
    /// that is no checkpoint (emptied, edited, or someone else's) throws <see cref="InvalidDataException"/>.
    /// </summary>
    public static ImportState? LoadCheckpoint(string checkpointPath)
    {
        if (!File.Exists(checkpointPath))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<ImportState>(File.ReadAllBytes(checkpointPath), WireJson.Options)
                ?? throw new InvalidDataException($"{checkpointPath} is not a checkpoint of path import");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{checkpointPath} is not a checkpoint of path import ({e.Message})", e);
        }
    }

    /// <summary>What identifies the file: its length and a hash of its head.</summary>
    public static (long Length, string Head) Identify(string path)
    {
        using var file = File.OpenRead(path);
        var head = new byte[(int)Math.Min(file.Length, 1 << 20)];
        file.ReadExactly(head);
        return (file.Length, Convert.ToHexStringLower(SHA256.HashData(head)));
    }

    /// <summary>
    /// Imports from <paramref name="state"/>'s offset to the end of the file, or until <paramref name="cancellationToken"/>
    /// fires (the batch in hand is committed and checkpointed first). Returns true when the whole file was read.
    /// </summary>
    public async Task<bool> RunAsync(
        string path, ImportFormat format, ImportState state, string checkpointPath, IProgress<ImportProgress>? progress, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        file.Seek(state.Offset, SeekOrigin.Begin);
        var records = new RecordReader(new LineReader(file, state.Offset), format == ImportFormat.Csv, state.Line);
        var batch = new List<(long Line, WaybillKey Key, PathEvent Event)>(BatchSize);
        var lineEnd = state.Offset;
        progress?.Report(new ImportProgress(state.Offset, state.FileLength, state.Accepted + state.Duplicate + state.Rejected.Count));
        while (!cancellationToken.IsCancellationRequested && records.Next() is { } record)
        {
            // A row's outcome is told by its first line; the next row starts after its last.
            state.Line = record.FirstLine;
            lineEnd = record.End;
            if (await ReadRowAsync(record.Text, record.TooLong, format, state) is { } row)
            {
                batch.Add((state.Line, row.Key, row.Event));
            }

            state.Line = record.LastLine;

            if (batch.Count == BatchSize)
            {
                await CommitAsync(batch, state, lineEnd, checkpointPath);
                progress?.Report(new ImportProgress(lineEnd, state.FileLength, state.Accepted + state.Duplicate + state.Rejected.Count));
            }
        }

        await CommitAsync(batch, state, lineEnd, checkpointPath);
        progress?.Report(new ImportProgress(lineEnd, state.FileLength, state.Accepted + state.Duplicate + state.Rejected.Count));
        return lineEnd >= state.FileLength;
    }

    async Task CommitAsync(List<(long Line, WaybillKey Key, PathEvent Event)> batch, ImportState state, long offset, string checkpointPath)
    {
        if (batch.Count > 0)
        {
            // Not cancellable: once read, a batch is stored and counted before the import stops.
            var outcomes = await store.AppendEventsAsync(batch.Select(b => (b.Key, b.Event)).ToList(), time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken: CancellationToken.None);
            state.Accepted += outcomes.Count(o => o == AppendOutcome.Stored);
            state.Duplicate += outcomes.Count(o => o == AppendOutcome.Duplicate);
            batch.Clear();
        }

        state.Offset = offset;
        var temporary = checkpointPath + ".tmp";
        await File.WriteAllBytesAsync(temporary, JsonSerializer.SerializeToUtf8Bytes(state, WireJson.Options), CancellationToken.None);
        File.Move(temporary, checkpointPath, overwrite: true);
    }

    /// <summary>One line as a row to store, or null (counted as rejected with its reason, or blank).</summary>
    async Task<(WaybillKey Key, PathEvent Event)?> ReadRowAsync(ReadOnlyMemory<byte> text, bool tooLong, ImportFormat format, ImportState state)
    {
        if (tooLong)
        {
            return Reject(state, $"the line is longer than {MaxLineBytes} bytes");
        }

        if (text.Span.Trim(" \t\r"u8).IsEmpty)
        {
            return null;
        }

        string? deliveryText;
        byte[] body;
        if (format == ImportFormat.Jsonl)
        {
            deliveryText = DeliveryIdOf(text.Span, out var problem);
            if (problem is not null)
            {
                return Reject(state, problem);
            }

            body = text.ToArray();
        }
        else
        {
            if (!Utf8.IsValid(text.Span))
            {
                return Reject(state, "the line is not valid UTF-8");
            }

            if (!Csv.TrySplit(Encoding.UTF8.GetString(text.Span).TrimEnd('\r'), out var fields, out var csvProblem))
            {
                return Reject(state, csvProblem);
            }

            if (state.Columns is null)
            {
                if (fields.Any(f => StandardColumns.Contains(f.Trim())))
                {
                    var columns = fields.Select(f => f.Trim()).ToList();
                    if (StandardColumns.FirstOrDefault(c => !columns.Contains(c)) is { } missing)
                    {
                        throw new ImportException($"line {state.Line}: the CSV header has no {missing} column");
                    }

                    state.Columns = columns;
                    return null;
                }

                state.Columns = [.. StandardColumns];
            }

            var row = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < fields.Count && i < state.Columns.Count; i++)
            {
                row[state.Columns[i]] = fields[i];
            }

            deliveryText = row.GetValueOrDefault("delivery_id");
            body = CsvRowAsJson(row);
        }

        if (string.IsNullOrEmpty(deliveryText))
        {
            return Reject(state, "delivery_id is required");
        }

        if (!DeliveryId.TryParse(deliveryText, out var deliveryId))
        {
            return Reject(state, $"delivery_id '{deliveryText}' must be 1 to {DeliveryId.MaxLength} letters, digits or underscores");
        }

        // From here on, the checks and their order are updatePath's (without the token).
        if (!UpdatePathRequest.TryParse(body, out var request, out var formatProblem))
        {
            return Reject(state, WxReply.Error(WxErrors.DataFormatError, formatProblem));
        }

        if (string.IsNullOrEmpty(request.WaybillId))
        {
            return Reject(state, WxReply.Error(WxErrors.InvalidArgs, "waybill_id is required"));
        }

        if (Encoding.UTF8.GetByteCount(request.WaybillId) > WaybillId.MaxBytes)
        {
            return Reject(state, WxReply.Error(WxErrors.ArgSizeExceedLimit, $"waybill_id is longer than {WaybillId.MaxBytes} bytes"));
        }

        if (!WaybillId.TryParse(request.WaybillId, out var waybillId) || !await ExistsAsync(new WaybillKey(deliveryId, waybillId)))
        {
            return Reject(state, WxReply.Error(WxErrors.WaybillNotFound, $"{deliveryId} has no waybill {request.WaybillId}"));
        }

        if (PathUpdates.Validate(request, time.GetUtcNow().ToUnixTimeSeconds()) is { } invalid)
        {
            return Reject(state, invalid);
        }

        return (new WaybillKey(deliveryId, waybillId), request.ToEvent());
    }

    async Task<bool> ExistsAsync(WaybillKey key)
    {
        if (!knownWaybills.TryGetValue(key, out var exists))
        {
            exists = await store.FindWaybillAsync(key, CancellationToken.None) is not null;
            knownWaybills[key] = exists;
        }

        return exists;
    }

    static (WaybillKey, PathEvent)? Reject(ImportState state, WxReply reply) => Reject(state, $"{reply.ErrCode} {reply.Reason}");

    static (WaybillKey, PathEvent)? Reject(ImportState state, string reason)
    {
        state.Rejected.Add(new ImportRejection(state.Line, reason));
        return null;
    }

    /// <summary>The delivery_id of a JSONL line; a problem when the line is not an object or delivery_id is not a string.</summary>
    static string? DeliveryIdOf(ReadOnlySpan<byte> text, out string? problem)
    {
        problem = null;
        if (!Utf8.IsValid(text))
        {
            problem = "the line is not valid UTF-8";
            return null;
        }

        try
        {
            var reader = new Utf8JsonReader(text, new JsonReaderOptions { MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = "the line is not a JSON object";
                return null;
            }

            string? found = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isDelivery = reader.ValueTextEquals("delivery_id"u8);
                reader.Read();
                if (isDelivery)
                {
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        problem = "delivery_id must be a string";
                        return null;
                    }

                    if (found is not null)
                    {
                        problem = "delivery_id is sent twice";
                        return null;
                    }

                    found = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }

            return found;
        }
        catch (InvalidOperationException)
        {
            // The line is UTF-8 (checked above): a \u escape of half a character.
            problem = $"delivery_id {Wire.WireJson.HalfCharacter}";
            return null;
        }
        catch (JsonException)
        {
            problem = "the line is not valid JSON";
            return null;
        }
    }

    /// <summary>A CSV row as the updatePath body: integers as numbers, anything else as the text it is (and then judged).</summary>
    static byte[] CsvRowAsJson(Dictionary<string, string> row)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (row.TryGetValue("waybill_id", out var waybill))
            {
                json.WriteString("waybill_id", waybill.Trim());
            }

            foreach (var field in (ReadOnlySpan<string>)["action_time", "action_type"])
            {
                if (row.TryGetValue(field, out var value) && value.Trim().Length > 0)
                {
                    if (long.TryParse(value.Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var number))
                    {
                        json.WriteNumber(field, number);
                    }
                    else
                    {
                        json.WriteString(field, value);
                    }
                }
            }

            if (row.TryGetValue("action_msg", out var message))
            {
                json.WriteString("action_msg", message);
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// The rows of the file, each with the numbers of its first and last line. A JSONL row is a line. A CSV row is a
    /// line too, unless it ends inside a quoted field, which may hold line breaks (RFC 4180; the export writes a message
    /// with one so): then it runs on over the next lines, up to <see cref="MaxLineBytes"/> in all. A quoted field not
    /// closed within that or by the end of the file makes its first line a row of its own (rejected), and the lines
    /// after it are read again as rows, so that a quote never closed costs one row, not the rest of the file.
    /// </summary>
    sealed class RecordReader(LineReader lines, bool csv, long lineNumber)
    {
        /// <summary>Lines read ahead for a row that did not close, to be read again: the next one last.</summary>
        readonly List<(ReadOnlyMemory<byte> Text, long End, bool TooLong)> again = [];

        public (ReadOnlyMemory<byte> Text, long FirstLine, long LastLine, long End, bool TooLong)? Next()
        {
            if (NextLine() is not { } first)
            {
                return null;
            }

            var number = ++lineNumber;
            var text = first.Text;
            // Excel's "CSV UTF-8" and some editors start the file with a byte order mark: it is not part of the first row.
            if (number == 1 && text.Span.StartsWith(Encoding.UTF8.Preamble))
            {
                text = text[Encoding.UTF8.Preamble.Length..];
            }

            if (!csv || first.TooLong || !Csv.EndsInQuotedField(text.Span))
            {
                return (text, number, number, first.End, first.TooLong);
            }

            // The line reader's buffer is reused by the next line: keep copies.
            var head = text.ToArray();
            var record = new List<byte>(head);
            var ahead = new List<(ReadOnlyMemory<byte> Text, long End, bool TooLong)>();
            while (NextLine() is { } line)
            {
                ahead.Add((line.Text.ToArray(), line.End, line.TooLong));
                if (line.TooLong || record.Count + 1 + line.Text.Length > MaxLineBytes)
                {
                    break;
                }

                record.Add((byte)'\n');
                record.AddRange(line.Text.Span);
                if (!Csv.EndsInQuotedField(line.Text.Span, startsQuoted: true))
                {
                    lineNumber += ahead.Count;
                    return (record.ToArray(), number, lineNumber, line.End, false);
                }
            }

            for (var i = ahead.Count - 1; i >= 0; i--)
            {
                again.Add(ahead[i]);
            }

            return (head, number, number, first.End, false);
        }

        (ReadOnlyMemory<byte> Text, long End, bool TooLong)? NextLine()
        {
            if (again.Count == 0)
            {
                return lines.Next();
            }

            var line = again[^1];
            again.RemoveAt(again.Count - 1);
            return line;
        }
    }

    /// <summary>Lines of a stream as bytes, with the offset after each; a line over the limit is skipped and flagged.</summary>
    sealed class LineReader(Stream stream, long offset)
    {
        byte[] buffer = new byte[1 << 16];
        int start;
        int end;
        bool eof;

        public (ReadOnlyMemory<byte> Text, long End, bool TooLong)? Next()
        {
            var tooLong = false;
            while (true)
            {
                var newline = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
                if (newline >= 0)
                {
                    var text = buffer.AsMemory(start, newline);
                    start += newline + 1;
                    offset += newline + 1;
                    return (tooLong ? default : text, offset, tooLong);
                }

                if (eof)
                {
                    if (start == end)
                    {
                        return null;
                    }

                    var last = buffer.AsMemory(start, end - start);
                    offset += end - start;
                    start = end;
                    return (tooLong ? default : last, offset, tooLong);
                }

                if (end - start > MaxLineBytes)
                {
                    // Drop what we have of the over-long line and keep looking for its end.
                    tooLong = true;
                    offset += end - start;
                    start = end;
                }

                if (start > 0)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }

                if (end == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                var read = stream.Read(buffer, end, buffer.Length - end);
                if (read == 0)
                {
                    eof = true;
                }

                end += read;
            }
        }
    }
}

/// <summary>The import cannot go on at all (not one bad row: those are rejected and counted).</summary>
public sealed class ImportException(string message) : Exception(message);

/// <summary>RFC 4180 fields of one line: commas separate, double quotes enclose, "" is a quote inside quotes.</summary>
public static class Csv
{
    public static bool TrySplit(string line, out List<string> fields, out string problem)
    {
        fields = [];
        problem = "";
        var field = new StringBuilder();
        var i = 0;
        while (true)
        {
            field.Clear();
            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length)
                    {
                        problem = $"a quoted field is not closed (one may run over several lines, up to {PathImport.MaxLineBytes} bytes in all)";
                        return false;
                    }

                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    field.Append(line[i++]);
                }

                if (i < line.Length && line[i] != ',')
                {
                    problem = $"unexpected text after a quoted field at column {i + 1}";
                    return false;
                }
            }
            else
            {
                var comma = line.IndexOf(',', i);
                var stop = comma < 0 ? line.Length : comma;
                field.Append(line, i, stop - i);
                i = stop;
            }

            fields.Add(field.ToString());
            if (i >= line.Length)
            {
                return true;
            }

            i++; // the comma
        }
    }

    /// <summary>
    /// Whether <paramref name="text"/> ends inside a quoted field, so that its row runs on into the next line; with
    /// <paramref name="startsQuoted"/>, for a line that continues such a field.
    /// </summary>
    public static bool EndsInQuotedField(ReadOnlySpan<byte> text, bool startsQuoted = false)
    {
        var (quoted, fieldStart) = (startsQuoted, !startsQuoted);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"')
                {
                    // "" is a quote inside the field; a quote alone closes it.
                    if (i + 1 < text.Length && text[i + 1] == '"')
                    {
                        i++;
                    }
                    else
                    {
                        quoted = false;
                    }
                }
            }
            else if (c == ',')
            {
                fieldStart = true;
            }
            else
            {
                // A quote opens a quoted field only as the field's first character, as TrySplit reads it.
                quoted = c == '"' && fieldStart;
                fieldStart = false;
            }
        }

        return quoted;
    }

    /// <summary>A field as CSV writes it: quoted when it holds a comma, a quote or a line break.</summary>
    public static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;
}
