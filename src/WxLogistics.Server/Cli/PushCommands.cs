using System.CommandLine;
using System.Text.Json;
using WxLogistics.Apps;
using WxLogistics.Push;
using WxLogistics.Wire;

namespace WxLogistics.Cli;

/// <summary>`push list` and `push replay`: what was pushed to a merchant, and sending it again.</summary>
static class PushCommands
{
    public static Command Create(StoreArguments storeArguments, TextWriter output)
    {
        var merchant = new Option<string>("--merchant-appid") { Description = "The merchant app.", Required = true };
        var limit = OperatorCli.WholeNumberOption("--limit", "How many of the most recent (1 to 1000).", 50);
        var json = OperatorTable.JsonOption("{deliveries:[…]}");
        var list = new Command("list", "The merchant's most recently changed pushes, with status, attempts and last error.") { merchant, limit, json };
        list.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            if (parsed.GetValue(limit) is < 1 or > 1000)
            {
                throw new OperatorException("--limit must be from 1 to 1000");
            }

            var merchantId = ParseMerchant(parsed.GetValue(merchant));
            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            await OperatorCli.RequireMerchantAsync(store, merchantId, cancellationToken);
            var rows = await store.ListPushesAsync(merchantId, parsed.GetValue(limit), cancellationToken);
            var views = rows.Select(PushDeliveryView.From).ToList();
            await output.WriteAsync(parsed.GetValue(json)
                ? JsonSerializer.Serialize(new PushDeliveryList(views), WireJson.Options) + Environment.NewLine
                : OperatorTable.Render(
                    ["delivery_id", "waybill_id", "version", "delivered", "status", "attempts", "next attempt (UTC+8)", "last error"],
                    views.Select(v => new[]
                    {
                        v.DeliveryId, v.WaybillId, Number(v.Version), Number(v.DeliveredVersion), v.Status, Number(v.Attempts),
                        v.Status == "pending" ? OperatorTable.ChinaTime(DateTimeOffset.FromUnixTimeSeconds(v.NextAttemptAt)) : null, v.LastError,
                    })));
        }));

        var replayMerchant = new Option<string>("--merchant-appid") { Description = "The merchant app.", Required = true };
        var deliveryId = new Option<string?>("--delivery-id") { Description = "With --waybill-id: send this waybill's latest version again, whatever its state." };
        var waybillId = new Option<string?>("--waybill-id") { Description = "With --delivery-id." };
        var replay = new Command("replay", "Queue the merchant's parked (dead) pushes again, or one waybill's: {queued}.") { replayMerchant, deliveryId, waybillId };
        replay.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            var merchantId = ParseMerchant(parsed.GetValue(replayMerchant));
            WaybillKey? key = null;
            var (deliveryText, waybillText) = (parsed.GetValue(deliveryId), parsed.GetValue(waybillId));
            if (deliveryText is not null || waybillText is not null)
            {
                if (!DeliveryId.TryParse(deliveryText, out var d) || !WaybillId.TryParse(waybillText, out var w))
                {
                    throw new OperatorException("--delivery-id and --waybill-id go together and must both be valid");
                }

                key = new WaybillKey(d, w);
            }

            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            await OperatorCli.RequireMerchantAsync(store, merchantId, cancellationToken);
            var queued = await store.ReplayPushesAsync(merchantId, key, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), cancellationToken);
            await OperatorCli.WriteJsonAsync(output, json => json.WriteNumber("queued", queued));
        }));

        return new Command("push", "Merchant pushes (add_express_path).") { list, replay };
    }

    static string Number(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    static AppId ParseMerchant(string? text) =>
        AppId.TryParse(text, out var id) ? id : throw new OperatorException($"--merchant-appid '{text}' is not an AppID");
}
