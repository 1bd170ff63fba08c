using System.Data.Common;
using WxLogistics.Storage;

namespace WxLogistics.Tests.Infrastructure;

/// <summary>A store as an earlier version of the server left it, for the upgrade tests.</summary>
public static class EarlierStore
{
    /// <summary>
    /// Runs the provider's schema scripts up to <paramref name="throughVersion"/>, records them as applied, and stores
    /// three waybills: SF-1 with four events that arrived out of time order (two of them at the same second, path
    /// version 4), SF-2 with one, SF-3 with none.
    /// </summary>
    public static async Task CreateAsync(DbConnection connection, string provider, int throughVersion)
    {
        await ExecuteAsync(connection, "CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)");
        foreach (var (version, _, sql) in SqlScripts.Load(provider).Where(s => s.Version <= throughVersion))
        {
            await ExecuteAsync(connection, sql);
            await ExecuteAsync(connection, $"INSERT INTO schema_migrations (version, applied_at) VALUES ({version}, 0)");
        }

        await ExecuteAsync(
            connection,
            "INSERT INTO waybills (delivery_id, waybill_id, token_hash, path_version, created_at, updated_at) VALUES " +
            "('SF', 'SF-1', @hash, 4, 1, 1), ('SF', 'SF-2', @hash, 1, 1, 1), ('SF', 'SF-3', @hash, 0, 1, 1)",
            ("hash", new byte[] { 0 }));
        await ExecuteAsync(
            connection,
            """
            INSERT INTO path_events (delivery_id, waybill_id, action_time, action_type, action_msg, received_at) VALUES
                ('SF', 'SF-1', 1700000300, 100003, 'third by time', 0),
                ('SF', 'SF-2', 1700000000, 100001, 'only one', 0),
                ('SF', 'SF-1', 1700000100, 100001, 'first by time', 0),
                ('SF', 'SF-1', 1700000200, 100002, 'same time, arrived first', 0),
                ('SF', 'SF-1', 1700000200, 100002, 'same time, arrived second', 0)
            """);
    }

    public static async Task ExecuteAsync(DbConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        await command.ExecuteNonQueryAsync();
    }
}
