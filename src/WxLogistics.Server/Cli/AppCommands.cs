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

        var push = new PushOptions();
        var add = new Command("add", "Register an app; prints {appid, secret, role[, delivery_id]}. The secret is shown only here.")
        {
            role, deliveryId, name, push.Url, push.Token, push.Format,
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

            // Shown on the tracking page, in getAllDelivery and in the verbs' tables, all one line.
            if (displayName.Any(char.IsControl))
            {
                throw new OperatorException("--name must not hold control characters (a line break, a tab)");
            }

            var pushTarget = push.Parse(parsed, required: false);
            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            var appId = AppId.New();
            var secret = Secrets.NewAppSecret();
            var record = new AppRecord(
                appId, isCarrier ? AppRole.Carrier : AppRole.Merchant, displayName, delivery, Secrets.Hash(secret), DateTimeOffset.UtcNow.ToUnixTimeSeconds())
            {
                Push = pushTarget,
            };
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

        var setAppId = new Option<string>("--appid") { Description = "The app to change.", Required = true };
        var setPush = new PushOptions();
        var clear = new Option<bool>("--no-push") { Description = "Remove the app's message server." };
        var set = new Command("set", "Change an app's message server (--push-url, --push-token, --format) or remove it (--no-push); prints {appid, push_url, format}.")
        {
            setAppId, setPush.Url, setPush.Token, setPush.Format, clear,
        };
        set.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            if (!AppId.TryParse(parsed.GetValue(setAppId), out var appId))
            {
                throw new OperatorException($"--appid '{parsed.GetValue(setAppId)}' is not an AppID");
            }

            if (parsed.GetValue(clear) && (parsed.GetValue(setPush.Url) is not null || parsed.GetValue(setPush.Token) is not null))
            {
                throw new OperatorException("--no-push removes the message server: leave out --push-url and --push-token, or leave out --no-push");
            }

            var target = parsed.GetValue(clear) ? null : setPush.Parse(parsed, required: true);
            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            if (!await store.SetPushTargetAsync(appId, target, cancellationToken))
            {
                throw new OperatorException($"--appid {appId} is not an app of this server");
            }

            await OperatorCli.WriteJsonAsync(output, json =>
            {
                json.WriteString("appid", appId.Value);
                json.WriteString("push_url", target?.Url);
                json.WriteString("format", target is null ? null : target.Format.ToString().ToLowerInvariant());
            });
        }));

        var servicesAppId = new Option<string>("--appid") { Description = "The carrier app.", Required = true };
        var serviceTypes = new Option<string>("--service-types") { Description = "What addOrder accepts, as TYPE:NAME pairs: \"1:标准快递,2:次日达\".", Required = true };
        var services = new Command("services", "Set the service types a carrier offers (getAllDelivery lists them; addOrder checks them).")
        {
            servicesAppId, serviceTypes,
        };
        services.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            if (!AppId.TryParse(parsed.GetValue(servicesAppId), out var appId))
            {
                throw new OperatorException($"--appid '{parsed.GetValue(servicesAppId)}' is not an AppID");
            }

            var offers = new List<Orders.ServiceOffer>();
            foreach (var pair in parsed.GetValue(serviceTypes)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = pair.Split(':', 2);
                if (parts.Length != 2 || !int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var type) || parts[1].Trim().Length == 0)
                {
                    throw new OperatorException($"--service-types: '{pair}' is not TYPE:NAME (1:标准快递)");
                }

                if (parts[1].Any(char.IsControl))
                {
                    throw new OperatorException($"--service-types: the name of service type {type} holds a control character (a line break, a tab)");
                }

                if (offers.Any(offer => offer.ServiceType == type))
                {
                    throw new OperatorException($"--service-types: service type {type} is given twice");
                }

                offers.Add(new Orders.ServiceOffer(type, parts[1].Trim()));
            }

            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            var json = System.Text.Json.JsonSerializer.Serialize(offers, Wire.WireJson.Options);
            if (!await store.SetServiceTypesAsync(appId, json, cancellationToken))
            {
                throw new OperatorException($"--appid {appId} is not a carrier of this server");
            }

            await OperatorCli.WriteJsonAsync(output, writer =>
            {
                writer.WriteString("appid", appId.Value);
                writer.WritePropertyName("service_types");
                using var document = System.Text.Json.JsonDocument.Parse(json);
                document.RootElement.WriteTo(writer);
            });
        }));

        var listJson = OperatorTable.JsonOption("{apps:[{appid, role, name, delivery_id, push_url, push_format, created_at}]}");
        var list = new Command("list", "Every app: AppID, role, name, delivery_id and message server (never a secret).") { listJson };
        list.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            var apps = (await store.ListAppsAsync(cancellationToken)).Select(AppView.From).ToList();
            await output.WriteAsync(parsed.GetValue(listJson)
                ? System.Text.Json.JsonSerializer.Serialize(new { apps }, Wire.WireJson.Options) + Environment.NewLine
                : OperatorTable.Render(
                    ["appid", "role", "name", "delivery_id", "message server", "created (UTC+8)"],
                    apps.Select(a => new[]
                    {
                        a.Appid, a.Role, a.Name, a.DeliveryId, a.PushUrl is null ? null : $"{a.PushUrl} ({a.PushFormat})",
                        OperatorTable.ChinaTime(DateTimeOffset.FromUnixTimeSeconds(a.CreatedAt)),
                    })));
        }));

        var resetAppId = new Option<string>("--appid") { Description = "The app whose secret to replace.", Required = true };
        var reset = new Command(
            "reset-secret",
            "Give an app a new AppSecret, as WeChat's 重置AppSecret does, when the old one may have leaked: the old secret stops " +
            "working at once, and so does every access_token the app holds (on every node within 5 s). Prints {appid, secret}; " +
            "the secret is shown only here.")
        {
            resetAppId,
        };
        reset.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            if (!AppId.TryParse(parsed.GetValue(resetAppId), out var appId))
            {
                throw new OperatorException($"--appid '{parsed.GetValue(resetAppId)}' is not an AppID");
            }

            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            var secret = Secrets.NewAppSecret();
            if (!await store.ResetSecretAsync(appId, Secrets.Hash(secret), DateTimeOffset.UtcNow.ToUnixTimeSeconds(), cancellationToken))
            {
                throw new OperatorException($"--appid {appId} is not an app of this server");
            }

            await OperatorCli.WriteJsonAsync(output, json =>
            {
                json.WriteString("appid", appId.Value);
                json.WriteString("secret", secret);
            });
            await parsed.InvocationConfiguration.Error.WriteLineAsync(
                $"the old secret of {appId} no longer gets a token, and its access_tokens stop working within 5 s: give the new secret to its servers");
        }));

        return new Command("app", "Carrier and merchant apps.") { add, set, services, list, reset };
    }

    /// <summary>An app as `app list` shows it: no secret, no push token.</summary>
    sealed record AppView(string Appid, string Role, string Name, string? DeliveryId, string? PushUrl, string? PushFormat, long CreatedAt)
    {
        public static AppView From(AppRecord app) => new(
            app.AppId.Value,
            app.Role == AppRole.Carrier ? "carrier" : "merchant",
            app.Name,
            app.DeliveryId?.Value,
            app.Push?.Url,
            app.Push?.Format.ToString().ToLowerInvariant(),
            app.CreatedAt);
    }

    /// <summary>An app's message server, as WeChat's 消息推送 settings: URL, Token (3 to 32 letters or digits), format.</summary>
    sealed class PushOptions
    {
        public Option<string?> Url { get; } = new("--push-url") { Description = "The app's message server URL (http or https)." };

        public Option<string?> Token { get; } = new("--push-token") { Description = "The token pushes are signed with (3 to 32 letters or digits)." };

        public Option<string> Format { get; } = new("--format") { Description = "xml (default) or json.", DefaultValueFactory = _ => "xml" };

        public PushOptions() => Format.AcceptOnlyFromAmong("xml", "json");

        public PushTarget? Parse(ParseResult parsed, bool required)
        {
            var (url, token) = (parsed.GetValue(Url), parsed.GetValue(Token));
            if (url is null && token is null && !required)
            {
                return null;
            }

            if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new OperatorException("--push-url must be an absolute http(s) URL");
            }

            // The URL is shown by app list and kept in the store in clear: no place for a password.
            if (uri.UserInfo.Length > 0)
            {
                throw new OperatorException("--push-url must not carry a user name or password: pushes are signed with --push-token instead");
            }

            // A fragment is not sent, and the signature's query would be added after it, inside it.
            if (url.Contains('#'))
            {
                throw new OperatorException("--push-url must not end in a #fragment: it is never sent, and the signature would go into it instead of the query");
            }

            if (token is not { Length: >= 3 and <= 32 } || !token.All(char.IsAsciiLetterOrDigit))
            {
                throw new OperatorException("--push-token must be 3 to 32 letters or digits");
            }

            return new PushTarget(url, token, parsed.GetValue(Format) == "json" ? PushFormat.Json : PushFormat.Xml);
        }
    }
}
