using Npgsql;
using NpgsqlTypes;
using WxLogistics.DeliveryPath;

namespace WxLogistics.Bench.Ceiling;

/// <summary>
/// The cheapest durable PostgreSQL append for these events: every event waiting goes into a table with no index and
/// no key in one INSERT, on one kept connection with the statement prepared, committed on its own (one round trip,
/// synchronous commit as the server is set). No authentication, no de-duplication, no path version: a floor for any
/// server that stores each event as a PostgreSQL row before it answers, not a store.
/// </summary>
sealed class PostgresLog : DurableBatches<UpdatePathRequest>
{
    readonly NpgsqlCommand insert;

    public PostgresLog(string connectionString)
    {
        var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using (var create = new NpgsqlCommand(
            "CREATE TABLE IF NOT EXISTS ceiling_events (waybill_id text NOT NULL, action_time bigint NOT NULL, " +
            "action_type integer NOT NULL, action_msg text NOT NULL)", connection))
        {
            create.ExecuteNonQuery();
        }

        insert = new NpgsqlCommand(
            "INSERT INTO ceiling_events SELECT * FROM unnest($1::text[], $2::bigint[], $3::integer[], $4::text[])", connection)
        {
            Parameters =
            {
                new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
                new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
                new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer },
                new() { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
            },
        };
        insert.Prepare();
        Start("postgres-log");
    }

    protected override void Commit(List<UpdatePathRequest> events)
    {
        insert.Parameters[0].Value = events.Select(e => e.WaybillId ?? "").ToArray();
        insert.Parameters[1].Value = events.Select(e => e.ActionTime ?? 0).ToArray();
        insert.Parameters[2].Value = events.Select(e => (int)(e.ActionType ?? 0)).ToArray();
        insert.Parameters[3].Value = events.Select(e => e.ActionMsg ?? "").ToArray();
        insert.ExecuteNonQuery();
    }
}
