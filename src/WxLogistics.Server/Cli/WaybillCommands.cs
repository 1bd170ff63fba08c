using System.CommandLine;
using System.Text;
using WxLogistics.Apps;
using WxLogistics.Storage;

namespace WxLogistics.Cli;

/// <summary>`waybill add`: what an order would create, for operators and tests; prints the waybill's token, once.</summary>
static class WaybillCommands
{
    public const int MaxTokenBytes = 256;

    public static Command Create(StoreArguments storeArguments, TextWriter output)
    {
        var deliveryId = new Option<string>("--delivery-id") { Description = "The carrier's delivery_id (the carrier app must exist).", Required = true };
        var waybillId = new Option<string?>("--waybill-id") { Description = "The waybill number; 18 random digits when left out." };
        var token = new Option<string?>("--token") { Description = "A fixed token for fixtures; a random 192-bit token when left out." };
        var merchant = new Option<string?>("--merchant-appid") { Description = "The merchant app that owns the order (getPath is its)." };
        var orderId = new Option<string?>("--order-id") { Description = "The merchant's order_id (with --merchant-appid)." };
        var openId = new Option<string?>("--openid") { Description = "The buyer's openid (with --merchant-appid)." };

        var add = new Command("add", "Create a waybill; prints {delivery_id, waybill_id, token}. The token is shown only here.")
        {
            deliveryId, waybillId, token, merchant, orderId, openId,
        };
        add.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            if (!DeliveryId.TryParse(parsed.GetValue(deliveryId), out var delivery))
            {
                throw new OperatorException($"--delivery-id '{parsed.GetValue(deliveryId)}' is not a valid delivery_id");
            }

            var waybillText = parsed.GetValue(waybillId);
            WaybillId waybill;
            if (waybillText is null)
            {
                waybill = WaybillId.New();
            }
            else if (!WaybillId.TryParse(waybillText, out waybill))
            {
                throw new OperatorException($"--waybill-id must be 1 to {WaybillId.MaxBytes} bytes without spaces or control characters");
            }

            var tokenText = parsed.GetValue(token) ?? Secrets.NewToken();
            if (tokenText.Length == 0 || Encoding.UTF8.GetByteCount(tokenText) > MaxTokenBytes)
            {
                throw new OperatorException($"--token must be 1 to {MaxTokenBytes} bytes");
            }

            var merchantText = parsed.GetValue(merchant);
            var order = parsed.GetValue(orderId);
            var openid = parsed.GetValue(openId);
            if (merchantText is null && (order is not null || openid is not null))
            {
                throw new OperatorException("--order-id and --openid go with --merchant-appid");
            }

            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            if (await store.FindCarrierAsync(delivery, cancellationToken) is null)
            {
                throw new OperatorException($"no carrier app has delivery_id {delivery}; add one with: app add --role carrier --delivery-id {delivery} --name NAME");
            }

            AppId? merchantId = null;
            if (merchantText is not null)
            {
                if (!AppId.TryParse(merchantText, out var parsedMerchant)
                    || await store.FindAppAsync(parsedMerchant, cancellationToken) is not { Role: AppRole.Merchant })
                {
                    throw new OperatorException($"--merchant-appid {merchantText} is not a merchant app of this server");
                }

                merchantId = parsedMerchant;
            }

            var record = new WaybillRecord(
                new WaybillKey(delivery, waybill), Secrets.Hash(tokenText), merchantId, order, openid, 0, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            if (!await store.AddWaybillAsync(record, cancellationToken))
            {
                throw new OperatorException($"waybill {waybill} of {delivery} already exists");
            }

            await OperatorCli.WriteJsonAsync(output, json =>
            {
                json.WriteString("delivery_id", delivery.Value);
                json.WriteString("waybill_id", waybill.Value);
                json.WriteString("token", tokenText);
            });
        }));

        return new Command("waybill", "Waybills.") { add };
    }
}
