using System.CommandLine;
using WxLogistics.Apps;
using WxLogistics.CloudGateway;
using WxLogistics.Storage;

namespace WxLogistics.Cli;

/// <summary>`cloudenv add`: a cloud environment for wx-server-sdk callers, acting as one app with config.json's permissions.</summary>
static class CloudEnvCommands
{
    /// <summary>
    /// The APIs an env's calls can reach: those of the catalogue, which is filled only when the server maps its routes
    /// (a test checks that it maps exactly these).
    /// </summary>
    internal static readonly IReadOnlyList<Wire.WxApi> Apis =
    [
        DeliveryPath.PathUpdates.Api, BusinessPath.PathQueries.Api, Tracking.TrackingLinkRequests.Api,
        Orders.OrderPlacement.AddOrderApi, Orders.OrderPlacement.TestUpdateOrderApi, Orders.OrderQueries.CancelOrderApi,
        Orders.OrderQueries.GetOrderApi, Orders.OrderQueries.BatchGetOrderApi, Orders.OrderQueries.GetContactApi,
        Orders.OrdersApi.GetAllDeliveryApi, Orders.QuotaQueries.Api, Orders.AccountBinding.BindApi, Orders.AccountBinding.ListApi,
    ];

    public static Command Create(StoreArguments storeArguments, TextWriter output)
    {
        var env = new Option<string>("--env") { Description = "The env id (1 to 40 of a-z 0-9 _ -), sent by cloud.init({env}).", Required = true };
        var appId = new Option<string>("--appid") { Description = "The app the env's calls act as.", Required = true };
        var permissions = new Option<string>("--permissions")
        {
            Description = "config.json's permissions.openapi, comma-separated: logistics.updatePath,logistics.getPath.",
            Required = true,
        };
        var isDefault = new Option<bool>("--default") { Description = "Serve calls that name no env (cloud.init() without env)." };

        var add = new Command("add", "Create a cloud env; prints {env, secretId, secretKey, gateway_path}. The secretKey is shown only here.")
        {
            env, appId, permissions, isDefault,
        };
        add.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            var envName = parsed.GetValue(env)!;
            if (!CloudCredentials.IsValidEnv(envName))
            {
                throw new OperatorException($"--env '{envName}' must be 1 to 40 of a-z, 0-9, '_' and '-'");
            }

            var granted = parsed.GetValue(permissions)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
            if (granted.Count == 0)
            {
                throw new OperatorException("--permissions names no API: an env without any could make no call (logistics.updatePath)");
            }

            if (granted.FirstOrDefault(p => !CloudCredentials.IsValidPermission(p)) is { } badPermission)
            {
                throw new OperatorException($"--permissions: '{badPermission}' is not of the form category.method (logistics.updatePath)");
            }

            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            var appText = parsed.GetValue(appId)!;
            if (!AppId.TryParse(appText, out var app))
            {
                throw new OperatorException($"--appid {appText} is not an app of this server");
            }

            var actingAs = await OperatorCli.RequireAppAsync(store, app, cancellationToken);

            // config.json may grant more than this server serves, so these are warnings; but a typo would show only
            // when the function's call is refused.
            var error = parsed.InvocationConfiguration.Error;
            foreach (var name in granted.Order(StringComparer.Ordinal))
            {
                if (Apis.FirstOrDefault(api => api.Name == name) is not { } api)
                {
                    await error.WriteLineAsync(
                        $"warning: {name} is not an API of this server, so no call of it will be served ({string.Join(", ", Apis.Select(a => a.Name).Order(StringComparer.Ordinal))} are)");
                }
                else if (api.Refuse(actingAs) is not null)
                {
                    await error.WriteLineAsync(
                        $"warning: {name} is for {api.Role.ToString().ToLowerInvariant()} apps and {app.Value} is a {actingAs.Role.ToString().ToLowerInvariant()}: its calls will be refused with 48001");
                }
            }

            var secretId = CloudCredentials.NewSecretId();
            var record = new CloudEnvRecord(envName, app, secretId, granted, parsed.GetValue(isDefault), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            if (!await store.AddCloudEnvAsync(record, cancellationToken))
            {
                throw new OperatorException($"env {envName} already exists");
            }

            var secretKey = CloudCredentials.SecretKey(storeArguments.ServerKey(parsed), envName, secretId);
            await OperatorCli.WriteJsonAsync(output, json =>
            {
                json.WriteString("env", envName);
                json.WriteString("secretId", secretId);
                json.WriteString("secretKey", secretKey);
                json.WriteString("gateway_path", CloudGatewayApi.Path);
            });
        }));

        var listJson = OperatorTable.JsonOption("{envs:[{env, appid, secret_id, permissions, is_default, created_at}]}");
        var list = new Command("list", "Every cloud env: the app it acts as, its secretId and permissions (never the secretKey).") { listJson };
        list.SetAction(OperatorCli.Guarded(async (parsed, cancellationToken) =>
        {
            await using var store = await storeArguments.OpenAsync(parsed, cancellationToken);
            var envs = (await store.ListCloudEnvsAsync(cancellationToken))
                .Select(e => new CloudEnvView(e.Env, e.AppId.Value, e.SecretId, [.. e.Permissions.Order(StringComparer.Ordinal)], e.IsDefault, e.CreatedAt))
                .ToList();
            await output.WriteAsync(parsed.GetValue(listJson)
                ? System.Text.Json.JsonSerializer.Serialize(new { envs }, Wire.WireJson.Options) + Environment.NewLine
                : OperatorTable.Render(
                    ["env", "appid", "secretId", "permissions", "default", "created (UTC+8)"],
                    envs.Select(e => new[]
                    {
                        e.Env, e.Appid, e.SecretId, string.Join(", ", e.Permissions), e.IsDefault ? "yes" : "no",
                        OperatorTable.ChinaTime(DateTimeOffset.FromUnixTimeSeconds(e.CreatedAt)),
                    })));
        }));

        return new Command("cloudenv", "Cloud environments for wx-server-sdk's cloud.openapi calls.") { add, list };
    }

    sealed record CloudEnvView(string Env, string Appid, string SecretId, IReadOnlyList<string> Permissions, bool IsDefault, long CreatedAt);
}
