using WxLogistics.Cli;
using WxLogistics.Tests.Infrastructure;

namespace WxLogistics.Tests.Scaling;

/// <summary>On PostgreSQL the data directory holds only keys: verbs must not need it to exist beforehand.</summary>
public sealed class PostgresOperatorTests : IAsyncLifetime
{
    readonly WxServer server = new(StoreKind.Postgres);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task Verbs_that_need_the_server_key_work_before_the_data_directory_exists()
    {
        var carrier = await server.AddCarrierAsync("SF");
        await server.AddWaybillAsync("SF", "W1");
        var fresh = server.Store with { DataDirectory = Path.Combine(TempDirectory.Create(), "not", "yet") };
        var (env, link, error) = (new StringWriter(), new StringWriter(), new StringWriter());

        var envExit = await OperatorCli.RunAsync(["cloudenv", "add", "--env", "e1", "--appid", carrier.AppId, "--permissions", "logistics.updatePath", .. fresh.Args], env, error);
        var linkExit = await OperatorCli.RunAsync(["waybill", "link", "--delivery-id", "SF", "--waybill-id", "W1", .. fresh.Args], link, error);

        Assert.True(envExit == 0 && linkExit == 0, error.ToString());
        Assert.True(File.Exists(Path.Combine(fresh.DataDirectory, "server.key")));
    }
}
