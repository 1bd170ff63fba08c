using Npgsql;
using WxLogistics.Storage;

namespace WxLogistics.Tests.Infrastructure;

public enum StoreKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// A fresh store for one test: a new SQLite directory, or a new database on the PostgreSQL server that ./test.sh
/// starts (WXLOGISTICS_TEST_POSTGRES). Without that server the PostgreSQL tests fail; they are never skipped.
/// </summary>
public sealed record TestStore(StoreKind Kind, string DataDirectory, string? Connection)
{
    public const string PostgresVariable = "WXLOGISTICS_TEST_POSTGRES";

    public static TestStore Create(StoreKind kind) =>
        new(kind, TempDirectory.Create(), kind == StoreKind.Postgres ? CreateDatabase("") : null);

    /// <summary>A fresh PostgreSQL database whose own collation is a language's (ICU), as an operator's may be.</summary>
    public static TestStore CreatePostgresCollatedAs(string icuLocale) =>
        new(StoreKind.Postgres, TempDirectory.Create(), CreateDatabase($" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{icuLocale}' LOCALE 'C.UTF-8'"));

    public string StoreName => Kind == StoreKind.Postgres ? StoreFactory.Postgres : StoreFactory.Sqlite;

    /// <summary>The arguments that point the server or a verb at this store.</summary>
    public string[] Args => Kind == StoreKind.Postgres
        ? ["--data", DataDirectory, "--store", StoreFactory.Postgres, "--connection", Connection!]
        : ["--data", DataDirectory];

    /// <summary>Opens the store directly, to look at what the server stored.</summary>
    public async Task<Store> OpenAsync()
    {
        var store = StoreFactory.Create(StoreName, DataDirectory, Connection);
        await store.MigrateAsync();
        return store;
    }

    /// <summary>Everything the store holds, as text: the SQLite files' bytes, or every row of every PostgreSQL table.</summary>
    public async Task<string> DumpAsync()
    {
        // The running server's lock file is empty, and locked.
        var files = string.Concat(Directory.GetFiles(DataDirectory)
            .Where(f => Path.GetFileName(f) != Storage.Sqlite.ServerLock.FileName)
            .Select(f => System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(f))));
        if (Kind == StoreKind.Sqlite)
        {
            return files;
        }

        var dump = new System.Text.StringBuilder(files);
        await using var connection = new NpgsqlConnection(Connection);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        foreach (var table in tables)
        {
            await using var rows = new NpgsqlCommand($"SELECT t::text FROM {table} t", connection);
            await using var reader = await rows.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                dump.AppendLine(reader.GetString(0));
            }
        }

        return dump.ToString();
    }

    /// <summary>The first column of the first row of a query run directly on the store (SQLite file or PostgreSQL database).</summary>
    public async Task<long> CountAsync(string sql)
    {
        if (Kind == StoreKind.Sqlite)
        {
            await using var sqlite = new Microsoft.Data.Sqlite.SqliteConnection(
                $"Data Source={Path.Combine(DataDirectory, WxLogistics.Storage.Sqlite.SqliteStore.FileName)};Pooling=False");
            await sqlite.OpenAsync();
            await using var query = new Microsoft.Data.Sqlite.SqliteCommand(sql, sqlite);
            return Convert.ToInt64(await query.ExecuteScalarAsync());
        }

        await using var connection = new NpgsqlConnection(Connection);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    static string CreateDatabase(string options)
    {
        var server = Environment.GetEnvironmentVariable(PostgresVariable);
        if (string.IsNullOrEmpty(server))
        {
            throw new InvalidOperationException($"{PostgresVariable} is not set: run the tests with ./test.sh, which starts a PostgreSQL server for them");
        }

        var name = "wx_" + Guid.NewGuid().ToString("n");
        using (var connection = new NpgsqlConnection(server))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE {name}{options}", connection);
            command.ExecuteNonQuery();
        }

        return new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }
}
