using System.Text.Json.Nodes;

namespace WxLogistics.Client;

/// <summary>The carrier's path API.</summary>
public sealed class DeliveryPathClient
{
    readonly ApiConnection api;

    internal DeliveryPathClient(ApiConnection api) => this.api = api;

    /// <summary>Adds a track event to a waybill (logistics.updatePath); returns once the platform has stored it.</summary>
    /// <param name="update">The event.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="WxLogisticsApiException">For any non-zero errcode, such as 40199 (no such waybill) or 9300507 (wrong token).</exception>
    public Task UpdateAsync(PathUpdate update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        return api.PostAsync(
            "logistics.updatePath",
            "/cgi-bin/express/delivery/path/update",
            new JsonObject
            {
                ["token"] = update.Token,
                ["waybill_id"] = update.WaybillId.Value,
                ["action_time"] = update.ActionTime.ToUnixTimeSeconds(),
                ["action_type"] = (int)update.ActionType,
                ["action_msg"] = update.ActionMessage,
            },
            cancellationToken);
    }

    /// <summary>Reads the sender and receiver of one of the carrier's waybills (getContact), for the label.</summary>
    /// <param name="token">The waybill's token, from the add_waybill push.</param>
    /// <param name="waybillId">The waybill.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The sender and the receiver.</returns>
    /// <exception cref="WxLogisticsApiException">Such as 40199 (no such waybill) or 9300507 (wrong token).</exception>
    public async Task<(WaybillContact Sender, WaybillContact Receiver)> GetContactAsync(string token, WaybillId waybillId, CancellationToken cancellationToken = default)
    {
        var answer = await api.PostAsync(
            "logistics.getContact",
            "/cgi-bin/express/delivery/contact/get",
            new JsonObject { ["token"] = token, ["waybill_id"] = waybillId.Value },
            cancellationToken);
        static WaybillContact Contact(JsonNode? node) => node is JsonObject party
            ? new WaybillContact(ApiConnection.Text(party, "name"), ApiConnection.Text(party, "tel"), ApiConnection.Text(party, "mobile"), ApiConnection.Text(party, "address"))
            : new WaybillContact("", "", "", "");
        return (Contact(answer["sender"]), Contact(answer["receiver"]));
    }
}

/// <summary>The merchant's path API.</summary>
public sealed class BusinessPathClient
{
    readonly ApiConnection api;

    internal BusinessPathClient(ApiConnection api) => this.api = api;

    /// <summary>Reads the path of a waybill of one of the merchant's orders (logistics.getPath).</summary>
    /// <param name="deliveryId">The carrier.</param>
    /// <param name="waybillId">The waybill.</param>
    /// <param name="orderId">The order, when known (it must then match).</param>
    /// <param name="openId">The buyer, when known (it must then match).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The path, sorted by time.</returns>
    /// <exception cref="WxLogisticsApiException">For any non-zero errcode, such as 40199.</exception>
    public async Task<WaybillPath> GetAsync(DeliveryId deliveryId, WaybillId waybillId, string? orderId = null, string? openId = null, CancellationToken cancellationToken = default)
    {
        var answer = await api.PostAsync(
            "logistics.getPath",
            "/cgi-bin/express/business/path/get",
            new JsonObject { ["order_id"] = orderId, ["openid"] = openId, ["delivery_id"] = deliveryId.Value, ["waybill_id"] = waybillId.Value },
            cancellationToken);
        const string Api = "logistics.getPath";
        var list = answer["path_item_list"] switch
        {
            null => [],
            JsonArray array => array,
            var other => throw ApiConnection.Malformed(other, "path_item_list", "a list", Api),
        };
        var items = list
            .Select((node, n) => node is JsonObject i
                ? new PathItem(
                    DateTimeOffset.FromUnixTimeSeconds(ApiConnection.Number(i, "action_time", $"path_item_list[{n}].action_time", Api, 0, DateTimeOffset.MaxValue.ToUnixTimeSeconds())),
                    (ActionType)ApiConnection.Number(i, "action_type", $"path_item_list[{n}].action_type", Api),
                    ApiConnection.RequiredText(i, "action_msg", $"path_item_list[{n}].action_msg", Api))
                : throw ApiConnection.Malformed(node, $"path_item_list[{n}]", "an object", Api))
            .ToList();
        return new WaybillPath(ApiConnection.Text(answer, "openid"), deliveryId, waybillId, items);
    }
}
