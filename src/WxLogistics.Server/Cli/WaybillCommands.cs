using System.CommandLine;
using System.Text;
using WxLogistics.Apps;
using WxLogistics.Storage;

namespace WxLogistics.Cli;

/// <summary>`waybill add`: what an order would create, for operators and tests; prints the waybill's token, once.</summary>
static class WaybillCommands
{
    public const int MaxTokenBytes = 256;

    /// <summary>`waybill link`: a signed, expiring link to the waybill's tracking page, for operators.</summary>
    static Command CreateLink(StoreArguments storeArguments, TextWriter output)
    {
        var deliveryId = new Option<string>("--delivery-id") { Description = "The carrier's delivery_id.", Required = true };
        var waybillId = new Option<string>("--waybill-id") { Description = "The waybill number.", Required = true };
        var hours = new Option<int>("--hours") { Description = "How long the link works, in hours (1 to 2160).", DefaultValueFactory = _ => 168 };
        var baseUrl = new Option<string?>("--base-url") { Description = "The server's public base URL, to print the link in full." };
        var link = new Command("link", "Print a link to the waybill's tracking page: {path, url?, expires_at}.") { deliveryId, waybillId, hours, baseUrl };
        link.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            if (parsed.GetValue(hours) is < 1 or > 2160)
            {
                throw new OperatorException("--hours must be from 1 to 2160 (90 days)");
            }

            var root = parsed.GetValue(baseUrl)?.TrimEnd('/');
            if (root is not null && !(Uri.TryCreate(root, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            {
                throw new OperatorException($"--base-url '{root}' must be an absolute http(s) URL");
            }

            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            if (!DeliveryId.TryParse(parsed.GetValue(deliveryId), out var delivery)
                || !WaybillId.TryParse(parsed.GetValue(waybillId), out var waybill)
                || await store.FindWaybillAsync(new WaybillKey(delivery, waybill), cancellationToken) is null)
            {
                throw new OperatorException($"there is no waybill {parsed.GetValue(waybillId)} of {parsed.GetValue(deliveryId)}");
            }

            var links = new Tracking.TrackingLinks(storeArguments.ServerKey(parsed), TimeProvider.System);
            var (path, expiresAt) = links.Create(new WaybillKey(delivery, waybill), TimeSpan.FromHours(parsed.GetValue(hours)));
            await OperatorCli.WriteJsonAsync(output, json =>
            {
                json.WriteString("path", path);
                if (root is not null)
                {
                    json.WriteString("url", root + path);
                }

                json.WriteNumber("expires_at", expiresAt.ToUnixTimeSeconds());
            });
        }));
        return link;
    }

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

        return new Command("waybill", "Waybills.") { add, CreateLink(storeArguments, output) };
    }
}
