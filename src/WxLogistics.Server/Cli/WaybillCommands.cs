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
        var hours = OperatorCli.WholeNumberOption("--hours", "How long the link works, in hours (1 to 2160).", 168);
        var baseUrl = new Option<string?>("--base-url") { Description = "The server's public base URL, to print the link in full." };
        var link = new Command("link", "Print a link to the waybill's tracking page: {path, url?, expires_at}.") { deliveryId, waybillId, hours, baseUrl };
        link.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            if (parsed.GetValue(hours) is < 1 or > 2160)
            {
                throw new OperatorException("--hours must be from 1 to 2160 (90 days)");
            }

            var root = parsed.GetValue(baseUrl)?.TrimEnd('/');
            if (root is not null && !Tracking.TrackingLinks.IsBaseUrl(root))
            {
                throw new OperatorException($"--base-url '{root}' must be an absolute http(s) URL without a query or #fragment (the link's path is added to its end)");
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

    /// <summary>`waybill list`: waybills in key order, a page at a time.</summary>
    static Command CreateList(StoreArguments storeArguments, TextWriter output)
    {
        var deliveryId = new Option<string?>("--delivery-id") { Description = "Only this carrier's waybills." };
        var after = new Option<string?>("--after") { Description = "Start after this waybill_id (with --delivery-id): the next page." };
        var limit = OperatorCli.WholeNumberOption("--limit", "How many (1 to 10000).", 100);
        var json = OperatorTable.JsonOption("{waybills:[{delivery_id, waybill_id, merchant_appid, order_id, path_version, created_at}]}");
        var list = new Command("list", "Waybills in (delivery_id, waybill_id) order, with their order and path version (never the token).")
        {
            deliveryId, after, limit, json,
        };
        list.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            if (parsed.GetValue(limit) is < 1 or > 10_000)
            {
                throw new OperatorException("--limit must be from 1 to 10000");
            }

            var carrier = OperatorCli.DeliveryIdFilter(parsed.GetValue(deliveryId));
            WaybillKey? start = null;
            if (parsed.GetValue(after) is { } afterText)
            {
                if (carrier is null || !WaybillId.TryParse(afterText, out var afterId))
                {
                    throw new OperatorException("--after takes a waybill_id and goes with --delivery-id");
                }

                start = new WaybillKey(carrier.Value, afterId);
            }

            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            await OperatorCli.RequireCarrierAsync(store, carrier, cancellationToken);
            var waybills = (await store.ListWaybillsAsync(carrier, start, parsed.GetValue(limit), cancellationToken)).Select(WaybillView.From).ToList();
            await output.WriteAsync(parsed.GetValue(json)
                ? System.Text.Json.JsonSerializer.Serialize(new { waybills }, Wire.WireJson.Options) + Environment.NewLine
                : OperatorTable.Render(
                    ["delivery_id", "waybill_id", "merchant", "order_id", "events", "created (UTC+8)"],
                    waybills.Select(w => new[]
                    {
                        w.DeliveryId, w.WaybillId, w.MerchantAppid, w.OrderId, w.PathVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        OperatorTable.ChinaTime(DateTimeOffset.FromUnixTimeSeconds(w.CreatedAt)),
                    })));
        }));
        return list;
    }

    /// <summary>`waybill show`: one waybill and its path, as the merchant's getPath would return it.</summary>
    static Command CreateShow(StoreArguments storeArguments, TextWriter output)
    {
        var deliveryId = new Option<string>("--delivery-id") { Description = "The carrier's delivery_id.", Required = true };
        var waybillId = new Option<string>("--waybill-id") { Description = "The waybill number.", Required = true };
        var json = OperatorTable.JsonOption("{delivery_id, waybill_id, merchant_appid, order_id, path_version, created_at, path:[{action_time, action_type, action_msg}]}");
        var show = new Command("show", "One waybill with its path in time order.") { deliveryId, waybillId, json };
        show.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            if (!DeliveryId.TryParse(parsed.GetValue(deliveryId), out var delivery)
                || !WaybillId.TryParse(parsed.GetValue(waybillId), out var waybill)
                || await store.FindWaybillAsync(new WaybillKey(delivery, waybill), cancellationToken) is not { } record)
            {
                throw new OperatorException($"there is no waybill {parsed.GetValue(waybillId)} of {parsed.GetValue(deliveryId)}");
            }

            var view = WaybillView.From(record);
            var path = await store.ReadPathAsync(record.Key, cancellationToken);
            if (parsed.GetValue(json))
            {
                await output.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(
                    new
                    {
                        view.DeliveryId,
                        view.WaybillId,
                        view.MerchantAppid,
                        view.OrderId,
                        view.PathVersion,
                        view.CreatedAt,
                        Path = path.Select(e => new { e.ActionTime, e.ActionType, e.ActionMsg }),
                    },
                    Wire.WireJson.Options));
                return;
            }

            await output.WriteLineAsync($"{view.DeliveryId} {view.WaybillId}: merchant {view.MerchantAppid ?? "-"}, order {view.OrderId ?? "-"}, {path.Count} events");
            await output.WriteAsync(OperatorTable.Render(
                ["time (UTC+8)", "action_type", "action_msg"],
                path.Select(e => new[]
                {
                    OperatorTable.ChinaTime(DateTimeOffset.FromUnixTimeSeconds(e.ActionTime)),
                    e.ActionType.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    e.ActionMsg,
                })));
        }));
        return show;
    }

    sealed record WaybillView(string DeliveryId, string WaybillId, string? MerchantAppid, string? OrderId, long PathVersion, long CreatedAt)
    {
        public static WaybillView From(WaybillRecord w) =>
            new(w.Key.DeliveryId.Value, w.Key.WaybillId.Value, w.MerchantAppId?.Value, w.OrderId, w.PathVersion, w.CreatedAt);
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
            // A carrier copies it into every updatePath: a space or a line break in it is a mistake, not a secret.
            if (tokenText.Length == 0 || Encoding.UTF8.GetByteCount(tokenText) > MaxTokenBytes || tokenText.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                throw new OperatorException($"--token must be 1 to {MaxTokenBytes} bytes without spaces or control characters");
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
                if (!AppId.TryParse(merchantText, out var parsedMerchant))
                {
                    throw new OperatorException($"--merchant-appid {merchantText} is not a merchant app of this server");
                }

                merchantId = (await OperatorCli.RequireMerchantAsync(store, parsedMerchant, cancellationToken)).AppId;
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

        return new Command("waybill", "Waybills.") { add, CreateLink(storeArguments, output), CreateList(storeArguments, output), CreateShow(storeArguments, output) };
    }
}
