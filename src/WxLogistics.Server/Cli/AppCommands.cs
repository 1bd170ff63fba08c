using System.CommandLine;
using WxLogistics.Apps;
using WxLogistics.Storage;

namespace WxLogistics.Cli;

/// <summary>`app add`: registers a carrier or a merchant and prints its AppID and AppSecret, once.</summary>
static class AppCommands
{
    public static Command Create(StoreArguments storeArguments, TextWriter output)
    {
        var role = new Option<string>("--role") { Description = "carrier (an express company) or merchant (a mini program).", Required = true };
        role.AcceptOnlyFromAmong("carrier", "merchant");
        var deliveryId = new Option<string?>("--delivery-id") { Description = "The carrier's delivery_id, such as SF (carriers only)." };
        var name = new Option<string>("--name") { Description = "A display name, such as 顺丰速运.", Required = true };

        var add = new Command("add", "Register an app; prints {appid, secret, role[, delivery_id]}. The secret is shown only here.")
        {
            role, deliveryId, name,
        };
        add.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            var isCarrier = parsed.GetValue(role) == "carrier";
            var deliveryText = parsed.GetValue(deliveryId);
            DeliveryId? delivery = null;
            if (isCarrier)
            {
                if (!DeliveryId.TryParse(deliveryText, out var parsedDelivery))
                {
                    throw new OperatorException(deliveryText is null
                        ? "a carrier needs --delivery-id (such as SF)"
                        : $"--delivery-id '{deliveryText}' must be 1 to {DeliveryId.MaxLength} letters, digits or underscores");
                }

                delivery = parsedDelivery;
            }
            else if (deliveryText is not null)
            {
                throw new OperatorException("--delivery-id is for carriers only");
            }

            var displayName = parsed.GetValue(name)!.Trim();
            if (displayName.Length is 0 or > 128)
            {
                throw new OperatorException("--name must have 1 to 128 characters");
            }

            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            var appId = AppId.New();
            var secret = Secrets.NewAppSecret();
            var record = new AppRecord(
                appId, isCarrier ? AppRole.Carrier : AppRole.Merchant, displayName, delivery, Secrets.Hash(secret), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            if (!await store.AddAppAsync(record, cancellationToken))
            {
                throw new OperatorException($"a carrier with delivery_id {delivery} already exists");
            }

            await OperatorCli.WriteJsonAsync(output, json =>
            {
                json.WriteString("appid", appId.Value);
                json.WriteString("secret", secret);
                json.WriteString("role", isCarrier ? "carrier" : "merchant");
                if (delivery is { } d)
                {
                    json.WriteString("delivery_id", d.Value);
                }
            });
        }));

        return new Command("app", "Carrier and merchant apps.") { add };
    }
}
