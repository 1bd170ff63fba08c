using WxLogistics.Storage.Postgres;
using WxLogistics.Storage.Sqlite;

namespace WxLogistics.Storage;

/// <summary>The store the settings name: SQLite in the data directory (the default) or a PostgreSQL server.</summary>
public static class StoreFactory
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    /// <param name="kind">sqlite or postgres.</param>
    /// <param name="dataDirectory">The SQLite store's directory.</param>
    /// <param name="connection">The PostgreSQL connection string.</param>
    /// <param name="maxEventsPerWaybill">The server's limit of events per waybill (<see cref="Store.MaxEventsPerWaybill"/>); 0 for none.</param>
    public static Store Create(string kind, string dataDirectory, string? connection, int maxEventsPerWaybill = 0) => kind switch
    {
        Sqlite => new SqliteStore(dataDirectory) { MaxEventsPerWaybill = maxEventsPerWaybill },
        Postgres => new PostgresStore(connection ?? throw new ArgumentException("the postgres store needs a connection string"))
        {
            MaxEventsPerWaybill = maxEventsPerWaybill,
        },
        _ => throw new ArgumentException($"unknown store '{kind}'; use sqlite or postgres"),
    };

    /// <summary>What is wrong with these settings, in words an operator can act on; null when nothing is.</summary>
    public static string? Problem(string kind, string? connection)
    {
        if (kind == Sqlite)
        {
            return connection is null ? null : "--connection is for --store postgres; SQLite lives in --data";
        }

        if (kind != Postgres)
        {
            return $"--store '{kind}' is not a store; use sqlite (the default) or postgres";
        }

        if (string.IsNullOrWhiteSpace(connection))
        {
            return "--store postgres needs --connection \"Host=…;Port=…;Username=…;Database=…\"";
        }

        try
        {
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(connection);
            return string.IsNullOrEmpty(builder.Host) ? "the --connection string names no Host" : null;
        }
        catch (ArgumentException e)
        {
            return $"the --connection string is not valid: {e.Message}";
        }
    }
}
