using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using WxLogistics.Apps;
using WxLogistics.Wire;

namespace WxLogistics.Cli;

/// <summary>
/// The operator verbs on the server's own executable (`WxLogistics.Server VERB …`). Each works on the store of
/// --data DIR (or --store postgres), also while a server runs on it. Verbs that create print one JSON object on
/// stdout; verbs that list print a table, or one JSON object with --json.
/// </summary>
public static class OperatorCli
{
    static readonly HashSet<string> Verbs = ["app", "waybill", "path", "cloudenv", "push", "calls", "migrate", "backup", "restore", "--help", "-h", "-?", "--version"];

    public static bool Handles(string[] args) => args.Length > 0 && Verbs.Contains(args[0]);

    public static bool IsVerb(string word) => Verbs.Contains(word);

    /// <summary>
    /// A whole-number option's value; a value that is not one is refused naming the option and the value, where the
    /// parser's own message names a .NET type ("Cannot parse argument 'abc' … as expected type 'System.Int32'").
    /// </summary>
    public static int? WholeNumber(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        result.AddError($"{(result.Parent as OptionResult)?.Option.Name ?? "the value"} takes a whole number, not '{text}'");
        return null;
    }

    /// <summary>A whole-number option with a default, refused in words (<see cref="WholeNumber"/>) when given something else.</summary>
    public static Option<int> WholeNumberOption(string name, string description, int defaultValue) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue, CustomParser = result => WholeNumber(result) ?? defaultValue };

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var store = new StoreArguments();
        var root = new RootCommand("WxLogistics: a WeChat-compatible logistics path platform. Without a verb it serves (--urls, --data, --store, --connection).")
        {
            AppCommands.Create(store, output),
            WaybillCommands.Create(store, output),
            PathCommands.Create(store, output),
            CloudEnvCommands.Create(store, output),
            PushCommands.Create(store, output),
            CallCommands.Create(store, output),
            MigrateCommand(store, output),
            BackupCommands.Backup(store, output),
            BackupCommands.Restore(store, output),
        };
        foreach (var option in store.All)
        {
            root.Options.Add(option);
        }

        var parsed = root.Parse(args);
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
    }

    /// <summary>`migrate`: applies the schema scripts (the server also does at start).</summary>
    static Command MigrateCommand(StoreArguments store, TextWriter output)
    {
        var migrate = new Command("migrate", "Create or upgrade the store's schema; prints {store, ready}.");
        migrate.SetAction(Guarded(async (parsed, cancellationToken) =>
        {
            await using var opened = await store.OpenAsync(parsed, cancellationToken);
            var ready = await opened.IsReadyAsync(cancellationToken);
            await WriteJsonAsync(output, json =>
            {
                json.WriteString("store", parsed.GetValue(store.Store));
                json.WriteBoolean("ready", ready);
            });
        }));
        return migrate;
    }

    /// <summary>The delivery_id of a verb's --delivery-id filter, when one is given.</summary>
    internal static DeliveryId? DeliveryIdFilter(string? text) =>
        text is null ? null
        : DeliveryId.TryParse(text, out var deliveryId) ? deliveryId
        : throw new OperatorException($"--delivery-id '{text}' is not a valid delivery_id");

    /// <summary>
    /// Refuses a --delivery-id filter that names no carrier of this server: a mistyped one would otherwise list or
    /// export nothing, as if all were well.
    /// </summary>
    internal static async Task RequireCarrierAsync(Storage.Store store, DeliveryId? deliveryId, CancellationToken cancellationToken)
    {
        if (deliveryId is { } named && await store.FindCarrierAsync(named, cancellationToken) is null)
        {
            throw new OperatorException($"no carrier app has delivery_id {named} (app list shows the carriers)");
        }
    }

    /// <summary>
    /// The app named by --appid. One that is no app of this server is refused: the verbs that read by appid would
    /// otherwise answer with nothing, as if all were well.
    /// </summary>
    internal static async Task<Storage.AppRecord> RequireAppAsync(Storage.Store store, AppId appId, CancellationToken cancellationToken) =>
        await store.FindAppAsync(appId, cancellationToken) ?? throw new OperatorException($"--appid {appId.Value} is not an app of this server");

    /// <summary>The merchant named by --merchant-appid; refused, as above, when it is no merchant of this server.</summary>
    internal static async Task<Storage.AppRecord> RequireMerchantAsync(Storage.Store store, AppId merchant, CancellationToken cancellationToken) =>
        await store.FindMerchantAsync(merchant, cancellationToken)
        ?? throw new OperatorException($"--merchant-appid {merchant.Value} is not a merchant app of this server");

    internal static async Task WriteJsonAsync(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WireJson.WriterOptions))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        await output.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>
    /// <see cref="Guarded"/> for a verb that may run long: Ctrl-C stops it, and it ends with what
    /// <paramref name="interrupted"/> says on stderr and exit code 130 (128 + SIGINT, as shells report it).
    /// </summary>
    internal static Func<ParseResult, CancellationToken, Task<int>> Interruptible(
        Func<ParseResult, string> interrupted, Func<ParseResult, CancellationToken, Task> action)
    {
        var guarded = Guarded(action);
        return async (parsed, cancellationToken) =>
        {
            try
            {
                return await guarded(parsed, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await parsed.InvocationConfiguration.Error.WriteLineAsync(interrupted(parsed));
                return PathCommands.Interrupted;
            }
        };
    }

    internal static Func<ParseResult, CancellationToken, Task<int>> Guarded(Func<ParseResult, CancellationToken, Task> action) =>
        async (parsed, cancellationToken) =>
        {
            // System.CommandLine installs its Ctrl-C handler once the action first yields; SQLite work may not
            // yield for a long time, so yield first.
            await Task.Yield();
            try
            {
                await action(parsed, cancellationToken);
                return 0;
            }
            catch (OperatorException e)
            {
                await parsed.InvocationConfiguration.Error.WriteLineAsync($"error: {e.Message}");
                return 1;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A file or directory the verb could not use, in the operating system's words, not a stack trace.
                await parsed.InvocationConfiguration.Error.WriteLineAsync($"error: {e.Message}");
                return 1;
            }
            catch (System.Data.Common.DbException e)
            {
                // The store went away, or filled up, after it opened.
                await parsed.InvocationConfiguration.Error.WriteLineAsync($"error: the store failed: {Storage.Sqlite.SqliteStore.Describe(e)}");
                return 1;
            }
        };
}

/// <summary>A failure the operator can act on: its message goes to stderr and the exit code is 1.</summary>
sealed class OperatorException(string message) : Exception(message);
