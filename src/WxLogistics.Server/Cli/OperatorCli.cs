using System.CommandLine;
using System.Text.Json;
using WxLogistics.Apps;
using WxLogistics.Storage;
using WxLogistics.Storage.Sqlite;
using WxLogistics.Wire;

namespace WxLogistics.Cli;

/// <summary>
/// The operator verbs on the server's own executable (`WxLogistics.Server VERB …`). Each works on the store of
/// --data DIR, also while a server runs on it, and prints one JSON object on stdout.
/// </summary>
public static class OperatorCli
{
    static readonly HashSet<string> Verbs = ["app", "waybill", "cloudenv", "--help", "-h", "-?", "--version"];

    public static bool Handles(string[] args) => args.Length > 0 && Verbs.Contains(args[0]);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var data = new Option<string>("--data")
        {
            Description = "The server's data directory (the SQLite store).",
            DefaultValueFactory = _ => "data",
            Recursive = true,
        };
        var root = new RootCommand("WxLogistics: a WeChat-compatible logistics path platform. Without a verb it serves (--urls, --data).")
        {
            data,
            AppCommands.Create(data, output),
            WaybillCommands.Create(data, output),
            CloudEnvCommands.Create(data, output),
        };
        var parsed = root.Parse(args);
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
    }

    /// <summary>Opens the store of --data, creating or upgrading its schema.</summary>
    internal static async Task<Store> OpenStoreAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var store = new SqliteStore(dataDirectory);
        await store.MigrateAsync(cancellationToken);
        return store;
    }

    /// <summary>The server key: WxLogistics__ServerKey when set (as the server reads it), else server.key in --data.</summary>
    internal static ServerKey LoadServerKey(string dataDirectory) =>
        Environment.GetEnvironmentVariable("WxLogistics__ServerKey") is { Length: > 0 } key
            ? ServerKey.FromBase64(key)
            : ServerKey.LoadOrCreate(dataDirectory);

    internal static async Task WriteJsonAsync(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = WireJson.Encoder }))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        await output.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    internal static Func<ParseResult, CancellationToken, Task<int>> Guarded(Func<ParseResult, CancellationToken, Task> action) =>
        async (parsed, cancellationToken) =>
        {
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
        };
}

/// <summary>A failure the operator can act on: its message goes to stderr and the exit code is 1.</summary>
sealed class OperatorException(string message) : Exception(message);
