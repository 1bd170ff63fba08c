using System.CommandLine;
using WxLogistics.Apps;
using WxLogistics.Storage;

namespace WxLogistics.Cli;

/// <summary>--data, --store and --connection, taken by every verb, as by the server.</summary>
sealed class StoreArguments
{
    public Option<string> Data { get; } = new("--data")
    {
        Description = "The server's data directory (the SQLite store and server.key).",
        DefaultValueFactory = _ => "data",
        Recursive = true,
    };

    public Option<string> Store { get; } = new("--store")
    {
        Description = "sqlite (the default) or postgres.",
        DefaultValueFactory = _ => StoreFactory.Sqlite,
        Recursive = true,
    };

    public Option<string?> Connection { get; } = new("--connection")
    {
        Description = "The PostgreSQL connection string, with --store postgres.",
        Recursive = true,
    };

    public IEnumerable<Option> All => [Data, Store, Connection];

    public string DataDirectory(ParseResult parsed) => parsed.GetValue(Data)!;

    /// <summary>Opens the named store, creating or upgrading its schema.</summary>
    public async Task<Store> OpenAsync(ParseResult parsed, CancellationToken cancellationToken)
    {
        var kind = parsed.GetValue(Store)!;
        var connection = parsed.GetValue(Connection);
        if (StoreFactory.Problem(kind, connection) is { } problem)
        {
            throw new OperatorException(problem);
        }

        if (kind == StoreFactory.Sqlite && WxLogisticsOptionsValidator.DataDirectoryProblem(DataDirectory(parsed)) is { } unusable)
        {
            throw new OperatorException($"the data directory '{DataDirectory(parsed)}' cannot be used: {unusable}");
        }

        var store = StoreFactory.Create(kind, DataDirectory(parsed), connection);
        try
        {
            var error = parsed.InvocationConfiguration.Error;
            await store.MigrateAsync(script => error.WriteLine($"upgrading the store: applying {script} (on a large store this can take minutes)"), cancellationToken);
            return store;
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or Microsoft.Data.Sqlite.SqliteException or System.Net.Sockets.SocketException)
        {
            await store.DisposeAsync();
            throw new OperatorException($"cannot open the {kind} store: {Storage.Sqlite.SqliteStore.Describe(e)}");
        }
    }

    /// <summary>The server key: WxLogistics__ServerKey when set (as the server reads it), else server.key in --data.</summary>
    public ServerKey ServerKey(ParseResult parsed)
    {
        try
        {
            return Environment.GetEnvironmentVariable("WxLogistics__ServerKey") is { Length: > 0 } key
                ? Apps.ServerKey.FromBase64(key)
                : Apps.ServerKey.LoadOrCreate(DataDirectory(parsed));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new OperatorException($"cannot read the server key: {e.Message}");
        }
    }
}
