using WxLogistics;
using WxLogistics.AccessToken;
using WxLogistics.Admin;
using WxLogistics.BusinessPath;
using WxLogistics.Cli;
using WxLogistics.CloudGateway;
using WxLogistics.DeliveryPath;
using WxLogistics.Operability;
using WxLogistics.Orders;
using WxLogistics.Tracking;

if (OperatorCli.Handles(args))
{
    return await OperatorCli.RunAsync(args, Console.Out, Console.Error);
}

var serveArgs = args is ["serve", .. var rest] ? rest : args;
if (WxLogisticsSetup.FindStrayArgument(serveArgs) is { } stray)
{
    await Console.Error.WriteLineAsync(OperatorCli.IsVerb(stray)
        ? $"wxlogistics: '{stray}' comes first, before its options: {stray} … --data DIR"
        : $"wxlogistics: unexpected argument '{stray}'; the server takes --urls URLS and --data DIR (or settings as --Section:Key value), and --help lists the operator verbs");
    return 2;
}

if (WxLogisticsSetup.FindUnknownSwitch(serveArgs) is { } unknown)
{
    await Console.Error.WriteLineAsync($"wxlogistics: unknown option {unknown}; the server takes --urls URLS and --data DIR (or settings as --Section:Key value)");
    return 2;
}

// The default builder watches the working directory and every directory under it, to reload appsettings.json when it
// changes. The server reads its settings once, and that watch took about a tenth of start-up (bench/RESULTS.md).
var builder = WebApplication.CreateBuilder(["--hostBuilder:reloadConfigOnChange=false", .. serveArgs]);
builder.AddWxLogistics(serveArgs);
if ((WxLogisticsSetup.FindBadPort(builder.Configuration[WebHostDefaults.ServerUrlsKey]) ?? WxLogisticsSetup.FindBadNumber(builder.Configuration)) is { } badSetting)
{
    await Console.Error.WriteLineAsync($"wxlogistics: invalid configuration: {badSetting}");
    return 2;
}

var app = builder.Build();
app.Services.GetRequiredService<WxLogisticsSetup.StoreStartup>().Begin();
app.UseWxLogistics();

app.MapAccessToken();
app.MapDeliveryPath();
app.MapBusinessPath();
app.MapOrders();
app.MapCloudGateway();
app.MapTrackingPage();
app.MapAdmin();
app.MapHealth();
app.MapPrometheusScrapingEndpoint();
app.MapOpenApi();
app.MapApiReference();
app.MapInvalidUrl();

return await app.RunOrExplainAsync();

/// <summary>The entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
