namespace WxLogistics.Samples.Webhooks;

/// <summary>
/// Runs both sample message servers: `dotnet run --project samples/WxLogistics.Samples.Webhooks -- --urls http://127.0.0.1:5080`
/// with Carrier:PushToken, Carrier:Accounts (comma-separated BizIDs) and Merchant:PushToken in configuration.
/// </summary>
public static class SampleProgram
{
    public static void Main(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        var app = builder.Build();
        var configuration = app.Configuration;
        var accounts = (configuration["Carrier:Accounts"] ?? "test_biz_id").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        app.MapCarrierWebhook("/wx/carrier", configuration["Carrier:PushToken"] ?? "CarrierToken1", new CarrierDesk(accounts, "SF"));
        app.MapMerchantWebhook("/wx/merchant", configuration["Merchant:PushToken"] ?? "MerchantToken1", new MerchantInbox());
        app.Run();
    }
}
