using Npgsql;
using WxLogistics.Storage.Postgres;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Scaling;

/// <summary>
/// What WxLogistics adds to an operator's PostgreSQL connection string (docs/scaling.md): prepared statements, each
/// planned once, and no reset round trip on each pooled connection, unless the operator chose otherwise.
/// </summary>
public sealed class PostgresConnectionTests
{
    [Fact]
    public void A_plain_connection_string_gets_prepared_statements_planned_once_and_no_reset_round_trip()
    {
        var tuned = new NpgsqlConnectionStringBuilder(PostgresStore.Tuned("Host=db;Username=wx;Database=wx"));

        Assert.Equal(64, tuned.MaxAutoPrepare);
        Assert.Equal(2, tuned.AutoPrepareMinUsages);
        Assert.True(tuned.NoResetOnClose);
        Assert.Equal("-c plan_cache_mode=force_generic_plan", tuned.Options);
        Assert.Equal("db", tuned.Host);
        Assert.Equal("wx", tuned.Database);
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0;No Reset On Close=false")]
    [InlineData("Host=db;MaxAutoPrepare=0;NoResetOnClose=false")]
    [InlineData("Host=db;max auto prepare=0;no reset on close=false")]
    public void An_operator_who_turns_them_off_keeps_them_off_however_the_settings_are_spelled(string connectionString)
    {
        var tuned = new NpgsqlConnectionStringBuilder(PostgresStore.Tuned(connectionString));

        Assert.Equal(0, tuned.MaxAutoPrepare);
        Assert.False(tuned.NoResetOnClose);
        Assert.Null(tuned.Options);
    }

    [Fact]
    public async Task PostgreSQL_plans_each_prepared_statement_once_instead_of_on_every_call()
    {
        var store = TestStore.Create(StoreKind.Postgres);
        await using var connection = new NpgsqlConnection(PostgresStore.Tuned(store.Connection!));
        await connection.OpenAsync();
        await using var show = new NpgsqlCommand("SHOW plan_cache_mode", connection);

        Assert.Equal("force_generic_plan", await show.ExecuteScalarAsync());
    }

    [Theory]
    [InlineData("Host=db;Options=-c search_path=wx", "-c search_path=wx")]
    [InlineData("Host=db;options=-c plan_cache_mode=auto", "-c plan_cache_mode=auto")]
    public void An_operator_who_gives_server_options_gets_exactly_those(string connectionString, string options)
    {
        var tuned = new NpgsqlConnectionStringBuilder(PostgresStore.Tuned(connectionString));

        Assert.Equal(options, tuned.Options);
    }
}
