using Npgsql;
using WxLogistics.Storage.Postgres;

namespace WxLogistics.Tests.Scaling;

/// <summary>
/// What WxLogistics adds to an operator's PostgreSQL connection string (docs/scaling.md): prepared statements and no
/// reset round trip on each pooled connection, unless the operator chose otherwise.
/// </summary>
public sealed class PostgresConnectionTests
{
    [Fact]
    public void A_plain_connection_string_gets_prepared_statements_and_no_reset_round_trip()
    {
        var tuned = new NpgsqlConnectionStringBuilder(PostgresStore.Tuned("Host=db;Username=wx;Database=wx"));

        Assert.Equal(64, tuned.MaxAutoPrepare);
        Assert.Equal(2, tuned.AutoPrepareMinUsages);
        Assert.True(tuned.NoResetOnClose);
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
    }
}
